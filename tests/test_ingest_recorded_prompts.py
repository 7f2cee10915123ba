"""Where an agent recorded the system prompt it ran with, the record keeps it (redacted) as its first
message, so training and evaluation render examples the way the harness prompts the model."""
from __future__ import annotations

import json
from pathlib import Path

import ingest_fixtures as F
from test_ingest_adapters import assert_balanced, ingest


def test_older_opencode_exports_keep_the_recorded_system_prompt(tmp_path: Path) -> None:
    doc = F.opencode_session()
    doc["messages"][1]["info"]["system"] = ["You are opencode, an interactive CLI tool.",
                                            "Working directory: /home/jdoe/api. Key AKIAIOSFODNN7EXAMPLQ"]
    (tmp_path / "export.json").write_text(json.dumps(doc))
    rc, report, records = ingest(tmp_path, "opencode", tmp_path / "export.json")
    assert rc == 0
    assert_balanced(report)
    [rec] = records
    first = rec["messages"][0]
    assert first["role"] == "system" and first["content"].startswith("You are opencode, an interactive CLI tool.\n")
    assert "jdoe" not in first["content"] and "AKIA" not in first["content"]  # scrubbed and redacted like the rest
    assert rec["metadata"]["cwd"] == "/home/user/api"  # home collapsed


def test_claude_code_records_carry_the_project_directory_without_the_user(tmp_path: Path) -> None:
    path = F.claude_chain_session(tmp_path / "projects/-Users-jdoe-dev-shop/cc-2121.jsonl")
    rc, _, [rec] = ingest(tmp_path, "claude-code", path.parent.parent)
    assert rc == 0 and rec["metadata"]["cwd"] == "/Users/user/dev/shop"
    assert rec["metadata"]["origin"].startswith(str(tmp_path / "projects/-Users-user-dev-shop/"))
    assert [p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.jsonl")] == [
        "claude-code/-Users-user-dev-shop/cc-2121.jsonl"]
