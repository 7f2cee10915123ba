"""Fixture builders for the ingest tests: each writes one agent's documented on-disk schema
(trace_formats.md) into a tmp dir, SQLite stores included (documented tables, zstd rows).
All content is made up."""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import zstandard

SID = "5b0c2f1e-8a7d-4c39-9e2b-1f6a0d4c7e21"
AWS = "AKIAIOSFODNN7EXAMPLQ"
ENVELOPE = ('Conversation info (untrusted metadata):\n```json\n{"message_id":"1042","sender_id":"+4917612345678"}\n```\n\n'
            "[Sat 2026-05-02 11:14 GMT+2] ")


def jsonl(path: Path, rows: list, zstd: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(r) + "\n" for r in rows).encode()
    path.write_bytes(zstandard.ZstdCompressor().compress(data) if zstd else data)
    return path


def _msg(eid: str, parent: str | None, message: dict, ts: str = "2026-05-02T09:14:05.000Z") -> dict:
    return {"type": "message", "id": eid, "parentId": parent, "timestamp": ts, "message": message}


def _asst(content: list, stop: str = "stop", **extra) -> dict:
    return {"role": "assistant", "content": content, "api": "anthropic-messages", "provider": "anthropic",
            "model": "claude-sonnet-4-5", "usage": {"input": 100, "output": 10, "cost": {"total": 0.01}},
            "stopReason": stop, "timestamp": 1777713243140, **extra}


def openclaw_entries(sid: str = SID, version: int = 3) -> list[dict]:
    """A tree: a rewound branch (b1 -> abandoned), tool calls in both argument styles, a read that
    fails via details.status, a synthetic and a failed-retry assistant, and a reply directive."""
    return [
        {"type": "session", "version": version, "id": sid, "timestamp": "2026-05-02T09:14:03.118Z", "cwd": "/home/alice/ws"},
        {"type": "custom", "customType": "model-snapshot", "data": {"provider": "anthropic", "modelId": "claude-sonnet-4-5"},
         "id": "a1", "parentId": None, "timestamp": "2026-05-02T09:14:03.120Z"},
        _msg("u1", "a1", {"role": "user", "content": [{"type": "text", "text": ENVELOPE + f"Fix config.py, my key is {AWS}"}]}),
        _msg("c1", "u1", _asst([{"type": "thinking", "thinking": "look"},
                                {"type": "toolCall", "id": "call_1|fc_1", "name": "read", "arguments": {"file_path": "/home/alice/ws/config.py"}}],
                               "toolUse")),
        _msg("r1", "c1", {"role": "toolResult", "toolCallId": "call_1|fc_1", "toolName": "read",
                          "content": [{"type": "text", "text": '{"status":"error","error":"ENOENT"}'}],
                          "details": {"status": "error"}, "isError": False}),
        # abandoned branch: the user rewound to r1 and tried again
        _msg("b1", "r1", _asst([{"type": "text", "text": "I give up."}])),
        _msg("g1", "r1", _asst([{"type": "text", "text": "Gateway error"}], provider="openclaw", model="gateway-injected")),
        _msg("f1", "g1", _asst([], "error", errorMessage="overloaded")),
        _msg("c2", "f1", _asst([{"type": "toolCall", "id": "call_2", "name": "edit",
                                 "arguments": {"path": "config.py", "oldText": "a = 1", "newText": "a = 2"}}], "toolUse")),
        _msg("r2", "c2", {"role": "toolResult", "toolCallId": "call_2", "toolName": "edit",
                          "content": [{"type": "text", "text": "Applied edit to config.py"}], "isError": False}),
        {"type": "label", "id": "l1", "parentId": "r2", "timestamp": "2026-05-02T09:15:00.000Z", "targetId": "c2", "label": "x"},
        _msg("e1", "l1", _asst([{"type": "text", "text": "[[reply_to_current]] Fixed: `a` is now 2 in config.py."}]),
             "2026-05-02T09:16:00.000Z"),
    ]


