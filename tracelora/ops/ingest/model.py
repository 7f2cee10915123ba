"""Shared pieces of every adapter: the per-source ledger (every line/row gets exactly one fate),
the Session handed from `iter_sessions` to `to_records`, a conversation builder that pairs tool
calls with results, and the outcome / task-category heuristics (documented in docs/ingest.md)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable

from tracelora.formats.tally import FILTERED, KEPT, QUARANTINED, Tally

SKIPPED = FILTERED  # ingest's word for a row that was read but is not wanted (before --since, an unused branch)
INTERRUPTED = "[Tool execution was interrupted: no result was recorded]"


class IngestError(Exception):
    """A whole source unit (file or database) cannot be read; the message names it."""


class Ledger:
    """Accounts for every line/row of one source unit: kept, skipped by reason or quarantined by
    reason. `keep` wins over `skip` (an entry shared by two branches and used by one of them is kept);
    a quarantined row stays quarantined."""

    def __init__(self, unit: str, kind: str) -> None:
        self.unit, self.kind = unit, kind
        self._fate: dict[str, tuple[str, str]] = {}
        self.quarantine: list[dict[str, str]] = []
        self.warnings: list[str] = []
        self._warned: set[str] = set()
        self.sessions = 0
        self.records = 0
        self.outputs: list[str] = []
        self.error = ""

    def row(self, origin: str) -> None:
        self._fate.setdefault(origin, ("", ""))

    def keep(self, origin: str) -> None:
        if self._fate.get(origin, ("", ""))[0] != QUARANTINED:
            self._fate[origin] = (KEPT, "")

    def skip(self, origin: str, reason: str) -> None:
        if self._fate.get(origin, ("", ""))[0] in ("", None):
            self._fate[origin] = (SKIPPED, reason)

    def quarantined(self, origin: str, reason: str, detail: str = "") -> None:
        self._fate[origin] = (QUARANTINED, reason)
        self.quarantine.append({"origin": origin, "reason": reason, "detail": detail})

    def warn(self, origin: str, message: str, once_key: str | None = None) -> None:
        """Warnings are structural (keys, versions, ids), never content, so they cannot leak secrets."""
        if once_key is not None:
            if once_key in self._warned:
                return
            self._warned.add(once_key)
        self.warnings.append(f"{origin}: {message}")

    def fate(self, origin: str) -> tuple[str, str]:
        return self._fate.get(origin, ("", ""))

    def tally(self) -> Tally:
        """The unit's fates in the shared vocabulary: every row read, quarantined or skipped (filtered)
        by reason, the rest kept. A row no adapter settled would count as skipped 'unaccounted'
        (tests assert none is)."""
        t = Tally(read=len(self._fate))
        for status, reason in self._fate.values():
            if status == QUARANTINED:
                t.quarantined[reason] += 1
            elif status != KEPT:
                t.filtered[reason or "unaccounted"] += 1
        return t

    def summary(self) -> dict[str, Any]:
        t = self.tally()
        out: dict[str, Any] = {
            "unit": self.unit, "kind": self.kind, "rows": t.read, "kept": t.kept,
            "skipped": sum(t.filtered.values()), "skipped_by_reason": dict(sorted(t.filtered.items())),
            "quarantined": sum(t.quarantined.values()), "quarantined_by_reason": dict(sorted(t.quarantined.items())),
            "sessions": self.sessions, "records": self.records, "outputs": sorted(self.outputs),
            "warnings": self.warnings,
        }
        if self.error:
            out["error"] = self.error
        out["balanced"] = out["rows"] == out["kept"] + out["skipped"] + out["quarantined"]
        return out


@dataclass
class Session:
    """One conversation read from a unit; `payload` is adapter-specific (entries, messages, ...)."""

    source: str
    key: str  # output path under <out>/<source>/, without .jsonl
    unit: str  # display path of the file/db it came from
    session_id: str
    payload: Any
    started: str | None = None  # ISO 8601 UTC
    updated: str | None = None
    origins: list[str] = field(default_factory=list)  # every row of this session (for --since accounting)
    meta: dict[str, Any] = field(default_factory=dict)  # parent_session_id, agent, model, tools, system, ...


def iso(value: Any) -> str | None:
    """Epoch ms/s or an ISO string -> canonical ISO 8601 UTC with milliseconds, else None."""
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            secs = value / 1000 if value > 1e11 else value
            dt = datetime.fromtimestamp(secs, tz=timezone.utc)
        elif isinstance(value, str) and value.strip():
            dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
        else:
            return None
    except (ValueError, OverflowError, OSError):
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def arguments_json(args: Any) -> tuple[str, bool]:
    """Tool-call arguments as a JSON object string; (text, ok). Unparseable input is wrapped as
    {"_raw_arguments": ...} so the record stays valid JSON and the caller can warn."""
    if args is None:
        return "{}", True
    if isinstance(args, dict):
        return json.dumps(args, ensure_ascii=False), True
    if isinstance(args, str):
        try:
            parsed = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            return json.dumps(parsed, ensure_ascii=False), True
        return json.dumps({"_raw_arguments": args}, ensure_ascii=False), False
    return json.dumps({"_raw_arguments": args}, ensure_ascii=False), False


class Convo:
    """Builds OpenAI/TRL-style messages; every tool call gets exactly one result (a missing one is
    synthesized as interrupted before the next turn), and late or unknown results are refused."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.pending: dict[str, str] = {}
        self.tool_names: list[str] = []
        self.tool_errors = 0
        self.last_tool_error = False
        self.interrupted = 0
        self.bad_arguments = 0

    def _flush(self) -> None:
        for call_id, name in self.pending.items():
            self.messages.append({"role": "tool", "tool_call_id": call_id, "name": name, "content": INTERRUPTED})
            self.interrupted += 1
            self.last_tool_error = True
        self.pending = {}

    def system(self, text: str) -> None:
        self.messages.insert(0, {"role": "system", "content": text})

    def user(self, text: str) -> None:
        self._flush()
        self.messages.append({"role": "user", "content": text})

    def assistant(self, text: str, calls: Iterable[tuple[str, str, Any]] = ()) -> None:
        """calls: (id, name, arguments as dict or JSON string)."""
        self._flush()
        msg: dict[str, Any] = {"role": "assistant", "content": text}
        tool_calls = []
        for call_id, name, args in calls:
            text_args, ok = arguments_json(args)
            self.bad_arguments += not ok
            tool_calls.append({"id": call_id, "type": "function", "function": {"name": name, "arguments": text_args}})
            self.pending[call_id] = name
            self.tool_names.append(name)
        if tool_calls:
            msg["tool_calls"] = tool_calls
        self.messages.append(msg)

    def tool(self, call_id: str, content: str, error: bool = False, name: str | None = None) -> bool:
        if call_id not in self.pending:
            return False
        pname = self.pending.pop(call_id)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "name": name or pname, "content": content})
        self.tool_errors += bool(error)
        self.last_tool_error = bool(error)
        return True

    def finish(self) -> list[dict[str, Any]]:
        self._flush()
        return self.messages

    def has_assistant(self) -> bool:
        return any(m["role"] == "assistant" for m in self.messages)


