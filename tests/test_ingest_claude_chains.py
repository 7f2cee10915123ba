"""Claude Code >= 2.1 chains (ingest_fixtures.claude_chain_session): one session in, one example per
real branch out, always starting at the user's prompt, every parallel tool call kept with its result."""
from __future__ import annotations

import json
from pathlib import Path

import ingest_fixtures as F
from test_ingest_adapters import assert_balanced, ingest


def roles(rec: dict) -> list[str]:
    return [m["role"] for m in rec["messages"]]


def test_parallel_calls_and_chain_entries_give_one_whole_session(tmp_path: Path) -> None:
    path = F.claude_chain_session(tmp_path / "projects/-Users-jdoe-dev-shop/cc-2121.jsonl")
    rc, report, records = ingest(tmp_path, "claude-code", path.parent.parent)
    assert rc == 0
    assert_balanced(report)
    [rec] = records  # not fragments: the attachment/progress/system lines no longer break the chain
    warnings = "\n".join(w for u in report["units"] for w in u["warnings"])
    assert "dangling parent" not in warnings and "unknown line type" not in warnings
    assert report["skipped_by_reason"] == {"bookkeeping": 7}  # 3 stand-alone + 4 chain lines walked through
    assert roles(rec) == ["user", "assistant", "tool", "tool", "assistant", "user", "assistant", "tool", "assistant", "tool"]
    msgs = rec["messages"]
    assert msgs[0]["content"].startswith("Why is checkout slow?")
    calls = [c["function"]["name"] for m in msgs for c in m.get("tool_calls", ())]
    assert calls == ["Read", "Grep", "Edit", "Bash"]  # both parallel calls in one step, and in order
    assert [m["tool_call_id"] for m in msgs if m["role"] == "tool"] == ["toolu_1", "toolu_2", "toolu_3", "toolu_4"]
    assert msgs[2]["content"].startswith("def total") and msgs[3]["content"].startswith("logs/q.log")
    meta = rec["metadata"]
    assert meta["branch"] == "current" and meta["tool_calls"] == 4
    # ends on a call whose result was never written: cut mid-run, not aborted (build keeps it)
    assert meta["outcome"] == "unknown" and meta["interrupted_tool_calls"] == 1


def test_only_a_real_re_prompt_makes_an_abandoned_branch(tmp_path: Path) -> None:
    path = F.claude_chain_session(tmp_path / "projects/-Users-jdoe-dev-shop/cc-2121.jsonl", rewind=True)
    rc, report, records = ingest(tmp_path, "claude-code", path.parent.parent)
    assert rc == 0
    assert_balanced(report)
    assert len(records) == 2
    by_branch = {r["metadata"]["branch"]: r for r in records}
    assert set(by_branch) == {"current", "abandoned"}
    assert by_branch["current"]["messages"][-1]["content"] == "Batch the ids into one IN query."
    assert by_branch["abandoned"]["metadata"]["outcome"] == "aborted"
    for rec in records:  # both start at the first prompt and share the parallel step
        assert rec["messages"][0]["role"] == "user" and roles(rec)[:5] == ["user", "assistant", "tool", "tool", "assistant"]


def test_a_compact_boundary_starts_the_next_segment_at_its_summary(tmp_path: Path) -> None:
    path = F.claude_chain_session(tmp_path / "projects/-Users-jdoe-dev-shop/cc-2121.jsonl", compact=True)
    rc, report, records = ingest(tmp_path, "claude-code", path.parent.parent)
    assert rc == 0
    assert_balanced(report)
    assert sorted(r["metadata"]["segment"] for r in records) == [0, 1]
    later = next(r for r in records if r["metadata"]["segment"] == 1)
    assert roles(later) == ["user", "assistant"] and later["messages"][0]["content"].startswith("This session is being continued")
    assert all(r["metadata"]["branch"] == "current" for r in records)
    assert json.loads(records[0]["messages"][1]["tool_calls"][0]["function"]["arguments"])["file_path"].endswith("cart.py")


def test_a_sub_agent_file_starts_at_its_prompt_without_warnings(tmp_path: Path) -> None:
    """Its first line hangs under the parent session's Task call (a parentUuid not in the file)."""
    base = {"sessionId": "cc-2121", "cwd": "/Users/jdoe/dev/shop", "version": "2.1.121", "isSidechain": True,
            "userType": "external", "agentId": "a1b2"}
    path = F.jsonl(tmp_path / "projects/-Users-jdoe-dev-shop/cc-2121/subagents/agent-a1b2.jsonl", [
        {**base, "type": "user", "uuid": "s1", "parentUuid": "a3-in-parent", "timestamp": "2026-06-01T10:05:00.000Z",
         "message": {"role": "user", "content": "Find every caller of total()."}},
        {**base, "type": "progress", "uuid": "p1", "parentUuid": "s1", "timestamp": "2026-06-01T10:05:01.000Z", "data": {}},
        {**base, "type": "assistant", "uuid": "s2", "parentUuid": "p1", "timestamp": "2026-06-01T10:05:02.000Z",
         "message": {"id": "msg_s", "role": "assistant", "model": "claude-haiku-4-5", "stop_reason": "end_turn",
                     "content": [{"type": "text", "text": "Two callers: checkout.py:12 and cart.py:40."}]}},
    ])
    rc, report, [rec] = ingest(tmp_path, "claude-code", path.parents[3])
    assert rc == 0
    assert_balanced(report)
    assert roles(rec) == ["user", "assistant"] and rec["metadata"]["subagent"] is True
    assert rec["metadata"]["parent_session_id"] == "cc-2121"
    assert not [w for u in report["units"] for w in u["warnings"]]
