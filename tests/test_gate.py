from __future__ import annotations

import json
from pathlib import Path

import pytest

from stages import gate
from stages.common.params import GateParams
from stages.lib.gate_rules import decide

MANIFEST = {"gates": {"min_example_ok": True, "redaction_ok": True, "kept": 300, "min_examples": 100, "post_redaction_hits": 0}}
RESULTS = {"n_examples": 40, "delta": {"exact_match": 0.1, "keyword_recall": 0.2}}


def test_promotes_when_every_check_passes() -> None:
    d = decide(MANIFEST, RESULTS, GateParams(min_delta_exact_match=0.05, min_delta_keyword_recall=0.1))
    assert d["promote"] is True and d["decision"] == "promote"
    names = [c["name"] for c in d["checks"]]
    assert names == ["delta.exact_match", "delta.keyword_recall", "n_examples", "min_example_ok", "redaction_ok"]
    em = d["checks"][0]
    assert (em["value"], em["threshold"], em["passed"]) == (0.1, 0.05, True)


@pytest.mark.parametrize("manifest, results, failing", [
    (MANIFEST, {**RESULTS, "delta": {"exact_match": 0.01, "keyword_recall": 0.2}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "delta": {"exact_match": 0.1}}, "delta.keyword_recall"),
    (MANIFEST, {**RESULTS, "delta": {"exact_match": float("nan"), "keyword_recall": 0.2}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "delta": {"exact_match": "0.1", "keyword_recall": 0.2}}, "delta.exact_match"),
    (MANIFEST, {**RESULTS, "n_examples": 0}, "n_examples"),
    ({"gates": {**MANIFEST["gates"], "redaction_ok": False}}, RESULTS, "redaction_ok"),
    ({"gates": {**MANIFEST["gates"], "min_example_ok": False}}, RESULTS, "min_example_ok"),
    ({"gates": {"min_example_ok": "yes", "redaction_ok": True}}, RESULTS, "min_example_ok"),
    ({}, RESULTS, "redaction_ok"),
    (None, None, "delta.exact_match"),
    ([1], "x", "min_example_ok"),
])
def test_fails_closed(manifest, results, failing: str) -> None:
    d = decide(manifest, results, GateParams(min_delta_exact_match=0.05, min_delta_keyword_recall=0.1))
    assert d["promote"] is False and d["decision"] == "block"
    assert failing in [c["name"] for c in d["checks"] if not c["passed"]]
    assert d["reasons"] and d["reasons"] != ["all checks passed"]


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
