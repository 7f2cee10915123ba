"""OpenCode sessions: the `storage/{session,message,part}` JSON tree, the `opencode.db` SQLite
store and `opencode export` JSON, all turned into the same {info, messages:[(info, parts)]} shape
(trace_formats.md section 2). Assistant messages are split at step and tool boundaries; one `tool`
part is a tool call plus its result; `step-*`, `snapshot`, `patch`, `retry` and reasoning parts are
skipped (tokens and cost are kept as metadata). Sub-agent (`task`) sessions are their own examples,
linked by `parent_session_id`. Messages undone by a session `revert` are skipped."""
from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any, Callable, Iterator

from tracelora.common.log import quoted
from tracelora.ops.ingest.model import Convo, Ledger, Session, finish_record, iso, usage_totals
from tracelora.ops.ingest.sources import is_sqlite, open_sqlite_ro, read_json_file, sqlite_error, sqlite_tables, tables

NAME = "opencode"
SKIP_PARTS = {"step-start": "step_part", "step-finish": "step_part", "snapshot": "snapshot_part",
              "patch": "patch_part", "retry": "retry_part", "reasoning": "reasoning_part", "agent": "agent_part",
              "subtask": "subtask_part"}
COMPACTION_PROMPT = "What did we do so far?"  # what OpenCode sends for a compaction part


def default_roots() -> list[Path]:
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share") / "opencode"
    return [base] if base.exists() else []


def _is_storage(path: Path) -> bool:
    return path.is_dir() and (path / "session").is_dir() and (path / "message").is_dir()


def _is_export(doc: Any) -> bool:
    return (isinstance(doc, dict) and isinstance(doc.get("info"), dict) and isinstance(doc.get("messages"), list)
            and str(doc["info"].get("id", "")).startswith("ses"))


def detect(path: Path) -> bool:
    if path.is_dir():
        return _is_storage(path) or _is_storage(path / "storage")
    if is_sqlite(path):
        t = sqlite_tables(path)
        if t is None:
            return path.name.startswith("opencode") and path.suffix == ".db"
        return {"session", "message", "part"} <= set(t) and "data" in t["message"]
    if path.suffix == ".json" and path.is_file() and path.stat().st_size < (512 << 20):
        try:
            return _is_export(json.loads(path.read_text(encoding="utf-8")))
        except (ValueError, OSError):
            return False
    return False


def discover(root: Path) -> list[Path]:
    if root.is_file() or _is_storage(root):
        return [root] if detect(root) else []
    found = {p for p in root.rglob("storage") if _is_storage(p)}
    found |= {p for p in root.rglob("*.db") if p.is_file()}
    found |= {p for p in root.rglob("*.json") if "storage" not in p.relative_to(root).parts}
    return sorted(p for p in found if detect(p))


# ---------------------------------------------------------------- reading sessions

def iter_sessions(unit: Path, ledger: Ledger, display: str | None = None) -> Iterator[Session]:
    display = display or str(unit)
    if unit.is_dir():
        yield from _tree_sessions(unit if _is_storage(unit) else unit / "storage", display, ledger)
    elif is_sqlite(unit):
        yield from _db_sessions(unit, display, ledger)
    else:
        yield from _export_sessions(unit, display, ledger)



def _emit_sessions(sessions: dict, messages: dict, ledger: Ledger, display: str,
                   key: Callable[[str, dict], str]) -> Iterator[Any]:
    """Count messages (and their parts) of unknown sessions as orphans, then yield every session
    in id order: the same last step for the JSON tree and the SQLite store."""
    for sid, msgs in sorted(messages.items()):
        if sid not in sessions:
            for _, o, parts in msgs:
                ledger.skip(o, "orphan_message")
                for _, po in parts:
                    ledger.skip(po, "orphan_message")
    for sid, (info, origin) in sorted(sessions.items()):
        yield _session(key(sid, info), display, info, origin, messages.get(sid, []))