_SUCCESS = {"stop", "end_turn", "completed", "stop_sequence", "task_complete", "success"}
_FAILURE = {"error", "length", "max_tokens", "refusal", "content_filter", "failure", "failed"}
_ABORTED = {"aborted", "cancelled", "canceled", "interrupted", "turn_aborted"}


def outcome(stop: str | None, messages: list[dict[str, Any]], last_tool_error: bool, aborted: bool = False) -> str:
    """success / failure / aborted / unknown, from the last stop reason and the end of the conversation:
    aborted when flagged (a user interrupt, an abandoned branch) or stopped as aborted; failure on an
    error or length stop, or a clean stop right after a failed tool; unknown when no stop reason was
    recorded or the conversation ends on a tool call/result with no abort recorded (the session was
    exported or closed mid-run: build keeps it up to its last assistant turn)."""
    if aborted:
        return "aborted"
    s = (stop or "").lower()
    if s in _ABORTED:
        return "aborted"
    if s in _FAILURE:
        return "failure"
    last = messages[-1] if messages else {}
    if last.get("role") == "tool" or last.get("tool_calls"):
        return "unknown"
    if s in _SUCCESS:
        return "failure" if last_tool_error else "success"
    return "unknown"


# Tool name -> category; first matching category in this order wins (see docs/ingest.md).
CATEGORY_TOOLS: tuple[tuple[str, frozenset[str]], ...] = (
    ("coding", frozenset({"write", "edit", "multiedit", "apply_patch", "patch", "notebookedit", "str_replace_editor",
                          "create_file", "replace"})),
    ("shell", frozenset({"exec", "bash", "shell", "exec_command", "process", "code_execution", "local_shell",
                         "write_stdin", "unified_exec"})),
    ("research", frozenset({"web_search", "web_fetch", "webfetch", "websearch", "x_search", "browser",
                            "codesearch", "web_search_call"})),
    ("exploration", frozenset({"read", "grep", "glob", "find", "ls", "list", "view", "read_file", "list_dir",
                               "lsp", "view_image", "image"})),
    ("automation", frozenset({"message", "cron", "gateway", "sessions_send", "sessions_spawn", "sessions_list",
                              "sessions_history", "subagents", "task", "todowrite", "todoread", "update_plan",
                              "memory_search", "memory_get", "heartbeat_respond", "nodes"})),
)


def task_category(tool_names: Iterable[str], given: Any = None) -> str:
    """The category a source recorded, else a heuristic from the tools used; no tools -> chat,
    only unknown (e.g. MCP) tools -> tools."""
    if isinstance(given, str) and given.strip():
        return given.strip()
    names = {n.lower() for n in tool_names}
    if not names:
        return "chat"
    for category, members in CATEGORY_TOOLS:
        if names & members:
            return category
    return "tools"


