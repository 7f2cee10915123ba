"""Claude Code transcripts (`~/.claude/projects/<munged-cwd>/<uuid>.jsonl`, trace_formats.md 3.1).
Lines form a tree by `uuid`/`parentUuid`: one example per leaf. Assistant lines sharing `message.id`
are one API response and are merged; `tool_result` blocks on user lines become tool messages.
Sub-agent transcripts (`agent-*.jsonl`, `<uuid>/subagents/`) are their own sessions linked by id."""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Iterator

from tracelora.common.log import quoted
from tracelora.ops.ingest.model import Convo, Ledger, Session, finish_record, iso, keep_maximal, text_of, tree_paths, usage_totals
from tracelora.ops.ingest.sources import first_json_lines, iter_jsonl, jsonl_units

NAME = "claude-code"
MESSAGE = ("user", "assistant")
# Lines that are not conversation. Those with a uuid (attachment, progress, system: turn_duration,
# stop_hook_summary, compact_boundary, local_command, ...) sit inside the parentUuid chain and are
# walked through; the others (file-history-snapshot, permission-mode, last-prompt, ...) stand alone.
BOOKKEEPING = {"summary", "system", "file-history-snapshot", "queue-operation", "attachment", "custom-title",
               "ai-title", "progress", "tag", "permission-mode", "last-prompt", "pr-link", "agent-name"}
REMINDER = re.compile(r"<system-reminder>.*?</system-reminder>\s*", re.S)
COMMAND = re.compile(r"\A\s*<(command-name|command-message|command-args|local-command-stdout|local-command-stderr)>")
INTERRUPT = "[Request interrupted by user"


def default_roots() -> list[Path]:
    base = Path(os.environ["CLAUDE_CONFIG_DIR"]) if os.environ.get("CLAUDE_CONFIG_DIR") else Path.home() / ".claude"
    return [base / "projects"] if (base / "projects").exists() else []


def detect(path: Path) -> bool:
    if not path.is_file():
        return False
    for row in first_json_lines(path, 5):
        if isinstance(row, dict) and row.get("type") in ("user", "assistant") and "uuid" in row and "sessionId" in row:
            return True
        if isinstance(row, dict) and row.get("type") == "summary" and "leafUuid" in row:
            return True
    return False


def discover(root: Path) -> list[Path]:
    return jsonl_units(root, detect)


def iter_sessions(unit: Path, ledger: Ledger, display: str | None = None) -> Iterator[Session]:
    display = display or str(unit)
    nodes = []  # every line with a uuid: messages, and the attachment/progress/system lines the chain runs through
    for origin, row in iter_jsonl(unit, display, ledger):
        if not isinstance(row, dict):
            ledger.quarantined(origin, "not_an_object", f"row is a JSON {type(row).__name__}")
        elif isinstance(row.get("uuid"), str):
            nodes.append((origin, row))
            if row.get("type") not in MESSAGE and row.get("type") not in BOOKKEEPING:
                ledger.warn(origin, f"unknown line type {quoted(row.get('type'))} kept in the chain, not read",
                            once_key=f"type:{display}:{row.get('type')}")
        elif row.get("type") in BOOKKEEPING:
            ledger.skip(origin, "bookkeeping")
        else:
            ledger.skip(origin, "unknown_entry_type")
            ledger.warn(origin, f"unknown line type {quoted(row.get('type'))} skipped",
                        once_key=f"type:{display}:{row.get('type')}")
    entries = [(o, r) for o, r in nodes if r.get("type") in MESSAGE]
    sid = next((str(r["sessionId"]) for _, r in entries if r.get("sessionId")), unit.stem)
    meta: dict[str, Any] = {"cwd": next((r["cwd"] for _, r in entries if isinstance(r.get("cwd"), str)), None)}
    sidechain = unit.stem.startswith("agent-") or (entries and all(r.get("isSidechain") for _, r in entries))
    key = f"{unit.parent.name}/{unit.stem}"
    if unit.parent.name == "subagents":
        meta.update(parent_session_id=unit.parent.parent.name, subagent=True)
        key = f"{unit.parent.parent.parent.name}/{unit.parent.parent.name}/subagents/{unit.stem}"
        sid = f"{unit.parent.parent.name}/{unit.stem}"
    elif sidechain:
        meta.update(parent_session_id=sid, subagent=True)
        sid = f"{sid}/{unit.stem}"
    stamps = [s for s in (iso(r.get("timestamp")) for _, r in entries) if s]
    yield Session(NAME, key, display, sid, {"entries": nodes}, started=min(stamps, default=None),
                  updated=max(stamps, default=None), origins=[o for o, _ in nodes], meta=meta)


def _tool_results_only(row: dict[str, Any]) -> bool:
    content = (row.get("message") or {}).get("content")
    return (row.get("type") == "user" and isinstance(content, list) and bool(content)
            and all(isinstance(b, dict) and b.get("type") == "tool_result" for b in content))


def _prompt(row: dict[str, Any]) -> bool:
    """A user line a person typed (text, not only tool results, not meta): where a real rewind forks."""
    return row.get("type") == "user" and not row.get("isMeta") and not _tool_results_only(row)


def _attached_results(nodes: list[tuple[str, dict[str, Any]]]) -> dict[str, list[str]]:
    """Parallel tool calls: Claude Code writes the second `tool_use` of a response as a child of the
    first, and the first call's `tool_result` line as another child of the first, a leaf. Such a
    tool-result-only leaf with siblings belongs to its parent's step, not to a branch of its own:
    parent uuid -> the origins of those leaves, in file order."""
    children: dict[str, int] = {}
    for _, r in nodes:
        if r.get("parentUuid"):
            children[r["parentUuid"]] = children.get(r["parentUuid"], 0) + 1
    out: dict[str, list[str]] = {}
    for origin, r in nodes:
        parent = r.get("parentUuid")
        if parent and children.get(parent, 0) > 1 and r["uuid"] not in children and _tool_results_only(r):
            out.setdefault(parent, []).append(origin)
    return out