def _session(key: str, unit: str, info: dict[str, Any], origin: str,
             messages: list[tuple[dict[str, Any], str, list[tuple[dict[str, Any], str]]]]) -> Session:
    messages.sort(key=lambda m: (_created(m[0]), str(m[0].get("id"))))
    for _, _, parts in messages:
        parts.sort(key=lambda p: str(p[0].get("id")))
    sid = str(info.get("id"))
    t = info.get("time") if isinstance(info.get("time"), dict) else {}
    stamps = [s for s in (iso(t.get("created")), iso(t.get("updated")), *(iso(_created(m[0])) for m in messages)) if s]
    meta = {"parent_session_id": info.get("parentID"), "subagent": bool(info.get("parentID")),
            "title": info.get("title"), "version": info.get("version"), "cwd": info.get("directory")}
    origins = [origin] + [o for _, o, ps in messages for o in [o, *(po for _, po in ps)]]
    return Session(NAME, key, unit, sid, {"info": info, "origin": origin, "messages": messages},
                   started=iso(t.get("created")) or min(stamps, default=None), updated=max(stamps, default=None),
                   origins=origins, meta=meta)


def _created(info: dict[str, Any]) -> int:
    t = info.get("time")
    v = t.get("created") if isinstance(t, dict) else None
    return v if isinstance(v, (int, float)) else 0


def _tree_sessions(storage: Path, display: str, ledger: Ledger) -> Iterator[Session]:
    def rel(p: Path) -> str:
        return f"{display}/{p.relative_to(storage).as_posix()}" if storage != Path(display) else str(p)

    sessions = {}
    for p in sorted((storage / "session").rglob("*.json")):
        doc = read_json_file(p, rel(p), ledger)
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            sessions[doc["id"]] = (doc, rel(p))
        elif doc is not None:
            ledger.quarantined(rel(p), "unknown_schema", "session file without 'id'")
    messages: dict[str, list] = {}
    by_msg: dict[str, tuple[dict, str, list]] = {}
    for p in sorted((storage / "message").rglob("*.json")):
        doc = read_json_file(p, rel(p), ledger)
        if isinstance(doc, dict) and isinstance(doc.get("id"), str):
            sid = str(doc.get("sessionID") or p.parent.name)
            entry = (doc, rel(p), [])
            by_msg[doc["id"]] = entry
            messages.setdefault(sid, []).append(entry)
        elif doc is not None:
            ledger.quarantined(rel(p), "unknown_schema", "message file without 'id'")
    if (storage / "part").is_dir():
        for p in sorted((storage / "part").rglob("*.json")):
            doc = read_json_file(p, rel(p), ledger)
            if isinstance(doc, dict):
                mid = str(doc.get("messageID") or p.parent.name)
                if mid in by_msg:
                    by_msg[mid][2].append((doc, rel(p)))
                else:
                    ledger.skip(rel(p), "orphan_part")
            elif doc is not None:
                ledger.quarantined(rel(p), "not_an_object", "part file is not a JSON object")
    yield from _emit_sessions(sessions, messages, ledger, display,
                              lambda sid, info: f"{info.get('projectID') or 'global'}/{sid}")


def _loads(raw: Any, origin: str, ledger: Ledger) -> dict[str, Any] | None:
    try:
        doc = json.loads(raw) if isinstance(raw, (str, bytes)) else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict):
        ledger.quarantined(origin, "invalid_json", "data column is not a JSON object")
        return None
    return doc


