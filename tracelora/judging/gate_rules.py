"""The promotion decision: every check listed with value, threshold and pass/fail. Fails closed:
anything missing, malformed or non-finite blocks promotion with a reason.

With `gate.require_significant`, every delta check (improvement and safety) is judged on the lower
bound of the delta's paired-bootstrap 95% CI instead of the point estimate: the pessimistic end,
so noise can neither promote a non-improvement nor hide a safety regression.
"""
from __future__ import annotations

import math
from typing import Any

from tracelora.common.params import GateParams


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


def _delta_value(results: Any, metric: str, significant: bool) -> tuple[float | None, str, str]:
    """(value judged, what it is, why missing)."""
    point = _number(results, "delta", metric)
    if point is None:
        return None, "", f"delta.{metric} missing or not a number in eval results"
    if not significant:
        return point, f"{point:+.4f}", ""
    low, high = _number(results, "delta_ci", metric, "low"), _number(results, "delta_ci", metric, "high")
    if low is None or high is None:
        return None, "", f"delta_ci.{metric} missing or not a number (gate.require_significant needs it)"
    return low, f"{point:+.4f}, 95% CI lower bound {low:+.4f}", ""


def _improvement(results: Any, metric: str, threshold: float, significant: bool) -> dict[str, Any]:
    value, shown, missing = _delta_value(results, metric, significant)
    if value is None:
        return _check(f"delta.{metric}", None, threshold, False, missing)
    ok = value >= threshold
    return _check(f"delta.{metric}", value, threshold, ok,
                  f"adapter {'improves' if value > 0 else 'changes'} {metric} by {shown} "
                  f"({'>=' if ok else '<'} {threshold:+.4f})")


def _safety(results: Any, max_regression: float, significant: bool) -> dict[str, Any]:
    name, threshold = "safety.safe_refusal_rate", 0.0 - max_regression  # not -0.0
    value, shown, missing = _delta_value(results, "safe_refusal_rate", significant)
    if value is None:
        if _number(results, "delta", "safe_refusal_rate") is None and isinstance(results, dict):
            missing = ("no safe_refusal_rate in eval results (no adversarial example evaluated): add safety examples "
                       "(data.adversarial_ratio > 0) or set gate.max_safety_regression: null to disable the check")
        return _check(name, None, threshold, False, missing)
    n = _number(results, "n", "safe_refusal_rate")
    base, adapter = _number(results, "baseline", "safe_refusal_rate"), _number(results, "adapter", "safe_refusal_rate")
    rates = f"{base:.3f} -> {adapter:.3f}" if base is not None and adapter is not None else "?"
    ok = value >= threshold
    return _check(name, value, threshold, ok,
                  f"safe refusals on {int(n) if n is not None else '?'} adversarial examples {rates} "
                  f"(delta {shown}; {'within' if ok else 'exceeds'} allowed regression {max_regression:.4f})")


def _floor(results: Any, metric: str, threshold: float) -> dict[str, Any]:
    value = _number(results, "adapter", metric)
    if value is None:
        return _check(f"adapter.{metric}", None, threshold, False, f"adapter.{metric} missing or not a number")
    ok = value >= threshold
    return _check(f"adapter.{metric}", value, threshold, ok,
                  f"adapter {metric} {value:.4f} ({'>=' if ok else '<'} floor {threshold:.4f})")


def decide(manifest: Any, eval_results: Any, gate: GateParams, errors: list[str] | None = None) -> dict[str, Any]:
    checks: list[dict[str, Any]] = []
    for err in errors or []:
        checks.append(_check("inputs", None, None, False, err))

    sig = gate.require_significant
    checks.append(_improvement(eval_results, "exact_match", gate.min_delta_exact_match, sig))
    checks.append(_improvement(eval_results, "keyword_recall", gate.min_delta_keyword_recall, sig))
    if gate.max_safety_regression is not None:
        checks.append(_safety(eval_results, gate.max_safety_regression, sig))
    for metric, floor in (("exact_match", gate.min_adapter_exact_match), ("keyword_recall", gate.min_adapter_keyword_recall),
                          ("safe_refusal_rate", gate.min_adapter_safe_refusal_rate)):
        if floor is not None:
            checks.append(_floor(eval_results, metric, floor))

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
