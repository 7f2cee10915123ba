from __future__ import annotations

import json
from pathlib import Path

import pytest

from tracelora.stages import gate
from tracelora.common.params import GateParams
from tracelora.judging.gate_rules import decide

MANIFEST = {"gates": {"min_example_ok": True, "redaction_ok": True, "kept": 300, "min_examples": 100, "post_redaction_hits": 0}}
RESULTS = {
    "n_examples": 40,
    "baseline": {"exact_match": 0.1, "keyword_recall": 0.3, "safe_refusal_rate": 0.5},
    "adapter": {"exact_match": 0.2, "keyword_recall": 0.5, "safe_refusal_rate": 0.5},
    "delta": {"exact_match": 0.1, "keyword_recall": 0.2, "safe_refusal_rate": 0.0},
    "delta_ci": {"exact_match": {"low": -0.02, "high": 0.2}, "keyword_recall": {"low": 0.12, "high": 0.3},
                 "safe_refusal_rate": {"low": -0.1, "high": 0.1}},
    "n": {"exact_match": 40, "keyword_recall": 40, "safe_refusal_rate": 12},
}
P = GateParams(min_delta_exact_match=0.05, min_delta_keyword_recall=0.1)


def _failing(d: dict) -> list[str]:
    return [c["name"] for c in d["checks"] if not c["passed"]]


def test_promotes_when_every_check_passes() -> None:
    d = decide(MANIFEST, RESULTS, P)
    assert d["promote"] is True and d["decision"] == "promote" and d["reasons"] == ["all checks passed"]
    names = [c["name"] for c in d["checks"]]
    assert names == ["delta.exact_match", "delta.keyword_recall", "safety.safe_refusal_rate", "n_examples",
                     "min_example_ok", "redaction_ok"]
    em = d["checks"][0]
    assert (em["value"], em["threshold"], em["passed"]) == (0.1, 0.05, True)
    safety = d["checks"][2]
    assert (safety["value"], safety["threshold"], safety["passed"]) == (0.0, 0.0, True)
    assert "12 adversarial examples 0.500 -> 0.500" in safety["reason"]
    assert d["thresholds"]["max_safety_regression"] == 0.0


def test_require_significant_judges_the_ci_lower_bound() -> None:
    d = decide(MANIFEST, RESULTS, GateParams(min_delta_exact_match=0.0, min_delta_keyword_recall=0.1,
                                             require_significant=True, max_safety_regression=0.2))
    em, kr, safety = d["checks"][:3]
    assert (em["value"], em["passed"]) == (-0.02, False) and "95% CI lower bound -0.0200" in em["reason"]
    assert (kr["value"], kr["passed"]) == (0.12, True)
    assert (safety["value"], safety["passed"]) == (-0.1, True)
    assert _failing(d) == ["delta.exact_match"]
    no_ci = {k: v for k, v in RESULTS.items() if k != "delta_ci"}
    d = decide(MANIFEST, no_ci, GateParams(require_significant=True))
    assert {"delta.exact_match", "delta.keyword_recall", "safety.safe_refusal_rate"} <= set(_failing(d))
    assert "require_significant needs it" in d["reasons"][0]


def test_safety_regression_blocks_even_when_the_task_improves() -> None:
    worse = {**RESULTS, "adapter": {**RESULTS["adapter"], "safe_refusal_rate": 0.4167},
             "delta": {**RESULTS["delta"], "safe_refusal_rate": -0.0833}}
    d = decide(MANIFEST, worse, P)
    assert d["promote"] is False and _failing(d) == ["safety.safe_refusal_rate"]
    assert "exceeds allowed regression 0.0000" in d["reasons"][0]
    assert decide(MANIFEST, worse, GateParams(max_safety_regression=0.1))["promote"] is True
    assert decide(MANIFEST, worse, GateParams(max_safety_regression=None))["promote"] is True


def test_absolute_floors_are_optional_checks() -> None:
    d = decide(MANIFEST, RESULTS, GateParams(min_adapter_exact_match=0.3, min_adapter_safe_refusal_rate=0.5))
    names = [c["name"] for c in d["checks"]]
    assert "adapter.exact_match" in names and "adapter.safe_refusal_rate" in names and "adapter.keyword_recall" not in names
    assert _failing(d) == ["adapter.exact_match"]


def test_missing_safety_metric_fails_closed_with_a_way_out() -> None:
    no_adv = {k: v for k, v in RESULTS.items() if k not in ("delta_ci", "n")}
    no_adv["delta"] = {"exact_match": 0.1, "keyword_recall": 0.2}
    d = decide(MANIFEST, no_adv, P)
    assert _failing(d) == ["safety.safe_refusal_rate"] and "max_safety_regression: null" in d["reasons"][0]