def _db_sessions(path: Path, display: str, ledger: Ledger) -> Iterator[Session]:
    try:
        with open_sqlite_ro(path) as con:
            con.row_factory = sqlite3.Row
            schema = tables(con)
            if "session_v2" in schema:
                ledger.warn(display, "OpenCode V2 tables (session_v2) found but not read; reading session/message/part")
            sessions = {}
            for r in con.execute("SELECT * FROM session ORDER BY id"):
                origin = f"{display}#session/{r['id']}"
                ledger.row(origin)
                row = dict(r)
                revert = row.get("revert")
                info = {"id": row["id"], "parentID": row.get("parent_id"), "title": row.get("title"),
                        "directory": row.get("directory"), "version": row.get("version"),
                        "projectID": row.get("project_id"),
                        "time": {"created": row.get("time_created"), "updated": row.get("time_updated")}}
                if isinstance(revert, str) and revert.strip():
                    try:
                        info["revert"] = json.loads(revert)
                    except json.JSONDecodeError:
                        ledger.warn(origin, "revert column is not JSON; ignored")
                sessions[row["id"]] = (info, origin)
            messages: dict[str, list] = {}
            by_msg: dict[str, tuple] = {}
            for r in con.execute("SELECT id, session_id, data FROM message ORDER BY id"):
                origin = f"{display}#message/{r['id']}"
                ledger.row(origin)
                doc = _loads(r["data"], origin, ledger)
                if doc is not None:
                    entry = ({**doc, "id": r["id"], "sessionID": r["session_id"]}, origin, [])
                    by_msg[r["id"]] = entry
                    messages.setdefault(r["session_id"], []).append(entry)
            for r in con.execute("SELECT id, message_id, session_id, data FROM part ORDER BY id"):
                origin = f"{display}#part/{r['id']}"
                ledger.row(origin)
                doc = _loads(r["data"], origin, ledger)
                if doc is None:
                    continue
                if r["message_id"] in by_msg:
                    by_msg[r["message_id"]][2].append(({**doc, "id": r["id"], "messageID": r["message_id"],
                                                        "sessionID": r["session_id"]}, origin))
                else:
                    ledger.skip(origin, "orphan_part")
    except sqlite3.Error as exc:
        raise sqlite_error(display, exc) from None
    yield from _emit_sessions(sessions, messages, ledger, display, lambda sid, info: f"{path.stem}/{sid}")


def _export_sessions(path: Path, display: str, ledger: Ledger) -> Iterator[Session]:
    doc = read_json_file(path, f"{display}#info", ledger)
    if doc is None:
        return
    if not _is_export(doc):
        ledger.quarantined(f"{display}#info", "unknown_schema", "not an `opencode export` document")
        return
    msgs = []
    for i, m in enumerate(doc["messages"]):
        origin = f"{display}#messages[{i}]"
        ledger.row(origin)
        if not isinstance(m, dict) or not isinstance(m.get("info"), dict):
            ledger.quarantined(origin, "unknown_schema", "message without 'info'")
            continue
        parts = []
        for j, p in enumerate(m.get("parts") or []):
            po = f"{origin}.parts[{j}]"
            ledger.row(po)
            if isinstance(p, dict):
                parts.append((p, po))
            else:
                ledger.quarantined(po, "not_an_object", "part is not a JSON object")
        msgs.append((m["info"], origin, parts))
    yield _session(f"export/{path.stem}", display, doc["info"], f"{display}#info", msgs)


# ---------------------------------------------------------------- sessions -> records

def _tool_result(part: dict[str, Any]) -> tuple[str | None, bool]:
    """(content or None when the tool never finished, is_error)."""
    state = part.get("state") if isinstance(part.get("state"), dict) else {}
    status = state.get("status")
    if status == "completed":
        out = state.get("output")
        meta = state.get("metadata") if isinstance(state.get("metadata"), dict) else {}
        exit_code = meta.get("exit", meta.get("exitCode"))
        text = out if isinstance(out, str) else json.dumps(out, ensure_ascii=False)
        return text, isinstance(exit_code, int) and exit_code != 0
    if status == "error":
        return f"Error: {state.get('error', '')}", True
    return None, False