def text_of(content: Any, image: str = "[image]") -> str:
    """Join the text of a string or a list of content blocks; images become a placeholder; other
    blocks (thinking, tool calls) are ignored here."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts: list[str] = []
    if isinstance(content, list):
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict):
                kind = block.get("type")
                if kind in ("text", "input_text", "output_text") and isinstance(block.get("text"), str):
                    parts.append(block["text"])
                elif kind in ("image", "input_image", "image_url"):
                    parts.append(image)
    return "\n".join(p for p in parts if p)


def usage_totals(items: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum token/cost dicts that use any of the sources' key spellings."""
    tin = tout = 0
    cost = 0.0
    for u in items:
        if not isinstance(u, dict):
            continue
        tin += int(_num(u, "input", "input_tokens", "prompt_tokens"))
        tout += int(_num(u, "output", "output_tokens", "completion_tokens"))
        c = u.get("cost")
        cost += float(_num(c, "total") if isinstance(c, dict) else (c if isinstance(c, (int, float)) else 0))
    return {"input_tokens": tin, "output_tokens": tout, "cost": round(cost, 6)}


def _num(d: Any, *keys: str) -> float:
    if not isinstance(d, dict):
        return 0
    for k in keys:
        v = d.get(k)
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return 0


def finish_record(session: Session, convo: Convo, *, stop: str | None, aborted: bool, origins: list[str],
                  usage: dict[str, Any] | None = None, cut: bool = False, **extra: Any) -> dict[str, Any]:
    """The normalized record for one example (not yet redacted): messages validated by
    tracelora.formats.records.normalize, plus the full ingest metadata (same keys for every source)."""
    from tracelora.formats.records import normalize

    messages = convo.finish()
    system = session.meta.get("system")
    if isinstance(system, str) and system.strip():
        messages = [{"role": "system", "content": system}, *messages]
    row: dict[str, Any] = {"messages": messages}
    tools = session.meta.get("tools")
    if isinstance(tools, list) and tools:
        row["tools"] = tools
    origin = origins[0] if origins else session.unit
    rec = normalize(row, origin, default_source=session.source)
    meta: dict[str, Any] = {
        "source": session.source,
        "session_id": session.session_id,
        "timestamp": session.started,
        "model": extra.pop("model", None) or session.meta.get("model"),
        "task_category": task_category(convo.tool_names, session.meta.get("task_category")),
        "outcome": "unknown" if cut and not aborted else outcome(stop, messages, convo.last_tool_error, aborted),
        "origin": origin,
        "origin_last": origins[-1] if origins else origin,
        "parent_session_id": session.meta.get("parent_session_id"),
        "subagent": bool(session.meta.get("subagent", False)),
        "agent": session.meta.get("agent"),
        "title": session.meta.get("title"),
        "cwd": session.meta.get("cwd") if isinstance(session.meta.get("cwd"), str) else None,  # the project (home scrubbed)
        "usage": usage or usage_totals([]),
        "tool_calls": len(convo.tool_names),
        "tool_errors": convo.tool_errors,
        "interrupted_tool_calls": convo.interrupted,
        "branch": "current",
        "branch_leaf": None,
        "segment": 0,
    }
    meta.update(extra)
    out: dict[str, Any] = {"id": "", "messages": rec["messages"]}
    if "tools" in rec:
        out["tools"] = rec["tools"]
    out["metadata"] = meta
    return out


def keep_maximal(conversations: list[list[dict[str, Any]]]) -> list[bool]:
    """Which conversations to emit: not an exact copy of an earlier one, not a strict prefix of
    another (a branch that a later branch extends, a failed retry's leftover, ...)."""
    canon = [[json.dumps(m, sort_keys=True, ensure_ascii=False) for m in conv] for conv in conversations]
    keep = []
    for i, a in enumerate(canon):
        ok = True
        for j, b in enumerate(canon):
            if i == j:
                continue
            if a == b and j < i:
                ok = False
            elif len(a) < len(b) and b[: len(a)] == a:
                ok = False
            if not ok:
                break
        keep.append(ok)
    return keep


def tree_paths(items: list[tuple[str, str | None, str | None]], ledger: Ledger,
               expect_dangling: bool = False) -> list[list[str]]:
    """Root-to-leaf paths of origins for (origin, id, parent_id) items, leaves in file order. A parent
    that is missing (dangling) makes the item a root, with a warning unless `expect_dangling` (a
    sub-agent file's prompt hangs under its parent session's entry); cycles stop the walk."""
    by_id: dict[str, tuple[str, str | None]] = {}
    for origin, iid, parent in items:
        if iid is not None and iid not in by_id:
            by_id[iid] = (origin, parent)
    has_child = set()
    for origin, iid, parent in items:
        if parent is not None and parent not in by_id:
            if not expect_dangling:
                ledger.warn(origin, f"dangling parent {parent[:40]}: the branch starts at this entry")
        elif parent is not None:
            has_child.add(parent)
    paths = []
    for origin, iid, _ in items:
        if iid is None or iid in has_child or by_id.get(iid, ("",))[0] != origin:
            continue
        path, seen, cur = [], set(), iid
        while cur is not None and cur in by_id and cur not in seen:
            seen.add(cur)
            path.append(by_id[cur][0])
            cur = by_id[cur][1]
        paths.append(path[::-1])
    return paths
