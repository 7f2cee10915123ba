"""Bad input never stops an ingest run: truncated JSON, unknown entry types, dangling parents,
unanswered tool calls, newer schema versions, non-UTF-8 bytes, locked and corrupt SQLite files."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import ingest_fixtures as F
import pytest

from tracelora.ops.ingest import sources
from tracelora.ops.ingest.cli import main


def run(tmp: Path, source: str, path: Path) -> tuple[int, dict, list[dict]]:
    out = tmp / "out"
    rc = main(["--from", source, "--path", str(path), "--out", str(out)])
    report = json.loads((out / source / "_ingest_report.json").read_text())
    records = [json.loads(line) for p in sorted((out / source).rglob("*.jsonl")) for line in p.read_text().splitlines()]
    return rc, report, records


def test_openclaw_bad_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    entries = F.openclaw_entries(version=7)  # newer than the reader knows
    entries.append({"type": "hologram", "id": "h1", "parentId": "e1", "timestamp": "2026-05-02T09:17:00Z"})
    entries.append(F._msg("o1", "missing-parent", {"role": "user", "content": "orphan branch question"}))
    entries.append(F._msg("o2", "o1", F._asst([{"type": "toolCall", "id": "lost", "name": "exec", "arguments": {"command": "ls"}}],
                                               "toolUse")))
    path = F.jsonl(tmp_path / "agents/main/sessions/s.jsonl", entries)
    with open(path, "ab") as fh:
        fh.write(b'{"type": "message", "id": "t1", "parentId": "e1", "message": {"role": "us\n')  # truncated
        fh.write(b'{"type": "message", "id": "t2", "parentId": "e1", "message": {"role": "user", "content": "caf\xe9"}}\n')
    rc, report, records = run(tmp_path, "openclaw", tmp_path)
    assert rc == 0 and report["balanced"] is True
    unit = report["units"][0]
    assert unit["rows"] == len(entries) + 2
    assert unit["quarantined_by_reason"] == {"invalid_json": 1, "invalid_utf8": 1}
    origins = {q["origin"]: q["reason"] for q in report["quarantine"]}
    assert origins[f"{path}:{len(entries) + 1}"] == "invalid_json" and origins[f"{path}:{len(entries) + 2}"] == "invalid_utf8"
    assert unit["skipped_by_reason"]["unknown_entry_type"] == 1
    warnings = "\n".join(unit["warnings"])
    assert "transcript version 7 is newer than 4" in warnings
    assert "unknown entry type 'hologram'" in warnings and "dangling parentId missing-parent" in warnings
    orphan = next(r for r in records if r["messages"][0]["content"] == "orphan branch question")
    assert orphan["messages"][-1]["content"].startswith("[Tool execution was interrupted")  # call with no result
    assert orphan["metadata"]["outcome"] == "unknown" and orphan["metadata"]["interrupted_tool_calls"] == 1
    for rec in records:  # every tool call answered exactly once, arguments valid JSON objects
        calls = [c["id"] for m in rec["messages"] for c in m.get("tool_calls", [])]
        answers = [m["tool_call_id"] for m in rec["messages"] if m["role"] == "tool"]
        assert sorted(calls) == sorted(answers)
        assert all(isinstance(json.loads(c["function"]["arguments"]), dict)
                   for m in rec["messages"] for c in m.get("tool_calls", []))


def test_newer_sqlite_schema_warns_and_reads(tmp_path: Path) -> None:
    db = F.openclaw_db(tmp_path / "agents/main/agent/openclaw-agent.sqlite")
    con = sqlite3.connect(db)
    con.execute("PRAGMA user_version = 31")
    con.execute("INSERT INTO transcript_events VALUES ('db-session-1', 99, NULL, 0, ?, 999, NULL)", (b"not zstd",))
    con.commit()
    con.close()
    rc, report, records = run(tmp_path, "openclaw", db)
    assert rc == 0 and report["balanced"] is True
    assert any("schema version 31 is newer than 23" in w for w in report["units"][0]["warnings"])
    assert report["quarantined_by_reason"] == {"bad_zstd": 1}
    assert len(records) == 3


def test_locked_sqlite_gives_a_clear_error_naming_the_file(tmp_path: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(sources, "LOCK_TIMEOUT_S", 0.1)
    db = F.opencode_db(tmp_path / "opencode.db")
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        rc, report, _ = run(tmp_path, "opencode", db)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert rc == 1
    err = report["units"][0]["error"]
    assert err.startswith(str(db)) and "locked by another process" in err
    assert "Traceback" not in capsys.readouterr().err


@pytest.mark.parametrize("payload", [b"SQLite format 3\x00" + b"\x00garbage" * 64, b"SQLite format 3\x00"])
def test_corrupt_sqlite_gives_a_clear_error_naming_the_file(tmp_path: Path, payload: bytes) -> None:
    db = tmp_path / "agents/main/agent/openclaw-agent.sqlite"
    db.parent.mkdir(parents=True)
    db.write_bytes(payload)
    with pytest.raises(sources.IngestError, match=rf"^{db}: not a readable SQLite database"):
        with sources.open_sqlite_ro(db):
            pass
    rc, report, records = run(tmp_path, "openclaw", db)
    assert rc == 1 and records == []
    assert report["units"][0]["error"].startswith(f"{db}: not a readable SQLite database")


def test_opencode_bad_files_are_quarantined(tmp_path: Path) -> None:
    storage = F.opencode_storage(tmp_path)
    part_dir = next((storage / "part").iterdir())
    (part_dir / "prt_zz_bad.json").write_bytes(b'{"type": "text", "text": "trunc')
    (part_dir / "prt_zz_latin.json").write_bytes(b'{"type": "text", "text": "caf\xe9"}')
    (storage / "part" / "msg_nobody").mkdir()
    (storage / "part" / "msg_nobody" / "prt_1.json").write_text(json.dumps({"type": "text", "text": "x", "messageID": "msg_nobody"}))
    rc, report, records = run(tmp_path, "opencode", storage)
    assert rc == 0 and report["balanced"] is True
    assert report["quarantined_by_reason"] == {"invalid_json": 1, "invalid_utf8": 1}
    assert report["skipped_by_reason"]["orphan_part"] == 1
    assert len(records) == 2


def test_missing_path_is_one_line_error(tmp_path: Path, capsys) -> None:
    assert main(["--from", "codex", "--path", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err.strip() == f"error: {tmp_path / 'nope'}: no such file or directory"
