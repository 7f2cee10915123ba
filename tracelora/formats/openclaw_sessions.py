"""Normalized records -> OpenClaw session transcripts (the pi-coding-agent JSONL tree, header
version 3, which OpenClaw and pi both read), one session per record, plus a trajectory sidecar with
the system prompt and tool schemas that transcripts never hold.
Format: /work/shared/reference/trace_formats.md 1.2-1.4 and 1.6. Everything is derived from the
record and its position, so the same records give the same bytes."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from hashlib import sha256
from typing import Any

from tracelora.common.io import dumps_line

SESSION_VERSION = 3
AGENT_ID = "synthetic"
CWD = "/workspace"
PROVIDER, MODEL, API = "synthetic", "seed-templates", "synthetic"
EPOCH = datetime(2026, 1, 1, tzinfo=timezone.utc)  # fixed clock: exports must not depend on when they ran


def session_id(record: dict[str, Any]) -> str:
    """A UUID-shaped id from the record's content hash (stable across exports)."""
    return str(uuid.UUID(hex=record["id"][:32], version=4))


def session_key(index: int) -> str:
    return f"agent:{AGENT_ID}:example-{index:05d}"


def _clock(index: int, step: int) -> tuple[str, int]:
    t = EPOCH + timedelta(minutes=index, seconds=step)
    return t.strftime("%Y-%m-%dT%H:%M:%S.000Z"), int(t.timestamp() * 1000)


def _entry_id(sid: str, k: int) -> str:
    return sha256(f"{sid}:{k}".encode()).hexdigest()[:8]


def _args(raw: Any) -> Any:
    """Records keep arguments as a JSON string (OpenAI's contract); OpenClaw stores the object."""
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except json.JSONDecodeError:
            return {"_raw_arguments": raw}
    return raw if raw is not None else {}


def _text_blocks(text: str) -> list[dict[str, str]]:
    return [{"type": "text", "text": text}] if text else []


def transcript(record: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """The transcript entries of one record: a header, then one `message` entry per user, assistant
    and tool message, each the child of the one before (a single branch). System messages are not
    transcript entries; `trajectory` carries them."""
    sid = session_id(record)
    ts, _ = _clock(index, 0)
    entries: list[dict[str, Any]] = [{"type": "session", "version": SESSION_VERSION, "id": sid, "timestamp": ts,
                                      "cwd": CWD}]
    parent: str | None = None
    pending: list[tuple[str, str]] = []  # (call id, tool name) not yet answered, for results without ids
    calls_seen = 0
    for msg in record["messages"]:
        role = msg["role"]
        if role == "system":
            continue
        k = len(entries)
        ts, ms = _clock(index, k)
        if role == "user":
            message: dict[str, Any] = {"role": "user", "content": _text_blocks(msg["content"]), "timestamp": ms}
        elif role == "assistant":
            blocks: list[dict[str, Any]] = _text_blocks(msg["content"])
            for call in msg.get("tool_calls") or []:
                calls_seen += 1
                cid = call.get("id") or f"call_{calls_seen}"
                name = call["function"]["name"]
                blocks.append({"type": "toolCall", "id": cid, "name": name, "arguments": _args(call["function"].get("arguments"))})
                pending.append((cid, name))
            message = {"role": "assistant", "content": blocks, "api": API, "provider": PROVIDER, "model": MODEL,
                       "stopReason": "toolUse" if msg.get("tool_calls") else "stop", "timestamp": ms}
        else:  # tool
            cid = msg.get("tool_call_id")
            match = next((p for p in pending if p[0] == cid), pending[0] if pending and not cid else None)
            if match:
                pending.remove(match)
            cid = cid or (match[0] if match else f"call_{calls_seen + 1}")
            name = msg.get("name") or (match[1] if match else "tool")
            message = {"role": "toolResult", "toolCallId": cid, "toolName": name,
                       "content": _text_blocks(msg["content"]), "isError": False, "timestamp": ms}
        eid = _entry_id(sid, k)
        entries.append({"type": "message", "id": eid, "parentId": parent, "timestamp": ts, "message": message})
        parent = eid
    return entries


def trajectory(record: dict[str, Any], index: int) -> list[dict[str, Any]]:
    """A one-event trajectory (`context.compiled`) with the system prompt and tool schemas, or [] when
    the record has neither."""
    system = "\n\n".join(m["content"] for m in record["messages"] if m["role"] == "system")
    tools = [{"name": t["function"]["name"], "description": t["function"].get("description", ""),
              "parameters": t["function"].get("parameters", {"type": "object"})}
             for t in record.get("tools") or [] if isinstance(t, dict) and isinstance(t.get("function"), dict)]
    if not system and not tools:
        return []
    sid = session_id(record)
    ts, _ = _clock(index, 0)
    prompt = next((m["content"] for m in record["messages"] if m["role"] == "user"), "")
    return [{"traceSchema": "openclaw-trajectory", "schemaVersion": 1, "traceId": sid, "source": "runtime",
             "type": "context.compiled", "ts": ts, "seq": 1, "sourceSeq": 1, "sessionId": sid,
             "sessionKey": session_key(index), "runId": f"run-{sid[:8]}", "workspaceDir": CWD, "provider": PROVIDER,
             "modelId": MODEL, "modelApi": API,
             "data": {"systemPrompt": system, "prompt": prompt, "imagesCount": 0, "tools": tools}}]


def export_sessions(records: list[dict[str, Any]], root: str = f"openclaw/agents/{AGENT_ID}/sessions") -> dict[str, bytes]:
    """path -> bytes for every file of an OpenClaw sessions directory: `<sessionId>.jsonl`,
    `<sessionId>.trajectory.jsonl` where needed, and the `sessions.json` index."""
    files: dict[str, bytes] = {}
    index: dict[str, Any] = {}
    for i, rec in enumerate(records):
        sid = session_id(rec)
        lines = transcript(rec, i)
        files[f"{root}/{sid}.jsonl"] = "".join(dumps_line(e) + "\n" for e in lines).encode("utf-8")
        traj = trajectory(rec, i)
        if traj:
            files[f"{root}/{sid}.trajectory.jsonl"] = "".join(dumps_line(e) + "\n" for e in traj).encode("utf-8")
        _, updated = _clock(i, len(lines))
        meta = rec.get("metadata", {})
        index[session_key(i)] = {"sessionId": sid, "updatedAt": updated, "sessionFile": f"{sid}.jsonl",
                                 "chatType": "direct", "displayName": f"{meta.get('task_category', 'general')}: "
                                                                       f"{meta.get('template_id', sid[:8])}"}
    files[f"{root}/sessions.json"] = (json.dumps(index, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return files
