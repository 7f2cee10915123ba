"""The Space and the build run one per-record step (tracelora.dataset.pipeline.RecordStep): for the
same lines they quarantine and filter the same rows with the same reasons and details, and count
them in the same vocabulary (the build manifest's `counts` block)."""
from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from conftest import ROOT, write_jsonl
from test_build import trace as build_trace

from space.pipeline import DUPLICATE, KEPT, QUARANTINED, RecordPipeline
from space.upload import validate_upload
from tracelora.common.params import DataParams
from tracelora.dataset import pipeline
from tracelora.dataset.pipeline import POST_REDACTION_HIT, ChunkProcessor
from tracelora.formats.jsonl import RawLine, read_lines
from tracelora.stages import build

AWS = "AKIAIOSFODNN7EXAMPLQ"
# phase 2 of the build without the parts the Space has no counterpart for (near-dedup, golden set,
# generated examples), so both sides see exactly the same rows
PARAMS = ("data: {min_examples: 1, synthetic_ratio: 0, adversarial_ratio: 0, near_dedup: false, golden_dir: '',"
          " cache_dir: cache}\n")


def trace(i: int, extra: str = "") -> dict:
    """test_build's session row without a `source`, so both sides name it by the kind they read."""
    row = build_trace(i, extra)
    del row["source"]
    return row


def mixed_file(path: Path) -> Path:
    """Good rows, a duplicate, a planted secret, a blank line, and a row per reason the reader,
    normalize and the quality filters give (the unpaired surrogate escape among them)."""
    write_jsonl(path, [trace(i) for i in range(12)] + [trace(3), trace(20, f"my key is {AWS}")])
    with open(path, "ab") as fh:
        for raw in (b'{"messages": [truncated', b"[1, 2]", b'{"prompt": "no known schema"}',
                    b'{"user": "caf\xe9", "assistant": "ok"}', b"", b'{"messages": [{"content": "no role"}]}',
                    b'{"messages": [{"role": "robot", "content": "x"}]}',
                    b'{"user": "fix \\ud800 this bug in parser.py", "assistant": "Fixed the parser bound check."}',
                    b'{"user": "hi", "assistant": "yo"}'):
            fh.write(raw + b"\n")
        fh.write(json.dumps({"messages": [{"role": "user", "content": "a question"},
                                          {"role": "assistant", "content": "an answer"},
                                          {"role": "user", "content": "a follow-up nobody answered"}]}).encode() + b"\n")
    return path


def run_build(tmp: Path, raw: Path, expect_rc: int = 0) -> tuple[dict, Path]:
    (tmp / "params.yaml").write_text(PARAMS)
    out = tmp / "out"
    rc = build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(out),
                     "--metrics", str(tmp / "metrics.json"), "--params", str(tmp / "params.yaml")])
    assert rc == expect_rc
    return json.loads((out / "dataset_manifest.json").read_text()), out


def space_issues(path: Path, kind: str = "raw") -> tuple[RecordPipeline, list[tuple[str, str, str]]]:
    pipe = RecordPipeline()
    rows = []
    for line in read_lines(path, path.name):
        fate = pipe.add(line, kind)
        if fate.status == QUARANTINED:
            rows.append((line.origin.rsplit(":", 1)[1], fate.reason, fate.detail))
    return pipe, rows


def test_space_and_build_agree_on_counts_and_quarantine(tmp_path: Path) -> None:
    path = mixed_file(tmp_path / "raw" / "a.jsonl")
    manifest, out = run_build(tmp_path, tmp_path / "raw")
    pipe, space_rows = space_issues(path)
    assert pipe.counts() == manifest["counts"]
    assert pipe.accounting().balanced() and manifest["accounting_ok"]
    c = manifest["counts"]
    assert c["quarantined_by_reason"] == {"invalid_json": 1, "not_an_object": 1, "unknown_schema": 1, "invalid_utf8": 1,
                                          "missing_role": 1, "bad_role": 1, "invalid_unicode": 1}
    assert c["filtered_by_reason"] == {"too_short": 1, "last_turn_not_assistant": 1}
    assert c["duplicates_by_kind"]["exact"] == 1 and c["redactions_by_rule"] == {"aws_access_key": 1}
    build_rows = [json.loads(x) for x in (out / "quarantine.jsonl").read_text().splitlines()]
    assert space_rows == [(q["origin"].rsplit(":", 1)[1], q["reason"], q["detail"]) for q in build_rows]

    report = validate_upload(path, "a.jsonl")  # the upload page: the same step, rows of kind "upload"
    per_kind = ("read_by_kind", "by_source")
    assert {k: v for k, v in report.counts.items() if k not in per_kind} == {k: v for k, v in c.items() if k not in per_kind}
    assert report.counts["read_by_kind"] == {"upload": c["read"]}
    assert len(report.records) == c["kept"]


