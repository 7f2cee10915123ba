"""The build stage end to end on small inline traces: accounting, determinism, split stability,
quarantine of bad input, redaction of planted secrets."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, write_jsonl

from tracelora.stages import build

AWS = "AKIAIOSFODNN7EXAMPLQ"


def trace(i: int, extra: str = "") -> dict:
    return {"messages": [
        {"role": "user", "content": f"Fix the failing test number {i} in `src/mod_{i}.py`. {extra}"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "read", "arguments": json.dumps({"path": f"src/mod_{i}.py"})}}]},
        {"role": "tool", "tool_call_id": "c1", "name": "read", "content": f"def f{i}():\n    return {i}"},
        {"role": "assistant", "content": f"Fixed `f{i}` in `src/mod_{i}.py`. `pytest`: {i} passed."},
    ], "source": "opencode", "task_category": "bugfix", "outcome": "success"}


def run_build(tmp: Path, raw: Path, params: str = "") -> tuple[dict, Path]:
    (tmp / "params.yaml").write_text(params or "data: {min_examples: 1, synthetic_ratio: 0.5, adversarial_ratio: 0.2}\n")
    out = tmp / "out"
    rc = build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(out),
                     "--metrics", str(tmp / "metrics.json"), "--params", str(tmp / "params.yaml")])
    assert rc == 0
    return json.loads((out / "dataset_manifest.json").read_text()), out


def test_accounting_balances_with_bad_rows(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_jsonl(raw / "a.jsonl", [trace(i) for i in range(20)] + [trace(3)])  # one exact duplicate
    with open(raw / "a.jsonl", "ab") as fh:
        fh.write(b'{"messages": [truncated\n')
        fh.write(b'[1, 2]\n')
        fh.write(b'{"prompt": "no known schema"}\n')
        fh.write(b'{"user": "caf\xe9", "assistant": "ok"}\n')
        fh.write(b'\n')
        fh.write(b'{"messages": [{"content": "no role"}]}\n')
        fh.write(json.dumps({"messages": [{"role": "user", "content": "a question"}, {"role": "assistant", "content": "an answer"},
                                       {"role": "user", "content": "a follow-up nobody answered"}]}).encode() + b"\n")
        fh.write(b'{"user": "fix \\ud800 this bug in parser.py", "assistant": "Fixed the parser bound check."}\n')
        fh.write(b'{"messages": ' + b"[" * 50000 + b"]" * 50000 + b"}\n")
    (raw / "empty.jsonl").write_bytes(b"")
    manifest, out = run_build(tmp_path, raw)
    c = manifest["counts"]
    assert c["read"] == c["kept"] + c["quarantined"] + c["filtered"] + c["duplicates"]
    assert manifest["accounting_ok"] is True
    assert c["duplicates"] == 1
    assert c["quarantined_by_reason"] == {"invalid_json": 2, "not_an_object": 1, "unknown_schema": 1,
                                          "invalid_utf8": 1, "missing_role": 1, "invalid_unicode": 1}
    assert c["filtered_by_reason"] == {"last_turn_not_assistant": 1}
    assert c["blank_lines"] == 1
    assert manifest["inputs"]["empty_files"] == [f"{raw / 'empty.jsonl'}"]
    quarantine = [json.loads(line) for line in (out / "quarantine.jsonl").read_text().splitlines()]
    origins = {q["origin"]: q["reason"] for q in quarantine}
    assert origins[f"{raw / 'a.jsonl'}:22"] == "invalid_json"
    assert origins[f"{raw / 'a.jsonl'}:25"] == "invalid_utf8"
    assert origins[f"{raw / 'a.jsonl'}:29"] == "invalid_unicode"  # an unpaired \\ud800 escape cannot be written as UTF-8
    assert origins[f"{raw / 'a.jsonl'}:30"] == "invalid_json"  # nested 50000 deep
    assert origins[f"{raw / 'empty.jsonl'}:0"] == "empty_file"
    train = (out / "train.jsonl").read_text().splitlines()
    val = (out / "val.jsonl").read_text().splitlines()
    assert len(train) + len(val) == c["kept"] == c["train"] + c["val"]


def test_planted_secrets_never_reach_outputs(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    leaky = trace(1, f"My key is {AWS} and mail me at jane.doe@example.com")
    leaky["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps(
        {"command": "curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123' https://api.internal"})
    write_jsonl(raw / "a.jsonl", [leaky] + [trace(i) for i in range(2, 10)])
    manifest, out = run_build(tmp_path, raw)
    text = "".join((out / f).read_text() for f in ("train.jsonl", "val.jsonl", "quarantine.jsonl", "dataset_manifest.json"))
    text += (tmp_path / "metrics.json").read_text()
    assert AWS not in text and "jane.doe@example.com" not in text and "abcdefghijklmnopqrstuvwxyz0123" not in text
    assert manifest["counts"]["redactions_by_rule"] == {"aws_access_key": 1, "bearer_token": 1, "email": 1}
    assert manifest["gates"]["redaction_ok"] is True
    rec = next(json.loads(line) for f in ("train.jsonl", "val.jsonl") for line in (out / f).read_text().splitlines()
               if "<SECRET_AWS_ACCESS_KEY_1>" in line)
    args = json.loads(rec["messages"][1]["tool_calls"][0]["function"]["arguments"])  # still valid JSON
    assert args["command"].startswith("curl -H 'Authorization: Bearer <SECRET_BEARER_TOKEN_1>'")


def test_build_is_byte_deterministic(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_jsonl(raw / "a.jsonl", [trace(i) for i in range(30)])
    (tmp_path / "one").mkdir()
    (tmp_path / "two").mkdir()
    _, out1 = run_build(tmp_path / "one", raw)
    _, out2 = run_build(tmp_path / "two", raw)
    for name in ("train.jsonl", "val.jsonl", "quarantine.jsonl", "dataset_manifest.json"):
        assert (out1 / name).read_bytes() == (out2 / name).read_bytes(), name


def test_adding_traces_never_moves_an_old_example(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_jsonl(raw / "a.jsonl", [trace(i) for i in range(40)])
    (tmp_path / "one").mkdir()
    _, out1 = run_build(tmp_path / "one", raw)
    write_jsonl(raw / "b.jsonl", [trace(i) for i in range(40, 120)])
    (tmp_path / "two").mkdir()
    _, out2 = run_build(tmp_path / "two", raw)

    def ids(out: Path, split: str) -> set[str]:
        return {json.loads(line)["id"] for line in (out / f"{split}.jsonl").read_text().splitlines()}

    assert ids(out1, "train") <= ids(out2, "train")
    assert ids(out1, "val") <= ids(out2, "val")
    assert ids(out2, "val") and ids(out2, "train")


def test_min_example_gate_and_missing_raw_dir(tmp_path: Path, capsys) -> None:
    raw = tmp_path / "raw"
    write_jsonl(raw / "a.jsonl", [trace(i) for i in range(5)])
    manifest, _ = run_build(tmp_path, raw, "data: {min_examples: 1000}\n")
    assert manifest["gates"]["min_example_ok"] is False
    rc = build.main(["--raw", str(tmp_path / "nope"), "--seeds", str(ROOT / "data/seeds"), "--out", str(tmp_path / "o"),
                     "--metrics", str(tmp_path / "m.json"), "--params", str(tmp_path / "params.yaml")])
    assert rc == 2
    assert "raw trace directory not found" in capsys.readouterr().err


def test_post_redaction_scan_reads_values_not_json_escapes() -> None:
    """The scan the build runs on every written line (tracelora.cleaning.redaction.scan_line)."""
    from tracelora.cleaning.redaction import scan_line

    clean = json.dumps({"messages": [{"role": "tool", "content": "from app import router\n@router.get('/')"}]})
    assert scan_line(clean) == {}
    leak = json.dumps({"messages": [{"role": "tool", "content": "key AKIAIOSFODNN7EXAMPLQ"}]})
    assert scan_line(leak) == {"aws_access_key": 1}


def test_unpaired_surrogate_from_any_source_is_quarantined(tmp_path: Path) -> None:
    """Rows that do not come through the JSONL reader (Hugging Face datasets, ingest) are guarded too."""
    from tracelora.common.params import DataParams
    from tracelora.dataset.pipeline import ChunkProcessor
    from tracelora.formats.jsonl import RawLine
    recs, quar = open(tmp_path / "r.jsonl", "wb"), open(tmp_path / "q.jsonl", "w")
    proc = ChunkProcessor(DataParams(), "raw", recs, quar)
    proc.add(RawLine("hf:x:1", row={"user": "fix \ud800 in parser.py now", "assistant": "Fixed the parser bound check."}))
    proc.add(RawLine("hf:x:2", row=trace(2)))
    recs.close(), quar.close()
    assert proc.stats.quarantined == {"invalid_unicode": 1} and proc.stats.candidates == 1
    assert json.loads((tmp_path / "q.jsonl").read_text()) == {"origin": "hf:x:1", "reason": "invalid_unicode",
                                                              "detail": "unpaired surrogate U+D800"}


def test_a_session_ingested_twice_with_different_content_is_reported(tmp_path: Path, capsys) -> None:
    """An old export beside a new one: both kept (they may be honest), but counted and named."""
    def session(answer: str) -> dict:
        rec = trace(1)
        rec["messages"][-1]["content"] = answer
        rec["metadata"] = {"source": "claude-code", "session_id": "sess-42", "branch_leaf": "u9", "segment": 0,
                           "outcome": "success"}
        return rec
    raw = tmp_path / "raw"
    write_jsonl(raw / "old/export.jsonl", [session("Fixed `f1` in `src/mod_1.py`: the old answer, 3 passed.")])
    write_jsonl(raw / "new/export.jsonl", [session("Fixed `f1` by rewriting `src/mod_1.py` entirely; 5 passed now.")]
                + [trace(i) for i in range(2, 6)])
    manifest, _ = run_build(tmp_path, raw, "data: {min_examples: 1, synthetic_ratio: 0, adversarial_ratio: 0, near_dedup: false}\n")
    c = manifest["counts"]["session_conflicts"]
    assert c["sessions"] == 1 and c["examples"][0]["session_id"] == "sess-42"
    assert sorted(o.split("/")[-2] for o in c["examples"][0]["origins"]) == ["new", "old"]
    assert "1 sessions kept twice with different content" in capsys.readouterr().out
