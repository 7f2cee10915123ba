"""The yield goal on real-shaped Claude Code stores (tests/real_shaped.py): ingest + build keep the
live branches of kept-outcome sessions (>= 90% of their assistant turns, >= 95% of their tool calls),
every example starts at a user turn, huge tool outputs are capped, and the build's own yield block
agrees with an independent count of the generator's markers."""
from __future__ import annotations

import json
import re

import pytest
from conftest import ROOT
from real_shaped import percentiles, write_claude_store

from tracelora.ops.ingest.cli import main as ingest_main
from tracelora.stages import build

MARKER = re.compile(r"\[s\d+\.(?:\d+|sub\d)\]")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("yield")
    truth = write_claude_store(tmp / "claude", sessions=60, seed=3)
    assert ingest_main(["--from", "claude-code", "--path", str(tmp / "claude/projects"), "--out", str(tmp / "raw")]) == 0
    (tmp / "params.yaml").write_text("data: {min_examples: 1, synthetic_ratio: 0, adversarial_ratio: 0, cache_dir: ''}\n")
    out = tmp / "ds"
    assert build.main(["--raw", str(tmp / "raw"), "--seeds", str(ROOT / "data/seeds"), "--out", str(out),
                       "--metrics", str(tmp / "metrics.json"), "--params", str(tmp / "params.yaml")]) == 0
    rows = [json.loads(line) for split in ("train", "val") for line in (out / f"{split}.jsonl").read_text().splitlines()]
    return {"truth": truth, "rows": rows, "manifest": json.loads((out / "dataset_manifest.json").read_text()),
            "metrics": json.loads((tmp / "metrics.json").read_text()), "tmp": tmp}


def test_the_corpus_is_shaped_like_real_sessions(built: dict) -> None:
    t = built["truth"]
    p10, p50, p90, top = percentiles(t.messages_per_session)
    assert p50 >= 6 and p90 >= 40 and top >= 150  # real: 2 / 8 / 63 / 279
    assert percentiles(t.chars_per_session)[2] >= 80_000 and max(t.tool_result_chars) == 200_000


def test_kept_outcome_sessions_reach_train_and_val(built: dict) -> None:
    t, rows = built["truth"], built["rows"]
    found = {m for r in rows for msg in r["messages"] if msg["role"] == "assistant"
             for m in MARKER.findall(msg["content"])}
    assert len(found & t.markers) / len(t.markers) >= 0.95
    calls = sum(len(m.get("tool_calls", ())) for r in rows for m in r["messages"])
    assert calls / t.tool_calls >= 0.95
    assert "abandoned" not in " ".join(found)  # the abandoned branch's answer is not trained on


def test_every_example_starts_at_a_user_turn_and_tool_output_is_capped(built: dict) -> None:
    cap = 8000
    for r in built["rows"]:
        roles = [m["role"] for m in r["messages"] if m["role"] != "system"]
        assert roles[0] == "user" and r["messages"][-1]["role"] == "assistant"
        for m in r["messages"]:
            if m["role"] == "tool":
                assert len(m["content"]) <= cap + 60
    elided = [m["content"] for r in built["rows"] for m in r["messages"] if "characters elided …]" in m["content"]]
    assert elided and any("[… 19" in c for c in elided)  # the 200k output keeps head and tail only


def test_the_build_reports_its_yield(built: dict) -> None:
    y = built["manifest"]["yield"]
    assert y["assistant_chars"]["share_of_kept_outcomes"] >= 0.9 and y["tool_calls"]["share_of_kept_outcomes"] >= 0.95
    assert set(y["assistant_chars"]["lost_by_reason"]) <= {"outcome_aborted"}  # interrupts and abandoned branches
    tool = y["tool_result_chars"]
    assert tool["elided_by_cap"] > 190_000 and tool["written"] == tool["kept"] - tool["elided_by_cap"] - tool["trimmed_after_last_assistant_turn"]
    assert built["metrics"]["yield"]["tool_calls"]["share_of_kept_outcomes"] == y["tool_calls"]["share_of_kept_outcomes"]
    # the independent count: assistant characters written >= 90% of the generator's (redaction changes lengths a little)
    written = sum(len(m["content"]) + sum(len(c["function"]["name"]) + len(c["function"]["arguments"]) for c in m.get("tool_calls", ()))
                  for r in built["rows"] for m in r["messages"] if m["role"] == "assistant")
    assert written / built["truth"].assistant_chars >= 0.9


def test_no_user_name_survives_anywhere_ingest_or_build_writes(built: dict) -> None:
    """Names from home paths are gone from every file and folder name and every byte written:
    slugs, temp paths, `ls -l` owners, git authors, origins, reports, the manifest, the metrics."""
    names = built["truth"].names
    assert len(names) >= 4
    token = re.compile(r"(?<![A-Za-z0-9])(?:" + "|".join(names) + r")(?![A-Za-z0-9])", re.I)
    written = [p for d in ("raw", "ds") for p in (built["tmp"] / d).rglob("*")] + [built["tmp"] / "metrics.json"]
    assert len(written) > 40
    for path in written:
        rel = path.relative_to(built["tmp"]).as_posix()
        assert not token.search(rel), rel
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            hit = token.search(text)
            assert hit is None, f"{rel}: {text[max(0, hit.start() - 60):hit.end() + 20]!r}"
    # the source store really was full of them (the test can fail)
    source = "".join(p.read_text() for p in (built["tmp"] / "claude").rglob("*.jsonl"))
    assert {m.lower() for m in token.findall(source)} == {n.lower() for n in names}
