"""The promotion decision: every check listed with value, threshold and pass/fail. Fails closed:
anything missing, malformed or non-finite blocks promotion with a reason."""
from __future__ import annotations

import math
from typing import Any

from stages.common.params import GateParams


def _number(obj: Any, *path: str) -> float | None:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    if isinstance(obj, bool) or not isinstance(obj, (int, float)) or not math.isfinite(obj):
        return None
    return float(obj)


def _check(name: str, value: Any, threshold: Any, passed: bool, reason: str) -> dict[str, Any]:
    return {"name": name, "value": value, "threshold": threshold, "passed": bool(passed), "reason": reason}


def decide(manifest: Any, eval_results: Any, gate: GateParams, errors: list[str] | None = None) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    for err in errors or []:
        checks.append(_check("inputs", None, None, False, err))

    for metric, threshold in (("exact_match", gate.min_delta_exact_match), ("keyword_recall", gate.min_delta_keyword_recall)):
        value = _number(eval_results, "delta", metric)
        if value is None:
            checks.append(_check(f"delta.{metric}", None, threshold, False, f"delta.{metric} missing or not a number in eval results"))
        else:
            ok = value >= threshold
            checks.append(_check(f"delta.{metric}", value, threshold, ok,
                                 f"adapter {'improves' if value > 0 else 'changes'} {metric} by {value:+.4f} "
                                 f"({'>=' if ok else '<'} {threshold:+.4f})"))

    n = _number(eval_results, "n_examples")
    checks.append(_check("n_examples", n, 1, n is not None and n >= 1,
                         "evaluated on %s held-out examples" % (int(n) if n is not None else "no")))

    for gate_name in ("min_example_ok", "redaction_ok"):
        gates = manifest.get("gates") if isinstance(manifest, dict) else None
        value = gates.get(gate_name) if isinstance(gates, dict) else None
        if not isinstance(value, bool):
            checks.append(_check(gate_name, None, True, False, f"dataset manifest has no boolean gates.{gate_name}"))
        elif gate_name == "min_example_ok":
            checks.append(_check(gate_name, value, True, value,
                                 f"{gates.get('kept')} kept examples vs minimum {gates.get('min_examples')}"))
        else:
            checks.append(_check(gate_name, value, True, value,
                                 f"post-redaction scan found {gates.get('post_redaction_hits')} secret-like strings"))

    promote = bool(checks) and all(c["passed"] for c in checks)
    return {
        "promote": promote,
        "decision": "promote" if promote else "block",
        "checks": checks,
        "reasons": [c["reason"] for c in checks if not c["passed"]] or ["all checks passed"],
        "thresholds": gate.model_dump(),
    }