def trajectory(sid: str = SID) -> list[dict]:
    base = {"traceSchema": "openclaw-trajectory", "schemaVersion": 1, "sessionId": sid, "ts": "2026-05-02T09:14:03Z"}
    return [{**base, "type": "session.started", "data": {}},
            {**base, "type": "context.compiled", "data": {"systemPrompt": "You are OpenClaw.", "prompt": "x", "tools": [
                {"name": "read", "description": "Read a file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}},
                {"name": "edit", "description": "Edit a file", "parameters": {"type": "object", "properties": {"path": {"type": "string"}}}}]}}]


def openclaw_home(root: Path) -> Path:
    """~/.openclaw with a live transcript + trajectory sidecar and a zstd reset archive."""
    sessions = root / "agents/main/sessions"
    jsonl(sessions / f"{SID}.jsonl", openclaw_entries())
    jsonl(sessions / f"{SID}.trajectory.jsonl", trajectory())
    other = "9d1f0000-0000-4000-8000-000000000002"
    jsonl(sessions / f"{other}.jsonl.reset.2026-05-03T10-00-00.000Z.zst", [
        {"type": "session", "version": 3, "id": other, "timestamp": "2026-05-03T09:00:00.000Z"},
        _msg("u1", None, {"role": "user", "content": "How much disk is free?"}, "2026-05-03T09:00:01.000Z"),
        _msg("c1", "u1", _asst([{"type": "toolCall", "id": "t1", "name": "exec", "arguments": {"command": "df -h /"}}], "toolUse")),
        _msg("r1", "c1", {"role": "toolResult", "toolCallId": "t1", "toolName": "exec",
                          "content": [{"type": "text", "text": "/dev/sda1 98G 61G 33G 65% /"}], "isError": False}),
        {"type": "compaction", "id": "k1", "parentId": "r1", "timestamp": "2026-05-03T09:00:03.000Z",
         "summary": "User asked about disk; df showed 33G free.", "firstKeptEntryId": "r1", "tokensBefore": 900},
        _msg("e1", "k1", _asst([{"type": "text", "text": "About 33 GB free on / (65% used)."}])),
    ], zstd=True)
    (sessions / "sessions.json").write_text(json.dumps({"agent:main:main": {"sessionId": SID, "updatedAt": 1}}))
    return root


OPENCLAW_DB_SCHEMA = """
CREATE TABLE sessions (session_id TEXT PRIMARY KEY, session_key TEXT, model_provider TEXT, model TEXT);
CREATE TABLE transcript_events (session_id TEXT NOT NULL, seq INTEGER NOT NULL, event_json TEXT, created_at INTEGER,
  event_zstd BLOB, event_utf8_bytes INTEGER, navigation_json TEXT, PRIMARY KEY (session_id, seq));
CREATE TABLE trajectory_runtime_events (session_id TEXT, run_id TEXT, seq INTEGER, event_json TEXT, created_at INTEGER);
CREATE TABLE session_transcript_cold_archives (session_id TEXT, archive_name TEXT, storage TEXT, archive_blob BLOB);
"""


def openclaw_db(path: Path, sid: str = "db-session-1", compress_every: int = 2) -> Path:
    """The per-agent SQLite store; every `compress_every`-th event is stored zstd-compressed
    (event_json NULL), as schema 23 does. The sub-agent session is linked through its session key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript(OPENCLAW_DB_SCHEMA)
    con.execute("PRAGMA user_version = 23")
    entries = openclaw_entries(sid, version=4)
    sub = "db-subagent-1"
    sub_entries = [{"type": "session", "version": 4, "id": sub, "timestamp": "2026-05-02T10:00:00.000Z"},
                   _msg("s1", None, {"role": "user", "content": "List the files."}),
                   _msg("s2", "s1", _asst([{"type": "text", "text": "There are two files: a.py and b.py."}]))]
    cctx = zstandard.ZstdCompressor()
    for session_id, rows in ((sid, entries), (sub, sub_entries)):
        for seq, e in enumerate(rows):
            text = json.dumps(e)
            if seq % compress_every == 1:
                con.execute("INSERT INTO transcript_events VALUES (?,?,NULL,0,?,?,NULL)",
                            (session_id, seq, cctx.compress(text.encode()), len(text.encode())))
            else:
                con.execute("INSERT INTO transcript_events VALUES (?,?,?,0,NULL,NULL,NULL)", (session_id, seq, text))
    con.execute("INSERT INTO sessions VALUES (?,?,?,?)", (sid, "agent:main:main", "anthropic", "claude-sonnet-4-5"))
    con.execute("INSERT INTO sessions VALUES (?,?,?,?)", (sub, f"agent:main:subagent:{sub}", "anthropic", "claude-haiku"))
    for seq, ev in enumerate(trajectory(sid)):
        con.execute("INSERT INTO trajectory_runtime_events VALUES (?,?,?,?,0)", (sid, "run1", seq, json.dumps(ev)))
    con.commit()
    con.close()
    return path


# ---------------------------------------------------------------- OpenCode

OC_SID, OC_CHILD = "ses_7f3a9c21effeQx1Lm0aBcDeF2g", "ses_7f3a9c21effeChild000000001"


def opencode_session() -> dict:
    """`opencode export` shape: {info, messages:[{info, parts}]}, with a sub-agent child session."""
    def part(mid: str, pid: str, **kw) -> dict:
        return {"id": pid, "sessionID": OC_SID, "messageID": mid, **kw}

    u, a = "msg_9a01c2d3e001AbCdEfGhIjKl", "msg_9a01c2d3f001YzAbCdEfGhIj"
    return {
        "info": {"id": OC_SID, "slug": "brave-otter", "projectID": "4b825dc6", "directory": "/home/dev/api",
                 "title": "Fix failing date parser test", "version": "1.4.2", "time": {"created": 1777720000000, "updated": 1777720042000}},
        "messages": [
            {"info": {"id": u, "sessionID": OC_SID, "role": "user", "time": {"created": 1777720000000}, "agent": "build",
                      "model": {"providerID": "anthropic", "modelID": "claude-sonnet-4-5"}},
             "parts": [part(u, "prt_u1", type="text", text="tests/test_dates.py fails on leap years, please fix"),
                       part(u, "prt_u2", type="text", text="hidden", ignored=True)]},
            {"info": {"id": a, "sessionID": OC_SID, "role": "assistant", "parentID": u, "time": {"created": 1777720001000},
                      "modelID": "claude-sonnet-4-5", "providerID": "anthropic", "agent": "build", "cost": 0.0123,
                      "tokens": {"input": 8200, "output": 310, "reasoning": 0, "cache": {"read": 6000, "write": 0}}, "finish": "stop"},
             "parts": [
                 part(a, "prt_a1", type="step-start", snapshot="e3b0c442"),
                 part(a, "prt_a2", type="reasoning", text="think", time={"start": 1}),
                 part(a, "prt_a3", type="tool", callID="toolu_01Ab", tool="bash", state={
                     "status": "completed", "input": {"command": "pytest tests/test_dates.py -q", "description": "Run"},
                     "output": "1 failed: test_feb29", "title": "Run", "metadata": {"exit": 1}, "time": {"start": 1, "end": 2}}),
                 part(a, "prt_a4", type="step-finish", reason="tool-calls", cost=0.01, tokens={"input": 1, "output": 1}),
                 part(a, "prt_a5", type="step-start"),
                 part(a, "prt_a6", type="tool", callID="toolu_01Cd", tool="edit", state={
                     "status": "completed", "input": {"filePath": "/home/dev/api/dates.py", "oldString": "28", "newString": "monthrange"},
                     "output": "Edit applied successfully.", "title": "dates.py", "metadata": {}, "time": {"start": 3, "end": 4}}),
                 part(a, "prt_a7", type="tool", callID="toolu_01Ef", tool="task", state={
                     "status": "running", "input": {"description": "check", "prompt": "run tests", "subagent_type": "general"},
                     "time": {"start": 5}}),
                 part(a, "prt_a8", type="text", text="Fixed: the parser now uses calendar.monthrange."),
                 part(a, "prt_a9", type="patch", hash="abc", files=["dates.py"]),
                 part(a, "prt_b1", type="step-finish", reason="stop", cost=0.002, tokens={"input": 1, "output": 1}),
             ]},
        ]}


def opencode_child() -> dict:
    u, a = "msg_c001", "msg_c002"
    return {"info": {"id": OC_CHILD, "projectID": "4b825dc6", "parentID": OC_SID, "title": "Child session",
                     "time": {"created": 1777720005000, "updated": 1777720006000}},
            "messages": [
                {"info": {"id": u, "sessionID": OC_CHILD, "role": "user", "time": {"created": 1777720005000}, "agent": "general"},
                 "parts": [{"id": "prt_c1", "sessionID": OC_CHILD, "messageID": u, "type": "text", "text": "run tests"}]},
                {"info": {"id": a, "sessionID": OC_CHILD, "role": "assistant", "parentID": u, "time": {"created": 1777720005500},
                          "modelID": "claude-haiku", "providerID": "anthropic", "cost": 0.001, "tokens": {"input": 10, "output": 5},
                          "finish": "stop"},
                 "parts": [{"id": "prt_c2", "sessionID": OC_CHILD, "messageID": a, "type": "text", "text": "All 12 tests passed."}]}]}


def opencode_storage(root: Path) -> Path:
    """Gen-2 JSON storage: storage/session/<project>/<ses>.json, message/<ses>/<msg>.json, part/<msg>/<prt>.json."""
    storage = root / "storage"
    for doc in (opencode_session(), opencode_child()):
        info = doc["info"]
        (storage / "session" / info["projectID"]).mkdir(parents=True, exist_ok=True)
        (storage / "session" / info["projectID"] / f"{info['id']}.json").write_text(json.dumps(info, indent=2))
        for m in doc["messages"]:
            mdir = storage / "message" / info["id"]
            mdir.mkdir(parents=True, exist_ok=True)
            (mdir / f"{m['info']['id']}.json").write_text(json.dumps(m["info"], indent=2))
            for p in m["parts"]:
                pdir = storage / "part" / m["info"]["id"]
                pdir.mkdir(parents=True, exist_ok=True)
                (pdir / f"{p['id']}.json").write_text(json.dumps(p, indent=2))
    return storage


def opencode_db(path: Path) -> Path:
    """opencode.db (Drizzle schema): JSON kept in `data`, minus the id columns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = sqlite3.connect(path)
    con.executescript("""
    CREATE TABLE session (id TEXT PRIMARY KEY, project_id TEXT, workspace_id TEXT, parent_id TEXT, slug TEXT, directory TEXT,
      title TEXT, version TEXT, revert TEXT, time_created INTEGER, time_updated INTEGER);
    CREATE TABLE message (id TEXT PRIMARY KEY, session_id TEXT, time_created INTEGER, time_updated INTEGER, data TEXT);
    CREATE TABLE part (id TEXT PRIMARY KEY, message_id TEXT, session_id TEXT, time_created INTEGER, time_updated INTEGER, data TEXT);
    """)
    for doc in (opencode_session(), opencode_child()):
        i = doc["info"]
        con.execute("INSERT INTO session VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (i["id"], i["projectID"], None, i.get("parentID"), i.get("slug"), i.get("directory"), i["title"],
                     i.get("version"), None, i["time"]["created"], i["time"]["updated"]))
        for m in doc["messages"]:
            data = {k: v for k, v in m["info"].items() if k not in ("id", "sessionID")}
            con.execute("INSERT INTO message VALUES (?,?,?,?,?)", (m["info"]["id"], i["id"], 0, 0, json.dumps(data)))
            for p in m["parts"]:
                pdata = {k: v for k, v in p.items() if k not in ("id", "sessionID", "messageID")}
                con.execute("INSERT INTO part VALUES (?,?,?,?,?,?)", (p["id"], m["info"]["id"], i["id"], 0, 0, json.dumps(pdata)))
    con.commit()
    con.close()
    return path