def _user(row: dict[str, Any], origin: str, convo: Convo, used: list[str], skips: list[tuple[str, str]],
          state: dict[str, Any], ledger: Ledger) -> None:
    if row.get("isMeta"):
        skips.append((origin, "meta"))
        return
    content = (row.get("message") or {}).get("content")
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content or ""}]
    texts, took = [], False
    for b in blocks:
        if isinstance(b, dict) and b.get("type") == "tool_result":
            inner = b.get("content")
            text = inner if isinstance(inner, str) else text_of(inner)
            if convo.tool(str(b.get("tool_use_id")), text, bool(b.get("is_error"))):
                took = True
            else:
                ledger.warn(origin, f"tool_result for unknown call {str(b.get('tool_use_id'))[:40]} skipped")
        else:
            t = REMINDER.sub("", text_of([b])).strip()
            if t.startswith(INTERRUPT):
                state["aborted"] = True
            elif t and not COMMAND.match(t):
                texts.append(t)
    if texts:
        convo.user("\n".join(texts))
        state["aborted"] = False
        took = True
    if took:
        used.append(origin)
    else:
        skips.append((origin, "local_command_or_empty"))


def _abandoned(path: list[str], rows: dict[str, dict[str, Any]], prompts_under: dict[str, list[str]]) -> bool:
    """A branch is abandoned only where the user re-prompted from an earlier point: some prompt on
    the path has a later sibling prompt (same parent, later in the file)."""
    for origin in path:
        row = rows[origin]
        siblings = prompts_under.get(row.get("parentUuid") or "", [])
        if _prompt(row) and len(siblings) > 1 and siblings.index(origin) < len(siblings) - 1:
            return True
    return False


def to_records(session: Session, ledger: Ledger) -> list[dict[str, Any]]:
    nodes = session.payload["entries"]
    rows = dict(nodes)
    attached = _attached_results(nodes)
    attached_origins = {o for group in attached.values() for o in group}
    paths = tree_paths([(o, r["uuid"], r.get("parentUuid")) for o, r in nodes if o not in attached_origins], ledger,
                       expect_dangling=bool(session.meta.get("subagent")))
    prompts_under: dict[str, list[str]] = {}
    for origin, r in nodes:
        if _prompt(r) and r.get("parentUuid"):
            prompts_under.setdefault(r["parentUuid"], []).append(origin)
    candidates = []
    for b, path in enumerate(paths):
        convo, used, skips = Convo(), [], []
        state: dict[str, Any] = {"aborted": False, "stop": None, "model": None, "usage": []}
        groups: list[list[str]] = []
        for origin in path:
            row = rows[origin]
            if row.get("type") not in MESSAGE:  # walked through, never read
                skips.append((origin, "bookkeeping"))
                continue
            mid = (row.get("message") or {}).get("id") if row["type"] == "assistant" else None
            prev = rows[groups[-1][-1]] if groups else None
            if mid and prev is not None and prev["type"] == "assistant" and (prev.get("message") or {}).get("id") == mid:
                groups[-1].append(origin)
            else:
                groups.append([origin])
        steps: list[list[str]] = []
        for group in groups:  # each step's parallel tool results right after it
            steps.append(group)
            steps += [[o] for member in group for o in attached.get(rows[member]["uuid"], [])]
        for group in steps:
            first = rows[group[0]]
            if first["type"] == "user":
                _user(first, group[0], convo, used, skips, state, ledger)
                continue
            msgs = [rows[o].get("message") or {} for o in group]
            if msgs[0].get("model") == "<synthetic>":
                skips += [(o, "synthetic_assistant") for o in group]
                continue
            blocks = [b for m in msgs for b in (m.get("content") if isinstance(m.get("content"), list) else [])]
            text = text_of(blocks)
            calls = [(str(b.get("id")), str(b.get("name")), b.get("input")) for b in blocks
                     if isinstance(b, dict) and b.get("type") == "tool_use"]
            if not text and not calls:
                skips += [(o, "empty_message") for o in group]
                continue
            convo.assistant(text, calls)
            used += group
            state["stop"] = next((m["stop_reason"] for m in reversed(msgs) if m.get("stop_reason")), state["stop"])
            state["model"] = msgs[-1].get("model") or state["model"]
            state["usage"].append(msgs[-1].get("usage") or {})
        candidates.append((convo, used, skips, state, b))
    keep = keep_maximal([c[0].finish() for c in candidates])
    records = []
    roots: list[str] = []
    for (convo, used, skips, state, b), ok in zip(candidates, keep):
        for origin, reason in skips:
            ledger.skip(origin, reason)
        if not ok or not convo.has_assistant():
            for origin in used:
                ledger.skip(origin, "no_assistant_turn" if ok else "branch_subsumed")
            continue
        for origin in used:
            ledger.keep(origin)
        abandoned = _abandoned(paths[b], rows, prompts_under)
        if paths[b][0] not in roots:  # a chain that restarts (after /compact) is the session's next segment
            roots.append(paths[b][0])
        records.append(finish_record(session, convo, stop=state["stop"], aborted=state["aborted"] or abandoned,
                                     origins=used, usage=usage_totals(state["usage"]), model=state["model"],
                                     branch="abandoned" if abandoned else "current",
                                     branch_leaf=rows[paths[b][-1]]["uuid"], segment=roots.index(paths[b][0])))
    return records