def to_records(session: Session, ledger: Ledger) -> list[dict[str, Any]]:
    info = session.payload["info"]
    convo = Convo()
    used = [session.payload["origin"]]
    skips: list[tuple[str, str]] = []
    stop, aborted, model, usage = None, False, None, []
    revert = info.get("revert") if isinstance(info.get("revert"), dict) else {}
    revert_from = str(revert.get("messageID") or "")
    for minfo, morigin, parts in session.payload["messages"]:
        if revert_from and str(minfo.get("id")) >= revert_from:
            skips += [(morigin, "reverted")] + [(po, "reverted") for _, po in parts]
            continue
        role = minfo.get("role")
        if role == "user":
            session.meta.setdefault("agent", minfo.get("agent"))
            texts = []
            for p, po in parts:
                kind = p.get("type")
                if kind == "text" and not p.get("ignored") and isinstance(p.get("text"), str):
                    texts.append(p["text"])
                    used.append(po)
                elif kind == "file":
                    if str(p.get("mime", "")).startswith("text/"):
                        skips.append((po, "file_inlined_as_text"))
                    else:
                        texts.append(f"[file: {p.get('filename') or p.get('mime') or 'attachment'}]")
                        used.append(po)
                elif kind == "compaction":
                    texts.append(COMPACTION_PROMPT)
                    used.append(po)
                else:
                    skips.append((po, "ignored_text" if kind == "text" else SKIP_PARTS.get(kind, "unknown_part_type")))
            if texts:
                convo.user("\n".join(texts))
                used.append(morigin)
            else:
                skips.append((morigin, "empty_message"))
        elif role == "assistant":
            err = minfo.get("error") if isinstance(minfo.get("error"), dict) else None
            if err and err.get("name") == "MessageAbortedError":
                aborted = True
            content_parts = [p for p, _ in parts if p.get("type") in ("text", "tool")]
            if err and not content_parts:
                skips += [(morigin, "assistant_error")] + [(po, "assistant_error") for _, po in parts]
                continue
            model = minfo.get("modelID") or model
            system = minfo.get("system")  # older OpenCode recorded the system prompt on each assistant message
            if isinstance(system, list) and all(isinstance(x, str) for x in system) and system:
                session.meta.setdefault("system", "\n".join(system))
            stop = minfo.get("finish") or ("error" if err and not aborted else stop)
            tokens = minfo.get("tokens") if isinstance(minfo.get("tokens"), dict) else {}
            usage.append({**tokens, "cost": minfo.get("cost")})
            _assistant_steps(parts, convo, used, skips, ledger)
            used.append(morigin)
        else:
            skips += [(morigin, "unknown_role")] + [(po, "unknown_role") for _, po in parts]
            ledger.warn(morigin, f"unknown message role {quoted(role)} skipped", once_key=f"role:{role}")
    for origin, reason in skips:
        ledger.skip(origin, reason)
    if not convo.has_assistant():
        for origin in used:
            ledger.skip(origin, "no_assistant_turn")
        return []
    for origin in used:
        ledger.keep(origin)
    return [finish_record(session, convo, stop=stop, aborted=aborted, origins=used, usage=usage_totals(usage),
                          model=model)]


def _assistant_steps(parts: list[tuple[dict[str, Any], str]], convo: Convo, used: list[str],
                     skips: list[tuple[str, str]], ledger: Ledger) -> None:
    """One assistant turn per step: text then tool calls; a step ends at `step-start` or when text
    follows a tool call. Each tool part's result follows its step."""
    text: list[str] = []
    calls: list[tuple[str, str, Any]] = []
    results: list[tuple[str, str | None, bool]] = []

    def flush() -> None:
        if text or calls:
            convo.assistant("\n".join(text), calls)
            for call_id, content, error in results:
                if content is not None:
                    convo.tool(call_id, content, error)
        text.clear(), calls.clear(), results.clear()

    for p, po in parts:
        kind = p.get("type")
        if kind == "text" and not p.get("ignored") and isinstance(p.get("text"), str):
            if calls:
                flush()
            text.append(p["text"])
            used.append(po)
        elif kind == "tool" and isinstance(p.get("tool"), str):
            state = p.get("state") if isinstance(p.get("state"), dict) else {}
            call_id = str(p.get("callID") or p.get("id"))
            calls.append((call_id, p["tool"], state.get("input")))
            content, error = _tool_result(p)
            if content is None:
                ledger.warn(po, f"tool call {call_id[:40]} has no result (status {state.get('status')!s}); "
                            "marked interrupted")
            results.append((call_id, content, error))
            used.append(po)
        elif kind == "step-start":
            flush()
            skips.append((po, "step_part"))
        elif kind in SKIP_PARTS or kind == "file" or kind == "text":
            skips.append((po, SKIP_PARTS.get(kind, "ignored_text" if kind == "text" else "file_part")))
        else:
            skips.append((po, "unknown_part_type"))
            ledger.warn(po, f"unknown part type {quoted(kind)} skipped", once_key=f"part:{kind}")
    flush()
