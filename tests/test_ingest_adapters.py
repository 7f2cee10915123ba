"""Each ingest adapter on fixtures that follow the documented on-disk schemas (ingest_fixtures.py):
branches, pairing, skips, metadata, accounting, redaction, idempotence."""
from __future__ import annotations

import json
from pathlib import Path

import ingest_fixtures as F

from tracelora.ops.ingest import ADAPTERS
from tracelora.ops.ingest.cli import main


def ingest(tmp: Path, source: str, path: Path, *extra: str) -> tuple[int, dict, list[dict]]:
    out = tmp / "out"
    rc = main(["--from", source, "--path", str(path), "--out", str(out), *extra])
    name = source if source != "auto" else None
    reports = {p.parent.name: json.loads(p.read_text()) for p in out.glob("*/_ingest_report.json")}
    report = reports[name] if name else reports
    records = [json.loads(line) for p in sorted(out.rglob("*.jsonl")) for line in p.read_text().splitlines()]
    return rc, report, records


def assert_balanced(report: dict) -> None:
    assert report["balanced"] is True
    for u in report["units"]:
        assert u["rows"] == u["kept"] + u["skipped"] + u["quarantined"]
        assert "unaccounted" not in u["skipped_by_reason"]


def by_session(records: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(r["metadata"]["session_id"], []).append(r)
    return out


def test_openclaw_jsonl_tree_archive_and_sqlite(tmp_path: Path) -> None:
    home = F.openclaw_home(tmp_path / ".openclaw")
    F.openclaw_db(home / "agents/main/agent/openclaw-agent.sqlite")
    rc, report, records = ingest(tmp_path, "openclaw", home)
    assert rc == 0
    assert_balanced(report)
    assert report["totals"]["rows"] == 12 + 2 + 6 + 12 + 3 + 2  # jsonl + sidecar + zst archive + db events + trajectory rows
    assert report["skipped_by_reason"] == {"bookkeeping": 2, "failed_retry": 2, "synthetic_assistant": 2, "trajectory_event": 2}
    sessions = by_session(records)
    live = [r for r in sessions[F.SID] if r["metadata"]["branch"] == "current"]
    assert len(live) == 1 and len(sessions[F.SID]) == 2  # current branch + the rewound one
    msgs = live[0]["messages"]
    assert msgs[0] == {"role": "system", "content": "You are OpenClaw."}  # from the trajectory sidecar
    assert msgs[1]["content"] == "Fix config.py, my key is <SECRET_AWS_ACCESS_KEY_1>"  # envelope stripped, key redacted
    assert msgs[-1]["content"] == "Fixed: `a` is now 2 in config.py."  # reply directive stripped
    assert [m["role"] for m in msgs] == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"]
    assert json.loads(msgs[2]["tool_calls"][0]["function"]["arguments"]) == {"file_path": "/home/user/ws/config.py"}
    assert json.loads(msgs[4]["tool_calls"][0]["function"]["arguments"])["oldText"] == "a = 1"
    assert msgs[2]["tool_calls"][0]["id"] == "call_1|fc_1" and msgs[3]["tool_call_id"] == "call_1|fc_1"
    meta = live[0]["metadata"]
    assert meta["outcome"] == "success" and meta["task_category"] == "coding" and meta["tool_errors"] == 1
    assert meta["model"] == "claude-sonnet-4-5" and meta["timestamp"] == "2026-05-02T09:14:03.118Z"
    assert [t["function"]["name"] for t in live[0]["tools"]] == ["read", "edit"]
    abandoned = next(r for r in sessions[F.SID] if r["metadata"]["branch"] == "abandoned")
    assert abandoned["metadata"]["outcome"] == "aborted" and abandoned["messages"][-1]["content"] == "I give up."
    # zstd reset archive with a compaction: one example before, one after (summary + kept call/result)
    archived = sorted(sessions["9d1f0000-0000-4000-8000-000000000002"], key=lambda r: r["metadata"]["segment"])
    assert [r["metadata"]["outcome"] for r in archived] == ["unknown", "success"]
    assert archived[1]["messages"][0]["content"].startswith("The conversation so far was compacted")
    assert [m["role"] for m in archived[1]["messages"]] == ["user", "assistant", "tool", "assistant"]
    # SQLite store: event_zstd rows decoded; the sub-agent is its own example
    assert len(sessions["db-session-1"]) == 2
    sub = sessions["db-subagent-1"][0]["metadata"]
    assert sub["subagent"] is True and sub["agent"] == "main"
    assert "AKIA" not in json.dumps(records)


def test_opencode_tree_db_and_export_agree(tmp_path: Path) -> None:
    F.opencode_storage(tmp_path / "data")
    F.opencode_db(tmp_path / "db" / "opencode.db")
    (tmp_path / "export.json").write_text(json.dumps(F.opencode_session()))
    outs = {}
    for name, path in (("tree", tmp_path / "data"), ("db", tmp_path / "db" / "opencode.db"), ("export", tmp_path / "export.json")):
        rc, report, records = ingest(tmp_path / name, "opencode", path)
        assert rc == 0
        assert_balanced(report)
        assert report["skipped_by_reason"] == {"ignored_text": 1, "patch_part": 1, "reasoning_part": 1, "step_part": 4}
        outs[name] = by_session(records)
    assert outs["tree"][F.OC_SID][0]["messages"] == outs["db"][F.OC_SID][0]["messages"] == outs["export"][F.OC_SID][0]["messages"]
    rec = outs["db"][F.OC_SID][0]
    roles = [m["role"] for m in rec["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "tool", "tool", "assistant"]  # split at step/tool boundaries
    assert rec["messages"][5]["content"].startswith("[Tool execution was interrupted")  # running task: no result
    meta = rec["metadata"]
    assert meta["usage"] == {"input_tokens": 8200, "output_tokens": 310, "cost": 0.0123}
    assert meta["tool_errors"] == 1 and meta["interrupted_tool_calls"] == 1 and meta["task_category"] == "coding"
    child = outs["db"][F.OC_CHILD][0]["metadata"]
    assert child["parent_session_id"] == F.OC_SID and child["subagent"] is True and child["outcome"] == "success"


def test_claude_code_merges_split_assistant_lines(tmp_path: Path) -> None:
    path = F.claude_session(tmp_path / "projects/-home-bob-proj/cc-1111.jsonl")
    rc, report, records = ingest(tmp_path, "claude-code", path.parent.parent)
    assert rc == 0
    assert_balanced(report)
    assert report["skipped_by_reason"] == {"bookkeeping": 2, "meta": 1}
    [rec] = records
    msgs = rec["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant"]
    assert msgs[0]["content"] == "Why does test_x fail?"  # system-reminder stripped
    assert msgs[1]["content"] == "Let me run it." and msgs[1]["tool_calls"][0]["function"]["name"] == "Bash"
    assert msgs[2]["tool_call_id"] == "toolu_1"
    assert rec["metadata"]["model"] == "claude-opus-4" and rec["metadata"]["tool_errors"] == 1


def test_codex_pairs_calls_by_call_id(tmp_path: Path) -> None:
    path = F.codex_rollout(tmp_path / "sessions/2026/05/05/rollout-2026-05-05T08-00-00-cx.jsonl")
    rc, report, records = ingest(tmp_path, "codex", tmp_path / "sessions")
    assert rc == 0
    assert_balanced(report)
    [rec] = records
    msgs = rec["messages"]
    assert [m["role"] for m in msgs] == ["user", "assistant", "tool", "assistant"]
    assert msgs[2] == {"role": "tool", "content": "42 main.py", "tool_call_id": "call_a", "name": "shell"}
    meta = rec["metadata"]
    assert meta["outcome"] == "success" and meta["model"] == "gpt-5-codex" and meta["session_id"] == "cx-2222"
    assert meta["usage"]["input_tokens"] == 900
    assert (tmp_path / "out/codex/2026/05/05/rollout-2026-05-05T08-00-00-cx.jsonl").is_file() and path.is_file()


def test_chat_shapes_and_auto_detection(tmp_path: Path) -> None:
    F.jsonl(tmp_path / "in/chat.jsonl", F.chat_rows())
    F.claude_session(tmp_path / "in/claude/p/cc.jsonl")
    F.codex_rollout(tmp_path / "in/rollout.jsonl")
    rc, reports, records = ingest(tmp_path, "auto", tmp_path / "in")
    assert rc == 0 and sorted(reports) == ["chat", "claude-code", "codex"]
    chat = [r for r in records if r["metadata"]["source"] == "chat"]
    assert len(chat) == 3
    openai, sharegpt, pair = chat
    assert [m.get("weight") for m in openai["messages"] if m["role"] == "assistant"] == [0, 1]
    assert sharegpt["messages"][0]["role"] == "system" and sharegpt["tools"][0]["name"] == "exec"
    assert pair["messages"] == [{"role": "user", "content": "Reverse a list in Python.\n\n[1, 2, 3]"},
                                {"role": "assistant", "content": "Use `xs[::-1]`: `[3, 2, 1]`."}]
    assert openai["metadata"]["task_category"] == "shell" and pair["metadata"]["task_category"] == "chat"


def test_rerun_is_identical_and_since_filters(tmp_path: Path) -> None:
    home = F.openclaw_home(tmp_path / ".openclaw")
    out = tmp_path / "out"
    assert main(["--from", "openclaw", "--path", str(home), "--out", str(out)]) == 0
    first = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    assert main(["--from", "openclaw", "--path", str(home), "--out", str(out)]) == 0
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == first
    since = tmp_path / "since"
    assert main(["--from", "openclaw", "--path", str(home), "--out", str(since), "--since", "2026-05-03"]) == 0
    report = json.loads((since / "openclaw/_ingest_report.json").read_text())
    assert report["totals"]["sessions"] == 1 and report["skipped_by_reason"]["before_since"] == 11
    assert report["balanced"] is True


def test_dry_run_lists_and_writes_nothing(tmp_path: Path, capsys) -> None:
    home = F.openclaw_home(tmp_path / ".openclaw")
    out = tmp_path / "out"
    assert main(["--from", "openclaw", "--path", str(home), "--out", str(out), "--dry-run"]) == 0
    text = capsys.readouterr().out
    assert "would read 2 unit(s)" in text and "1 sessions, 14 rows" in text and "nothing (dry run)" in text
    assert not out.exists()


def test_every_adapter_has_the_same_interface() -> None:
    for name, mod in ADAPTERS.items():
        assert mod.NAME == name
        for fn in ("default_roots", "discover", "detect", "iter_sessions", "to_records"):
            assert callable(getattr(mod, fn)), (name, fn)