# ---------------------------------------------------------------- Claude Code and Codex

def claude_session(path: Path) -> Path:
    base = {"sessionId": "cc-1111", "cwd": "/home/bob/proj", "version": "2.0.1", "isSidechain": False, "userType": "external"}
    return jsonl(path, [
        {"type": "summary", "summary": "Fix test", "leafUuid": "a3"},
        {**base, "type": "user", "uuid": "u0", "parentUuid": None, "isMeta": True, "timestamp": "2026-05-04T10:00:00.000Z",
         "message": {"role": "user", "content": "<local-command-caveat>caveat</local-command-caveat>"}},
        {**base, "type": "user", "uuid": "u1", "parentUuid": "u0", "timestamp": "2026-05-04T10:00:01.000Z",
         "message": {"role": "user", "content": "Why does test_x fail? <system-reminder>be nice</system-reminder>"}},
        {**base, "type": "assistant", "uuid": "a1", "parentUuid": "u1", "timestamp": "2026-05-04T10:00:02.000Z",
         "message": {"id": "msg_1", "role": "assistant", "model": "claude-opus-4", "content": [{"type": "text", "text": "Let me run it."}],
                     "stop_reason": None, "usage": {"input_tokens": 50, "output_tokens": 5}}},
        {**base, "type": "assistant", "uuid": "a2", "parentUuid": "a1", "timestamp": "2026-05-04T10:00:02.100Z",
         "message": {"id": "msg_1", "role": "assistant", "model": "claude-opus-4",
                     "content": [{"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "pytest -k test_x"}}],
                     "stop_reason": "tool_use", "usage": {"input_tokens": 50, "output_tokens": 20}}},
        {"type": "file-history-snapshot", "messageId": "m", "snapshot": {}},
        {**base, "type": "user", "uuid": "u2", "parentUuid": "a2", "timestamp": "2026-05-04T10:00:03.000Z",
         "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "1 failed", "is_error": True}]},
         "toolUseResult": {"stdout": "1 failed"}},
        {**base, "type": "assistant", "uuid": "a3", "parentUuid": "u2", "timestamp": "2026-05-04T10:00:04.000Z",
         "message": {"id": "msg_2", "role": "assistant", "model": "claude-opus-4",
                     "content": [{"type": "text", "text": "test_x fails because the fixture is missing; add it to conftest.py."}],
                     "stop_reason": "end_turn", "usage": {"input_tokens": 60, "output_tokens": 30}}},
    ])


def codex_rollout(path: Path) -> Path:
    ts = "2026-05-05T08:00:00.000Z"

    def line(kind: str, payload: dict) -> dict:
        return {"timestamp": ts, "type": kind, "payload": payload}

    return jsonl(path, [
        line("session_meta", {"id": "cx-2222", "timestamp": ts, "cwd": "/home/carol/repo", "originator": "codex_cli_rs",
                              "cli_version": "0.40.0", "instructions": None}),
        line("turn_context", {"cwd": "/home/carol/repo", "approval_policy": "on-request", "model": "gpt-5-codex"}),
        line("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "<environment_context>cwd</environment_context>"}]}),
        line("response_item", {"type": "message", "role": "user", "content": [{"type": "input_text", "text": "Count the lines in main.py"}]}),
        line("event_msg", {"type": "user_message", "message": "Count the lines in main.py"}),
        line("response_item", {"type": "reasoning", "summary": [], "encrypted_content": "xx"}),
        line("response_item", {"type": "function_call", "name": "shell", "arguments": "{\"command\":[\"wc\",\"-l\",\"main.py\"]}", "call_id": "call_a"}),
        line("event_msg", {"type": "exec_command_end", "call_id": "call_a", "exit_code": 0, "aggregated_output": "42 main.py"}),
        line("response_item", {"type": "function_call_output", "call_id": "call_a", "output": "{\"output\":\"42 main.py\",\"metadata\":{\"exit_code\":0}}"}),
        line("response_item", {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "main.py has 42 lines."}]}),
        line("event_msg", {"type": "token_count", "info": {"total_token_usage": {"input_tokens": 900, "output_tokens": 40}}}),
        line("event_msg", {"type": "task_complete", "last_agent_message": "main.py has 42 lines."}),
    ])


def chat_rows() -> list[dict]:
    tools = [{"type": "function", "function": {"name": "exec", "description": "Run", "parameters": {"type": "object", "properties": {"command": {"type": "string"}}}}}]
    return [
        {"messages": [{"role": "system", "content": "You are an ops assistant."}, {"role": "user", "content": "Free disk?"},
                      {"role": "assistant", "content": None, "tool_calls": [{"id": "call_1", "type": "function",
                                                                               "function": {"name": "exec", "arguments": "{\"command\": \"df -h /\"}"}}], "weight": 0},
                      {"role": "tool", "tool_call_id": "call_1", "content": "/dev/sda1 98G 61G 33G 65% /"},
                      {"role": "assistant", "content": "About 33 GB free.", "weight": 1}], "tools": tools},
        {"conversations": [{"from": "human", "value": "Free disk?"},
                           {"from": "function_call", "value": "{\"name\": \"exec\", \"arguments\": {\"command\": \"df -h /\"}}"},
                           {"from": "observation", "value": "33G free"}, {"from": "gpt", "value": "33 GB free on /."}],
         "system": "You are an ops assistant.", "tools": json.dumps([tools[0]["function"]])},
        {"instruction": "Reverse a list in Python.", "input": "[1, 2, 3]", "output": "Use `xs[::-1]`: `[3, 2, 1]`."},
    ]


def claude_chain_session(path: Path, rewind: bool = False, compact: bool = False) -> Path:
    """Claude Code >= 2.1 shapes that used to fragment a session: a response with two parallel
    `tool_use` blocks written as chained assistant lines whose first `tool_result` line is a leaf
    sibling; attachment / progress / system lines inside the parentUuid chain; stand-alone
    file-history-snapshot / permission-mode / last-prompt lines; a session that ends on a tool call.
    `rewind`: the user re-prompts from the first answer (a real abandoned branch). `compact`: a
    compact_boundary restarts the chain (parentUuid null) before a continued segment."""
    base = {"sessionId": "cc-2121", "cwd": "/Users/jdoe/dev/shop", "version": "2.1.104", "isSidechain": False,
            "userType": "external", "gitBranch": "main"}
    n = iter(range(1000))

    def at() -> str:
        return f"2026-06-01T10:{next(n):02d}:00.000Z"

    def user(uuid: str, parent: str | None, content, **extra) -> dict:
        return {**base, "type": "user", "uuid": uuid, "parentUuid": parent, "timestamp": at(),
                "message": {"role": "user", "content": content}, **extra}

    def asst(uuid: str, parent: str, mid: str, block: dict, stop=None) -> dict:
        return {**base, "type": "assistant", "uuid": uuid, "parentUuid": parent, "timestamp": at(),
                "message": {"id": mid, "role": "assistant", "model": "claude-sonnet-4-5", "content": [block],
                            "stop_reason": stop, "usage": {"input_tokens": 10, "output_tokens": 5}}}

    def other(kind: str, uuid: str, parent: str | None, **extra) -> dict:
        return {**base, "type": kind, "uuid": uuid, "parentUuid": parent, "timestamp": at(), **extra}

    def result(uuid: str, parent: str, call: str, text: str) -> dict:
        return user(uuid, parent, [{"type": "tool_result", "tool_use_id": call, "content": text}],
                    toolUseResult={"stdout": text})

    rows = [
        {"type": "permission-mode", "permissionMode": "default", "sessionId": "cc-2121"},
        {"type": "file-history-snapshot", "messageId": "m0", "snapshot": {}, "isSnapshotUpdate": False},
        user("u1", None, "Why is checkout slow? Look at cart.py and the query log."),
        other("attachment", "at1", "u1", attachment={"type": "todo", "content": []}),
        asst("a1", "at1", "msg_1", {"type": "text", "text": "I'll read both in parallel."}),
        asst("a2", "a1", "msg_1", {"type": "tool_use", "id": "toolu_1", "name": "Read",
                                   "input": {"file_path": "/Users/jdoe/dev/shop/cart.py"}}),
        asst("a3", "a2", "msg_1", {"type": "tool_use", "id": "toolu_2", "name": "Grep",
                                   "input": {"pattern": "SELECT", "path": "logs/"}}, stop="tool_use"),
        result("r1", "a2", "toolu_1", "def total(items):\n    for i in items: db.query(i)"),  # leaf sibling of a3
        result("r2", "a3", "toolu_2", "logs/q.log: SELECT * FROM items WHERE id=1 (x400)"),
        other("progress", "p1", "r2", data={"type": "hook_progress"}),
        asst("a4", "p1", "msg_2", {"type": "text", "text": "total() runs one query per item: an N+1 pattern."},
             stop="end_turn"),
        other("system", "s1", "a4", subtype="turn_duration", durationMs=5120),
        other("system", "s2", "s1", subtype="stop_hook_summary", hookCount=1),
        user("u2", "s2", "Fix it with one batched query."),
        asst("a5", "u2", "msg_3", {"type": "tool_use", "id": "toolu_3", "name": "Edit",
                                   "input": {"file_path": "cart.py", "old_string": "for i in items: db.query(i)",
                                             "new_string": "db.query_many(items)"}}, stop="tool_use"),
        result("r3", "a5", "toolu_3", "The file cart.py has been updated."),
        asst("a6", "r3", "msg_4", {"type": "tool_use", "id": "toolu_4", "name": "Bash",
                                   "input": {"command": "pytest -q tests/test_cart.py"}}, stop="tool_use"),
        {"type": "last-prompt", "lastPrompt": "Fix it with one batched query.", "sessionId": "cc-2121"},
    ]
    if rewind:  # the user went back to the first answer and asked something else instead
        rows += [user("u2b", "s2", "Actually, just explain the fix, don't edit."),
                 asst("a7", "u2b", "msg_5", {"type": "text", "text": "Batch the ids into one IN query."},
                      stop="end_turn")]
    if compact:
        rows += [other("system", "cb1", None, subtype="compact_boundary", logicalParentUuid="a6",
                       compactMetadata={"trigger": "manual", "preTokens": 12000}),
                 user("u3", "cb1", "This session is being continued from a previous conversation. Summary: N+1 fixed.",
                      isCompactSummary=True),
                 asst("a8", "u3", "msg_6", {"type": "text", "text": "Continuing: the tests pass now."}, stop="end_turn")]
    return jsonl(path, rows)