def test_rows_not_from_the_reader_are_guarded_alike(tmp_path: Path) -> None:
    """Generated rows reach the step as objects, past the reader's surrogate check: the step's own
    guard quarantines them, in the build and in the Space, with the same row."""
    bad = RawLine("synthetic:1", row={"user": "fix \ud800 in parser.py now", "assistant": "Fixed the parser bound check."})
    with open(tmp_path / "r.jsonl", "wb") as recs, open(tmp_path / "q.jsonl", "w", encoding="utf-8") as quar:
        proc = ChunkProcessor(DataParams(), "synthetic", recs, quar)
        proc.add(bad)
    pipe = RecordPipeline()
    fate = pipe.add(bad, "synthetic")
    assert (fate.status, fate.reason, fate.detail) == (QUARANTINED, "invalid_unicode", "unpaired surrogate U+D800")
    row = json.loads((tmp_path / "q.jsonl").read_text())
    assert row == {"origin": "synthetic:1", "reason": fate.reason, "detail": fate.detail}
    assert pipe.counts()["quarantined_by_reason"] == dict(proc.stats.quarantined) == {"invalid_unicode": 1}


@pytest.fixture
def leaky_redactor(monkeypatch: pytest.MonkeyPatch) -> None:
    """A redactor bug that writes a secret back: what the post-redaction scan of the written line is for."""
    monkeypatch.setattr(pipeline, "redact_record", lambda record: ({**record}, Counter()))


def test_a_line_that_fails_the_post_redaction_scan(tmp_path: Path, leaky_redactor: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Fail closed, the same in both: the line is quarantined, never written (not to train/val, not to
    the cache), the build fails `redaction_ok` and exits 3 with one line; the Space withholds it."""
    raw = write_jsonl(tmp_path / "raw" / "a.jsonl", [trace(1), trace(2, f"deploy with {AWS} please")])
    manifest, out = run_build(tmp_path, tmp_path / "raw", expect_rc=3)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 2 secret-like strings survived redaction") and AWS not in err[0]
    g = manifest["gates"]
    assert g["redaction_ok"] is False and g["post_redaction_quarantined"] == 1
    assert g["post_redaction_hits_by_rule"] == {"aws_access_key": 1, "independent:aws_access_key": 1}
    assert manifest["counts"]["quarantined_by_reason"] == {POST_REDACTION_HIT: 1}
    for name in ("train.jsonl", "val.jsonl", "quarantine.jsonl"):
        assert AWS not in (out / name).read_text()
    assert not any(AWS.encode() in f.read_bytes() for f in (tmp_path / "cache").rglob("*") if f.is_file())

    report = validate_upload(raw, "a.jsonl")
    assert [(i.line, i.status, i.reason, i.detail) for i in report.issues] == [
        (2, QUARANTINED, POST_REDACTION_HIT, "rule hits after redaction: aws_access_key=1, independent:aws_access_key=1")]
    c = report.counts
    assert AWS not in json.dumps(report.records) and AWS not in json.dumps(report.issues[0].__dict__)
    assert (c["kept"], c["quarantined_by_reason"]) == (1, {POST_REDACTION_HIT: 1})
    assert c["read"] == c["kept"] + c["quarantined"] + c["filtered"] + c["duplicates"]


def test_duplicates_and_kept_records_in_the_space() -> None:
    pipe = RecordPipeline()
    first, again = (pipe.add(RawLine(f"u:{i}", row=trace(7)), "upload") for i in (1, 2))
    assert first.status == KEPT and first.record is not None and first.split in ("train", "val")
    assert first.line == json.dumps(first.record, ensure_ascii=False, separators=(",", ":")).encode()
    assert (again.status, again.reason, again.detail, again.record) == (DUPLICATE, "exact", "same conversation as u:1", None)
    c = pipe.counts()
    assert (c["read"], c["kept"], c["duplicates"], c["duplicates_by_kind"]["exact"]) == (2, 1, 1, 1)
    assert c[first.split] == 1 and c["by_task_category"] == {"bugfix": {first.split: 1}}
