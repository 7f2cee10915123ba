"""OpenClaw (also Clawdbot/Moltbot, and pi) sessions: legacy JSONL transcripts and their archives
(plain or zstd), the per-agent SQLite store (`transcript_events`, `event_json` or `event_zstd`),
trajectory sidecars / `trajectory_runtime_events` for system prompt and tool schemas, and
`export-trajectory` bundles. Formats: /work/shared/reference/trace_formats.md section 1.

Sessions are trees: every leaf gives a branch, walked by `parentId` from the leaf (not file order).
The branch holding the last written entry is `current`; others are `abandoned` (the user rewound)
and get outcome `aborted`. A compaction entry ends one example and starts the next with its summary
(what the model saw), so nothing before a compaction is lost.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path
from typing import Any, Iterator

from tracelora.common.log import quoted
from tracelora.ops.ingest.model import Convo, Ledger, Session, finish_record, iso, keep_maximal, text_of, usage_totals
from tracelora.ops.ingest.sources import (first_json_lines, is_sqlite, iter_jsonl, iter_jsonl_bytes, open_sqlite_ro,
                                   read_json_file, sqlite_error, sqlite_tables, tables, zstd_bytes)

NAME = "openclaw"
KNOWN_VERSION = 4  # transcript header version this reader was written against
KNOWN_DB_VERSION = 23  # PRAGMA user_version of the newest documented SQLite schema
ENTRY_TYPES = {"session", "message", "model_change", "thinking_level_change", "compaction", "branch_summary",
               "custom", "custom_message", "label", "session_info", "reset", "leaf"}
SYNTHETIC_MODELS = {"gateway-injected", "delivery-mirror"}
COMPACTED = "The conversation so far was compacted into this summary:\n\n"
BRANCH_SUMMARY = "Summary of the branch we came back from:\n\n"

ENVELOPE = re.compile(r"\A\s*(?:[A-Z][A-Za-z ]{0,40}\(untrusted[^)]*\):\s*```[a-z]*\s*.*?```\s*)+", re.S)
TS_PREFIX = re.compile(r"\A\[(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?"
                       r"(?: [A-Z]{2,5}(?:[+-]\d{1,2}(?::?\d{2})?)?)?\]\s*")
DIRECTIVE = re.compile(r"\[\[\s*(?:reply_to_current|reply_to\s*:[^\]]*|reply_to_[a-z_]+|audio_as_voice)\s*\]\]\s*")


def strip_envelope(text: str) -> str:
    """Drop channel metadata blocks ("Conversation info (untrusted metadata): ```json...```") and
    the "[Sat 2026-05-02 11:14 GMT+2]" prefix: PII, and not what the user typed."""
    return TS_PREFIX.sub("", ENVELOPE.sub("", text), count=1).strip()


def strip_directives(text: str) -> str:
    return DIRECTIVE.sub("", text).strip()


# ---------------------------------------------------------------- discovery and detection

def default_roots() -> list[Path]:
    home = Path.home()
    roots = [Path(os.environ["OPENCLAW_STATE_DIR"])] if os.environ.get("OPENCLAW_STATE_DIR") else []
    roots += [home / ".openclaw", *sorted(home.glob(".openclaw-*")), home / ".clawdbot", home / ".moltbot"]
    return [r for r in roots if r.exists()]


def _is_transcript_name(p: Path) -> bool:
    n = p.name
    if n.endswith(".trajectory.jsonl") or ".checkpoint." in n or n.startswith("."):
        return False
    return n.endswith((".jsonl", ".jsonl.zst")) or ".jsonl.reset." in n or ".jsonl.deleted." in n or (
        "session-sqlite-import-archive" in p.parts and ".jsonl" in n)


def discover(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = [p for p in root.rglob("*") if p.is_file() and (_is_transcript_name(p) or p.suffix in (".sqlite", ".db"))]
    found += [p.parent for p in root.rglob("session-branch.json")]
    return sorted(p for p in set(found) if detect(p))


def _looks_like_entries(rows: list[Any]) -> bool:
    for row in rows:
        if not isinstance(row, dict) or "traceSchema" in row:
            return False
        if row.get("type") == "session" and "version" in row and "id" in row:
            return True
        if row.get("type") in ENTRY_TYPES and "parentId" in row and "id" in row:
            return True
    return False


def detect(path: Path) -> bool:
    if path.is_dir():
        return (path / "session-branch.json").is_file()
    if is_sqlite(path):
        t = sqlite_tables(path)
        return path.name.startswith("openclaw") if t is None else "transcript_events" in t
    return _looks_like_entries(first_json_lines(path, 3))


# ---------------------------------------------------------------- reading sessions

def _agent_of(path: Path) -> str | None:
    parts = path.parts
    if "agents" in parts:
        i = len(parts) - 1 - parts[::-1].index("agents")
        if i + 1 < len(parts) - 1:
            return parts[i + 1]
    return None


def _clean_name(name: str) -> str:
    name = name[:-4] if name.endswith(".zst") else name
    return name.replace(".jsonl", "", 1) if ".jsonl" in name else name


def _session_keys(sessions_dir: Path) -> dict[str, str]:
    """sessionId -> sessionKey from the sessions.json index (for sub-agent detection), best effort."""
    index = sessions_dir / "sessions.json"
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    out = {}
    if isinstance(data, dict):
        for key, entry in data.items():
            if isinstance(entry, dict) and isinstance(entry.get("sessionId"), str):
                out[entry["sessionId"]] = str(key)
    return out


def _apply_session_key(meta: dict[str, Any], key: str | None) -> None:
    if key:
        meta["session_key"] = key
        if ":subagent:" in key:
            meta["subagent"] = True


def _trajectory(events: list[tuple[str, Any]], ledger: Ledger, unit: str) -> dict[str, Any]:
    """System prompt and tool schemas from the last `context.compiled` event; other events skipped."""
    found: dict[str, Any] = {}
    chosen = None
    for origin, ev in events:
        if isinstance(ev, dict) and ev.get("type") == "context.compiled" and isinstance(ev.get("data"), dict):
            chosen = origin
            if int(ev.get("schemaVersion") or 1) > 1:
                ledger.warn(origin, f"trajectory schemaVersion {ev.get('schemaVersion')} is newer than 1; "
                            "reading the fields this reader knows", once_key=f"traj:{unit}")
            data = ev["data"]
            found = {"system": data.get("systemPrompt") if isinstance(data.get("systemPrompt"), str) else None,
                     "tools": _tools(data.get("tools"))}
    for origin, _ in events:
        if origin == chosen:
            ledger.keep(origin)
        else:
            ledger.skip(origin, "trajectory_event")
    return found


def _tools(raw: Any) -> list[dict[str, Any]] | None:
    if not isinstance(raw, list):
        return None
    out = []
    for t in raw:
        if isinstance(t, dict) and isinstance(t.get("name"), str):
            fn = {"name": t["name"], "description": str(t.get("description") or ""),
                  "parameters": t.get("parameters") if isinstance(t.get("parameters"), dict) else {"type": "object"}}
            out.append({"type": "function", "function": fn})
        elif isinstance(t, dict) and isinstance(t.get("function"), dict):
            out.append({"type": "function", "function": t["function"]})
    return out or None


def iter_sessions(unit: Path, ledger: Ledger, display: str | None = None) -> Iterator[Session]:
    display = display or str(unit)
    if unit.is_dir():
        yield from _bundle_sessions(unit, display, ledger)
    elif is_sqlite(unit):
        yield from _db_sessions(unit, display, ledger)
    else:
        yield from _file_sessions(unit, display, ledger)


def _split_header(rows: list[tuple[str, Any]], ledger: Ledger) -> tuple[dict[str, Any], list[tuple[str, dict]]]:
    header: dict[str, Any] = {}
    entries = []
    for origin, row in rows:
        if not isinstance(row, dict):
            ledger.quarantined(origin, "not_an_object", f"row is a JSON {type(row).__name__}")
        elif not isinstance(row.get("type"), str):
            ledger.quarantined(origin, "missing_type", "entry has no 'type'")
        elif row["type"] == "session" and not header:
            header = row
            ledger.keep(origin)
        else:
            entries.append((origin, row))
    return header, entries


def _file_sessions(path: Path, display: str, ledger: Ledger) -> Iterator[Session]:
    rows = list(iter_jsonl(path, display, ledger))
    header, entries = _split_header(rows, ledger)
    meta: dict[str, Any] = {"agent": _agent_of(path)}
    sid = str(header.get("id") or _clean_name(path.name).split(".")[0])
    _apply_session_key(meta, _session_keys(path.parent).get(sid))
    sidecar = path.parent / f"{sid}.trajectory.jsonl"
    if sidecar.is_file():
        meta.update({k: v for k, v in _trajectory(list(iter_jsonl(sidecar, str(sidecar), ledger)), ledger,
                                                  display).items() if v})
    prefix = "import-archive/" if "session-sqlite-import-archive" in path.parts else ""
    key = f"{meta['agent'] or 'sessions'}/{prefix}{_clean_name(path.name)}"
    yield _session(key, display, sid, header, entries, meta, ledger)


def _session(key: str, unit: str, sid: str, header: dict[str, Any], entries: list[tuple[str, dict]],
             meta: dict[str, Any], ledger: Ledger) -> Session:
    version = header.get("version")
    if isinstance(version, int) and version > KNOWN_VERSION:
        ledger.warn(unit, f"session {sid}: transcript version {version} is newer than {KNOWN_VERSION}; "
                    "reading the fields this reader knows", once_key=f"v:{unit}")
    if isinstance(header.get("cwd"), str):
        meta.setdefault("cwd", header["cwd"])
    parent = header.get("parentSession")
    if isinstance(parent, str) and parent:
        meta["parent_session_id"] = _clean_name(Path(parent).name).split(".")[0] if "/" in parent else parent
    stamps = [iso(header.get("timestamp"))] + [iso(e.get("timestamp")) for _, e in entries]
    stamps = [s for s in stamps if s]
    return Session(NAME, key, unit, sid, {"header": header, "entries": entries}, started=min(stamps, default=None),
                   updated=max(stamps, default=None), origins=[o for o, _ in entries], meta=meta)


def _decode_event(row: sqlite3.Row, origin: str, ledger: Ledger) -> Any:
    raw = row["event_json"]
    if raw is None and "event_zstd" in row.keys() and row["event_zstd"] is not None:
        try:
            data = zstd_bytes(bytes(row["event_zstd"]))
        except Exception as exc:  # zstandard raises its own error types
            ledger.quarantined(origin, "bad_zstd", str(exc)[:80])
            return None
        size = row["event_utf8_bytes"] if "event_utf8_bytes" in row.keys() else None
        if isinstance(size, int) and size != len(data):
            ledger.quarantined(origin, "zstd_size_mismatch", f"{len(data)} bytes, expected {size}")
            return None
        raw = data
    if raw is None:
        ledger.quarantined(origin, "empty_event", "event_json and event_zstd are both NULL")
        return None
    if isinstance(raw, (bytes, memoryview)):
        try:
            raw = bytes(raw).decode("utf-8")
        except UnicodeDecodeError as exc:
            ledger.quarantined(origin, "invalid_utf8", f"byte at offset {exc.start}")
            return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        ledger.quarantined(origin, "invalid_json", f"{exc.msg} at column {exc.colno}")
        return None


def _db_sessions(path: Path, display: str, ledger: Ledger) -> Iterator[Session]:
    agent = _agent_of(path)
    try:
        with open_sqlite_ro(path) as con:
            con.row_factory = sqlite3.Row
            schema = tables(con)
            user_version = con.execute("PRAGMA user_version").fetchone()[0]
            if user_version > KNOWN_DB_VERSION:
                ledger.warn(display, f"SQLite schema version {user_version} is newer than {KNOWN_DB_VERSION}; "
                            "reading transcript_events(session_id, seq, event_json|event_zstd) only")
            info: dict[str, dict[str, Any]] = {}
            if "sessions" in schema and "session_id" in schema["sessions"]:
                cols = [c for c in ("session_key", "model", "model_provider") if c in schema["sessions"]]
                for r in con.execute(f"SELECT session_id{''.join(', ' + c for c in cols)} FROM sessions"):
                    info[str(r["session_id"])] = dict(r)
            traj: dict[str, list[tuple[str, Any]]] = {}
            if "trajectory_runtime_events" in schema:
                for r in con.execute("SELECT rowid AS rid, session_id, seq, event_json FROM trajectory_runtime_events "
                                     "ORDER BY session_id, seq, rowid"):
                    origin = f"{display}#trajectory_runtime_events/{r['rid']}"
                    ledger.row(origin)
                    try:
                        traj.setdefault(str(r["session_id"]), []).append((origin, json.loads(r["event_json"] or "")))
                    except (json.JSONDecodeError, TypeError):
                        ledger.quarantined(origin, "invalid_json", "trajectory event is not JSON")
            cold: dict[str, list[tuple[str, Any]]] = {}
            if "session_transcript_cold_archives" in schema:
                for r in con.execute("SELECT rowid AS rid, * FROM session_transcript_cold_archives ORDER BY rowid"):
                    origin = f"{display}#session_transcript_cold_archives/{r['rid']}"
                    ledger.row(origin)
                    if r["storage"] != "sqlite" or r["archive_blob"] is None:
                        ledger.skip(origin, "cold_archive_in_file")
                        ledger.warn(origin, f"cold archive {r['archive_name']!s} is stored as a file; ingest that "
                                    "file with --path")
                        continue
                    try:
                        blob = zstd_bytes(bytes(r["archive_blob"]))
                    except Exception as exc:
                        ledger.quarantined(origin, "bad_zstd", str(exc)[:80])
                        continue
                    ledger.keep(origin)
                    cold.setdefault(str(r["session_id"]), []).extend(iter_jsonl_bytes(blob, origin, ledger))
            cols = schema["transcript_events"]
            extra = "".join(f", {c}" for c in ("event_zstd", "event_utf8_bytes") if c in cols)
            grouped: dict[str, list[tuple[str, Any]]] = {}
            for r in con.execute(f"SELECT rowid AS rid, session_id, seq, event_json{extra} FROM transcript_events "
                                 "ORDER BY session_id, seq, rowid"):
                origin = f"{display}#transcript_events/{r['rid']}"
                ledger.row(origin)
                event = _decode_event(r, origin, ledger)
                if ledger.fate(origin)[0] != "quarantined":
                    grouped.setdefault(str(r["session_id"]), []).append((origin, event))
    except sqlite3.Error as exc:
        raise sqlite_error(display, exc) from None
    for sid in sorted(set(grouped) | set(cold)):
        header, entries = _split_header(cold.get(sid, []) + grouped.get(sid, []), ledger)
        meta: dict[str, Any] = {"agent": agent}
        row = info.get(sid, {})
        _apply_session_key(meta, row.get("session_key"))
        if row.get("model"):
            meta["model"] = str(row["model"])
        if sid in traj:
            meta.update({k: v for k, v in _trajectory(traj.pop(sid), ledger, display).items() if v})
        yield _session(f"{agent or 'db'}/{Path(display).stem}/{sid}", display, sid, header, entries, meta, ledger)
    for events in traj.values():  # trajectories of sessions without transcript rows
        for origin, _ in events:
            ledger.skip(origin, "trajectory_without_transcript")


def _bundle_sessions(path: Path, display: str, ledger: Ledger) -> Iterator[Session]:
    """An `openclaw sessions export-trajectory` bundle: session-branch.json (entries), system-prompt.txt,
    tools.json. Other bundle files are not transcript rows."""
    doc = read_json_file(path / "session-branch.json", f"{display}/session-branch.json", ledger)
    if doc is None:
        return
    items = doc.get("entries") if isinstance(doc, dict) else doc
    if not isinstance(items, list):
        ledger.quarantined(f"{display}/session-branch.json", "unknown_schema", "expected a list of entries")
        return
    ledger.keep(f"{display}/session-branch.json")
    rows = []
    for i, item in enumerate(items):
        origin = f"{display}/session-branch.json#{i}"
        ledger.row(origin)
        rows.append((origin, item))
    header, entries = _split_header(rows, ledger)
    meta: dict[str, Any] = {}
    prompt = path / "system-prompt.txt"
    if prompt.is_file():
        meta["system"] = prompt.read_text(encoding="utf-8", errors="replace")
    tools_doc = path / "tools.json"
    if tools_doc.is_file():
        tools = read_json_file(tools_doc, f"{display}/tools.json", ledger)
        meta["tools"] = _tools(tools.get("tools") if isinstance(tools, dict) else tools)
        if tools is not None:
            ledger.keep(f"{display}/tools.json")
    sid = str(header.get("id") or path.name)
    yield _session(f"bundles/{path.name}", display, sid, header, entries, meta, ledger)


# ---------------------------------------------------------------- sessions -> records

class _Segment:
    """One example being built from a branch."""

    def __init__(self, start_text: str | None = None) -> None:
        self.convo = Convo()
        self.used: list[str] = []
        self.skips: list[tuple[str, str]] = []
        self.stop: str | None = None
        self.model: str | None = None
        self.aborted = False
        self.usage: list[dict[str, Any]] = []
        self.cut = False  # ended by a compaction/reset: the session went on, so the outcome is unknown
        if start_text:
            self.convo.user(start_text)


def _play(entry: dict[str, Any], origin: str, seg: _Segment, ledger: Ledger) -> None:
    """Apply one non-boundary entry to a segment, recording its fate."""
    kind = entry.get("type")
    if kind == "message":
        _play_message(entry.get("message"), origin, seg, ledger)
    elif kind in ("model_change", "session_info", "leaf"):
        seg.used.append(origin)
        if kind == "model_change" and entry.get("modelId"):
            seg.model = str(entry["modelId"])
    elif kind == "custom":
        if entry.get("customType") == "model-snapshot":
            seg.used.append(origin)
        else:
            seg.skips.append((origin, "extension_state"))
    elif kind == "custom_message":
        _user_turn(seg, origin, text_of(entry.get("content")).strip())
    elif kind == "branch_summary":
        seg.convo.user(BRANCH_SUMMARY + str(entry.get("summary") or ""))
        seg.used.append(origin)
    elif kind == "session":
        seg.skips.append((origin, "extra_header"))
    elif kind in ("thinking_level_change", "label"):
        seg.skips.append((origin, "bookkeeping"))
    else:
        seg.skips.append((origin, "unknown_entry_type"))
        ledger.warn(origin, f"unknown entry type {quoted(kind)} skipped", once_key=f"type:{ledger.unit}:{kind}")


def _user_turn(seg: _Segment, origin: str, text: str) -> None:
    """A user turn from a message or a custom_message entry; an empty one is skipped, not kept."""
    if text:
        seg.convo.user(text)
        seg.used.append(origin)
    else:
        seg.skips.append((origin, "empty_message"))


def _play_message(msg: Any, origin: str, seg: _Segment, ledger: Ledger) -> None:
    if not isinstance(msg, dict):
        seg.skips.append((origin, "bad_message"))
        return
    role = msg.get("role")
    if role == "user":
        _user_turn(seg, origin, strip_envelope(text_of(msg.get("content"))))
    elif role == "assistant":
        if msg.get("provider") == "openclaw" or msg.get("model") in SYNTHETIC_MODELS or "openclawDeliveryMirror" in msg:
            seg.skips.append((origin, "synthetic_assistant"))
            return
        blocks = msg.get("content") if isinstance(msg.get("content"), list) else [msg.get("content")]
        text = strip_directives(text_of(blocks))
        calls = []
        for b in blocks:
            if isinstance(b, dict) and b.get("type") == "toolCall" and isinstance(b.get("name"), str):
                args = b.get("arguments") if b.get("arguments") is not None else b.get("partialJson")
                calls.append((str(b.get("id") or f"call_{len(calls)}"), b["name"], args))
        if not text and not calls:
            seg.skips.append((origin, "failed_retry" if msg.get("stopReason") == "error" else "empty_message"))
            return
        bad = seg.convo.bad_arguments
        seg.convo.assistant(text, calls)
        if seg.convo.bad_arguments > bad:
            ledger.warn(origin, "tool-call arguments are not a JSON object; kept as {\"_raw_arguments\": ...}")
        seg.used.append(origin)
        seg.stop = msg.get("stopReason") if isinstance(msg.get("stopReason"), str) else seg.stop
        seg.model = str(msg["model"]) if msg.get("model") else seg.model
        seg.usage.append(msg.get("usage") or {})
        if isinstance(msg.get("openclawAbort"), dict) and msg["openclawAbort"].get("aborted"):
            seg.aborted = True
    elif role == "toolResult":
        details = msg.get("details") if isinstance(msg.get("details"), dict) else {}
        error = bool(msg.get("isError")) or details.get("status") == "error"
        ok = seg.convo.tool(str(msg.get("toolCallId")), text_of(msg.get("content")), error,
                            msg.get("toolName") if isinstance(msg.get("toolName"), str) else None)
        if ok:
            seg.used.append(origin)
        else:
            seg.skips.append((origin, "orphan_tool_result"))
            ledger.warn(origin, f"tool result for unknown or already answered call {str(msg.get('toolCallId'))[:60]}")
    elif role == "bashExecution":
        if msg.get("excludeFromContext"):
            seg.skips.append((origin, "excluded_from_context"))
        else:
            seg.convo.user(f"Ran `{msg.get('command', '')}`\n{msg.get('output', '')}".strip())
            seg.used.append(origin)
    elif role in ("custom", "hookMessage", "branchSummary", "compactionSummary"):
        text = text_of(msg.get("content")) or str(msg.get("summary") or "")
        if text.strip():
            seg.convo.user(text.strip())
            seg.used.append(origin)
        else:
            seg.skips.append((origin, "empty_message"))
    else:
        seg.skips.append((origin, "unknown_role"))
        ledger.warn(origin, f"unknown message role {quoted(role)} skipped", once_key=f"role:{ledger.unit}:{role}")


def _branches(entries: list[tuple[str, dict]], ledger: Ledger) -> tuple[list[list[tuple[str, dict]]], int]:
    """Root-to-leaf paths (leaves in file order) and the index of the current one."""
    by_id: dict[str, tuple[str, dict]] = {}
    order: list[str] = []
    for origin, e in entries:
        eid = e.get("id")
        if not isinstance(eid, str):
            ledger.quarantined(origin, "missing_id", "tree entry has no 'id'")
            continue
        if eid in by_id:
            ledger.skip(origin, "duplicate_id")
            ledger.warn(origin, f"duplicate entry id {eid[:40]}; the first one is used")
            continue
        by_id[eid] = (origin, e)
        order.append(eid)
    nav = {i for i in order if by_id[i][1].get("type") == "leaf"}
    has_child: set[str] = set()
    for i in order:
        p = by_id[i][1].get("parentId")
        if i in nav:
            continue
        if isinstance(p, str) and p not in by_id:
            ledger.warn(by_id[i][0], f"dangling parentId {p[:40]}: the branch starts at this entry")
        elif isinstance(p, str):
            has_child.add(p)
    leaves = [i for i in order if i not in has_child and i not in nav]
    paths = []
    for leaf in leaves:
        path, seen, cur = [], set(), leaf
        while isinstance(cur, str) and cur in by_id and cur not in seen:
            seen.add(cur)
            path.append(by_id[cur])
            cur = by_id[cur][1].get("parentId")
        if isinstance(cur, str) and cur in seen:
            ledger.warn(by_id[leaf][0], "parentId cycle; the branch stops where it repeats")
        paths.append(path[::-1])
    for i in nav:  # navigation entries carry no content
        ledger.keep(by_id[i][0])
    content = [i for i in order if i not in nav]
    last = content[-1] if content else None
    current = next((k for k, p in enumerate(paths) if last and p and p[-1][1].get("id") == last), len(paths) - 1)
    return paths, current


def _segments(path: list[tuple[str, dict]], ledger: Ledger) -> list[_Segment]:
    segs = [_Segment()]
    ids = [e.get("id") for _, e in path]
    for k, (origin, e) in enumerate(path):
        if e.get("type") in ("compaction", "reset"):
            segs[-1].used.append(origin)
            segs[-1].cut = True
            start = COMPACTED + str(e.get("summary")) if e.get("type") == "compaction" and e.get("summary") else None
            seg = _Segment(start)
            seg.used.append(origin)
            seg.model = segs[-1].model
            first = e.get("firstKeptEntryId")
            if isinstance(first, str) and first in ids[:k]:
                start = ids.index(first)
                while start > 0 and (path[start][1].get("message") or {}).get("role") == "toolResult":
                    start -= 1  # keep the call a kept tool result answers
                for o2, e2 in path[start:k]:
                    if e2.get("type") not in ("compaction", "reset"):
                        _play(e2, o2, seg, ledger)
            elif first:
                ledger.warn(origin, f"firstKeptEntryId {str(first)[:40]} is not on this branch; the example starts "
                            "after the compaction")
            segs.append(seg)
        else:
            _play(e, origin, segs[-1], ledger)
    return segs


def to_records(session: Session, ledger: Ledger) -> list[dict[str, Any]]:
    entries = session.payload["entries"]
    paths, current = _branches(entries, ledger)
    candidates: list[tuple[_Segment, list[dict], dict[str, Any]]] = []
    for b, path in enumerate(paths):
        for s, seg in enumerate(_segments(path, ledger)):
            extra = {"branch": "current" if b == current else "abandoned",
                     "branch_leaf": path[-1][1].get("id") if path else None, "segment": s}
            candidates.append((seg, seg.convo.finish(), extra))
    keep = keep_maximal([c[1] for c in candidates])
    records = []
    for (seg, _msgs, extra), ok in zip(candidates, keep):
        for origin, reason in seg.skips:
            ledger.skip(origin, reason)
        if not ok or not seg.convo.has_assistant():
            for origin in seg.used:
                ledger.skip(origin, "no_assistant_turn" if ok else "branch_subsumed")
            continue
        for origin in seg.used:
            ledger.keep(origin)
        records.append(finish_record(session, seg.convo, stop=seg.stop,
                                     aborted=seg.aborted or extra["branch"] == "abandoned",
                                     origins=seg.used, usage=usage_totals(seg.usage), model=seg.model, cut=seg.cut,
                                     **extra))
    return records
