"""Paired bootstrap intervals: deterministic, correct on hand-checkable cases, and the report blocks."""
from __future__ import annotations

import json

import pytest

from tracelora.common.params import EvalParams
from tracelora.judging.evaluation import report
from tracelora.judging.bootstrap import delta_cis, paired_ci


def test_same_input_same_interval_and_seed_matters() -> None:
    diffs = [1.0, 0.0, 0.0, 1.0, -1.0, 0.0, 1.0, 0.5, 0.25, 0.0]
    a = paired_ci(diffs, 500, seed=7, name="exact_match")
    assert a == paired_ci(list(diffs), 500, seed=7, name="exact_match")
    assert a != paired_ci(diffs, 500, seed=8, name="exact_match")
    assert a != paired_ci(diffs, 500, seed=7, name="keyword_recall")  # each metric has its own stream
    lo, hi = a
    mean = sum(diffs) / len(diffs)
    assert lo < mean < hi and -1 <= lo and hi <= 1


def test_degenerate_and_bad_inputs() -> None:
    assert paired_ci([0.25], 100) == (0.25, 0.25)
    assert paired_ci([1.0] * 30, 100) == (1.0, 1.0)
    for bad in ([], [float("nan")], [float("inf"), 0.0]):
        with pytest.raises(ValueError):
            paired_ci(bad, 100)
    with pytest.raises(ValueError):
        paired_ci([1.0], 0)


def test_interval_narrows_with_more_examples() -> None:
    small = [1.0, 0.0] * 5
    large = [1.0, 0.0] * 200
    lo_s, hi_s = paired_ci(small, 1000, 0)
    lo_l, hi_l = paired_ci(large, 1000, 0)
    assert hi_l - lo_l < (hi_s - lo_s) / 3
    assert lo_l <= 0.5 <= hi_l and 0.42 < lo_l and hi_l < 0.58


def test_pairing_removes_shared_example_difficulty() -> None:
    # Every example is equally easier for the adapter (+0.1), but examples differ wildly in difficulty:
    # the paired interval is exactly the shift, where two unpaired intervals would overlap.
    base = [{"keyword_recall": x} for x in (0.0, 0.9, 0.1, 0.8, 0.2, 0.7)]
    adapt = [{"keyword_recall": b["keyword_recall"] + 0.1} for b in base]
    ci = delta_cis(base, adapt, ("keyword_recall", "safe_refusal_rate"), 300, 0)
    assert ci["keyword_recall"]["low"] == pytest.approx(0.1) and ci["keyword_recall"]["high"] == pytest.approx(0.1)
    assert "safe_refusal_rate" not in ci  # applies to no example: no interval, not a fake 0


def _row(cat: str, src: str, b: dict, a: dict) -> dict:
    return {"task_category": cat, "source": src, "baseline": b, "adapter": a}


def test_report_blocks_are_flat_and_grouped() -> None:
    rows = [_row("bugfix", "raw", {"exact_match": 0.0, "keyword_recall": 0.5}, {"exact_match": 1.0, "keyword_recall": 1.0}),
            _row("bugfix", "synthetic", {"exact_match": 0.0, "keyword_recall": 0.0}, {"exact_match": 0.0, "keyword_recall": 0.5}),
            _row("safety", "adversarial", {"exact_match": 0.0, "keyword_recall": 0.0, "safe_refusal_rate": 0.0},
                 {"exact_match": 0.0, "keyword_recall": 1.0, "safe_refusal_rate": 1.0})]
    p = EvalParams(bootstrap_samples=200)
    r = report(rows, p)
    assert r["n_examples"] == 3
    assert r["delta"] == {"exact_match": 0.333333, "keyword_recall": 0.666667, "safe_refusal_rate": 1.0}
    assert r["n"] == {"exact_match": 3, "keyword_recall": 3, "safe_refusal_rate": 1}
    assert set(r["delta_ci"]) == {"exact_match", "keyword_recall", "safe_refusal_rate"}
    assert r["delta_ci"]["safe_refusal_rate"] == {"low": 1.0, "high": 1.0}
    assert set(r["by_task_category"]) == {"bugfix", "safety"} and r["by_task_category"]["bugfix"]["n_examples"] == 2
    assert set(r["by_source"]) == {"raw", "synthetic", "adversarial"}
    assert r["by_source"]["raw"]["delta"]["exact_match"] == 1.0
    assert json.dumps(r, sort_keys=True) == json.dumps(report(rows, p), sort_keys=True)  # deterministic
    json.dumps(r, allow_nan=False)