@pytest.mark.parametrize("manifest, results, failing", [
    (MANIFEST, {**RESULTS, "delta": {**RESULTS["delta"], "exact_match": 0.01}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "delta": {"exact_match": 0.1, "safe_refusal_rate": 0.0}}, "delta.keyword_recall"),
    (MANIFEST, {**RESULTS, "delta": {**RESULTS["delta"], "exact_match": float("nan")}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "delta": {**RESULTS["delta"], "safe_refusal_rate": float("nan")}}, "safety.safe_refusal_rate"),
    (MANIFEST, {**RESULTS, "delta": {**RESULTS["delta"], "keyword_recall": float("inf")}}, "delta.keyword_recall"),
    (MANIFEST, {**RESULTS, "delta": {**RESULTS["delta"], "exact_match": "0.1"}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "delta": {**RESULTS["delta"], "exact_match": True}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "n_examples": 0}, "n_examples"),
    ({"gates": {**MANIFEST["gates"], "redaction_ok": False}}, RESULTS, "redaction_ok"),
    ({"gates": {**MANIFEST["gates"], "min_example_ok": False}}, RESULTS, "min_example_ok"),
    ({"gates": {"min_example_ok": "yes", "redaction_ok": True}}, RESULTS, "min_example_ok"),
    ({}, RESULTS, "redaction_ok"),
    (None, None, "delta.exact_match"),
    (None, None, "safety.safe_refusal_rate"),
    ([1], "x", "min_example_ok"),
])
def test_fails_closed(manifest, results, failing: str) -> None:
    d = decide(manifest, results, P)
    assert d["promote"] is False and d["decision"] == "block"
    assert failing in _failing(d)
    assert d["reasons"] and d["reasons"] != ["all checks passed"]


def _stage(tmp_path: Path, eval_text: str | None, params: str = "gate: {min_delta_exact_match: 0.0}\n") -> tuple[list[str], Path]:
    (tmp_path / "params.yaml").write_text(params)
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    ev = tmp_path / "eval.json"
    if eval_text is not None:
        ev.write_text(eval_text)
    out = tmp_path / "gate.json"
    return ["--manifest", str(tmp_path / "manifest.json"), "--eval", str(ev), "--out", str(out),
            "--params", str(tmp_path / "params.yaml")], out


def test_stage_promotes_and_strict_exits_zero(tmp_path: Path, capsys) -> None:
    args, out = _stage(tmp_path, json.dumps(RESULTS))
    assert gate.main(args + ["--strict"]) == 0
    d = json.loads(out.read_text())
    assert d["promote"] is True and len(d["checks"]) == 6
    assert "PROMOTE" in capsys.readouterr().out
    assert gate.main(["--show", str(out), "--strict"]) == 0


def test_stage_blocks_on_nan_metrics(tmp_path: Path) -> None:
    # json.dump writes NaN as a bare token that json.load accepts: the gate must still refuse it.
    args, out = _stage(tmp_path, json.dumps({**RESULTS, "delta": {**RESULTS["delta"], "keyword_recall": float("nan")}}))
    assert gate.main(args) == 0
    d = json.loads(out.read_text())
    assert d["promote"] is False and _failing(d) == ["delta.keyword_recall"]
    assert gate.main(args + ["--strict"]) == 1
    assert gate.main(["--show", str(out), "--strict"]) == 1


def test_stage_missing_and_malformed_inputs_block_but_exit_zero(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("gate: {min_delta_exact_match: 0.0}\n")
    bad = tmp_path / "eval.json"
    bad.write_text("{not json")
    out = tmp_path / "gate.json"
    args = ["--manifest", str(tmp_path / "missing.json"), "--eval", str(bad), "--out", str(out), "--params", str(tmp_path / "params.yaml")]
    assert gate.main(args) == 0
    d = json.loads(out.read_text())
    assert d["promote"] is False
    reasons = " ".join(d["reasons"])
    assert "missing.json: missing" in reasons and "eval.json: not valid JSON" in reasons
    assert gate.main(args + ["--strict"]) == 1


def test_stage_missing_eval_file_blocks(tmp_path: Path) -> None:
    args, out = _stage(tmp_path, None)
    assert gate.main(args) == 0
    d = json.loads(out.read_text())
    assert d["promote"] is False and "eval.json: missing" in d["reasons"][0]


def test_bad_gate_params_are_one_line(tmp_path: Path, capsys) -> None:
    args, _ = _stage(tmp_path, json.dumps(RESULTS), "gate: {max_safety_regression: -0.1}\n")
    with pytest.raises(SystemExit) as exc:
        gate.main(args)
    assert exc.value.code == 2 and "gate.max_safety_regression" in capsys.readouterr().err
