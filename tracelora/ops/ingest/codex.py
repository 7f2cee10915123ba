"""Codex CLI rollouts (`~/.codex/sessions/YYYY/MM/DD/rollout-*.jsonl`, trace_formats.md 3.2).
The conversation is built from `response_item` lines (what the model saw): `function_call` and
`function_call_output` paired by `call_id`. `event_msg` lines are the UI log: exit codes, token
usage and task_complete/turn_aborted are read from them, the rest is skipped. A `compacted` line
ends one example and starts the next with its summary."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator

from tracelora.ops.ingest.model import Convo, Ledger, Session, finish_record, iso, text_of, usage_totals
from tracelora.ops.ingest.sources import first_json_lines, iter_jsonl, jsonl_units

NAME = "codex"
LINE_TYPES = {"session_meta", "turn_context", "response_item", "event_msg", "compacted"}
SCAFFOLDING = ("<environment_context>", "<user_instructions>", "# AGENTS.md instructions", "<INSTRUCTIONS>",
               "<permissions instructions>")
COMPACTED = "The conversation so far was compacted into this summary:\n\n"


def default_roots() -> list[Path]:
    base = Path(os.environ["CODEX_HOME"]) if os.environ.get("CODEX_HOME") else Path.home() / ".codex"
    return [base / "sessions"] if (base / "sessions").exists() else []


def detect(path: Path) -> bool:
    if not path.is_file():
        return False
    rows = first_json_lines(path, 3)
    return bool(rows) and all(isinstance(r, dict) and r.get("type") in LINE_TYPES and "payload" in r for r in rows)


def discover(root: Path) -> list[Path]:
    return jsonl_units(root, detect)


def iter_sessions(unit: Path, ledger: Ledger, display: str | None = None) -> Iterator[Session]:
    display = display or str(unit)
    rows = []
    for origin, row in iter_jsonl(unit, display, ledger):
        if not isinstance(row, dict) or not isinstance(row.get("payload"), dict):
            ledger.quarantined(origin, "unknown_schema", "line is not {timestamp, type, payload}")
        else:
            rows.append((origin, row))
    meta_row = next((r["payload"] for _, r in rows if r.get("type") == "session_meta"), {})
    sid = str(meta_row.get("id") or unit.stem)
    meta: dict[str, Any] = {"agent": meta_row.get("originator"), "cwd": meta_row.get("cwd")}
    instructions = meta_row.get("instructions") or meta_row.get("base_instructions")
    if isinstance(instructions, dict):
        instructions = instructions.get("text")
    if isinstance(instructions, str):
        meta["system"] = instructions
    parts = unit.parts
    key = "/".join(parts[parts.index("sessions") + 1:]) if "sessions" in parts[:-1] else unit.name
    key = key[:-6] if key.endswith(".jsonl") else key
    stamps = [s for s in (iso(meta_row.get("timestamp")), *(iso(r.get("timestamp")) for _, r in rows)) if s]
    yield Session(NAME, key, display, sid, {"rows": rows}, started=iso(meta_row.get("timestamp")) or min(stamps, default=None),
                  updated=max(stamps, default=None), origins=[o for o, _ in rows], meta=meta)


def _output(payload: dict[str, Any], exit_codes: dict[str, int]) -> tuple[str, bool]:
    out = payload.get("output")
    code = exit_codes.get(str(payload.get("call_id")))
    if isinstance(out, str):
        try:
            parsed = json.loads(out)
        except json.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict) and "output" in parsed:  # older rollouts: {"output", "metadata": {exit_code}}
            meta = parsed.get("metadata") if isinstance(parsed.get("metadata"), dict) else {}
            code = meta.get("exit_code", code)
            out = parsed["output"]
    elif isinstance(out, dict):
        code = out.get("exit_code", code)
        out = out.get("output", json.dumps(out, ensure_ascii=False))
    text = out if isinstance(out, str) else text_of(out)
    return text, isinstance(code, int) and code != 0


class _Builder:
    def __init__(self, start: str | None = None) -> None:
        self.convo = Convo()
        self.used: list[str] = []
        self.text: list[str] = []
        self.calls: list[tuple[str, str, Any]] = []
        self.stop: str | None = None
        self.aborted = False
        if start:
            self.convo.user(start)

    def flush(self) -> None:
        if self.text or self.calls:
            self.convo.assistant("\n".join(self.text), self.calls)
        self.text, self.calls = [], []


def to_records(session: Session, ledger: Ledger) -> list[dict[str, Any]]:
    rows = session.payload["rows"]
    exit_codes = {str(r["payload"].get("call_id")): r["payload"]["exit_code"] for _, r in rows
                  if r.get("type") == "event_msg" and r["payload"].get("type") == "exec_command_end"
                  and isinstance(r["payload"].get("exit_code"), int)}
    done: list[_Builder] = []
    cur = _Builder()
    model, usage = session.meta.get("model"), {}
    skips: list[tuple[str, str]] = []
    for origin, row in rows:
        kind, p = row.get("type"), row["payload"]
        ptype = p.get("type")
        if kind in ("session_meta", "turn_context"):
            cur.used.append(origin)
            model = p.get("model") or model
        elif kind == "compacted":
            cur.flush()
            cur.used.append(origin)
            done.append(cur)
            cur = _Builder(COMPACTED + str(p.get("message") or ""))
            cur.used.append(origin)
        elif kind == "event_msg":
            if ptype in ("exec_command_end", "token_count", "task_complete", "turn_aborted"):
                cur.used.append(origin)
                if ptype == "token_count" and isinstance(p.get("info"), dict):
                    usage = p["info"].get("total_token_usage") or usage
                if ptype in ("task_complete", "turn_aborted"):
                    cur.stop, cur.aborted = ptype, ptype == "turn_aborted"
            else:
                skips.append((origin, "ui_event"))
        elif kind == "response_item" and ptype == "message":
            text = text_of(p.get("content")).strip()
            role = p.get("role")
            if role == "assistant" and text:
                if cur.calls:
                    cur.flush()
                cur.text.append(text)
                cur.used.append(origin)
            elif role == "user" and text and not text.startswith(SCAFFOLDING):
                cur.flush()
                cur.convo.user(text)
                cur.used.append(origin)
            else:
                skips.append((origin, "scaffolding" if role in ("user", "developer", "system") else "empty_message"))
        elif kind == "response_item" and ptype in ("function_call", "custom_tool_call", "local_shell_call"):
            args = p.get("arguments") if ptype == "function_call" else (
                {"input": p.get("input")} if ptype == "custom_tool_call" else p.get("action"))
            cur.calls.append((str(p.get("call_id") or p.get("id")), str(p.get("name") or "local_shell"), args))
            cur.used.append(origin)
        elif kind == "response_item" and ptype in ("function_call_output", "custom_tool_call_output"):
            cur.flush()
            text, error = _output(p, exit_codes)
            if cur.convo.tool(str(p.get("call_id")), text, error):
                cur.used.append(origin)
            else:
                skips.append((origin, "orphan_tool_result"))
                ledger.warn(origin, f"output for unknown call {str(p.get('call_id'))[:40]} skipped")
        elif kind == "response_item" and ptype in ("reasoning", "web_search_call"):
            skips.append((origin, ptype))
        else:
            skips.append((origin, "unknown_entry_type"))
            ledger.warn(origin, f"unknown line {kind}/{ptype} skipped", once_key=f"type:{ledger.unit}:{kind}/{ptype}")
    cur.flush()
    done.append(cur)
    for origin, reason in skips:
        ledger.skip(origin, reason)
    records = []
    for i, b in enumerate(done):
        if not b.convo.has_assistant():
            for origin in b.used:
                ledger.skip(origin, "no_assistant_turn")
            continue
        for origin in b.used:
            ledger.keep(origin)
        records.append(finish_record(session, b.convo, stop=b.stop, aborted=b.aborted, origins=b.used,
                                     usage=usage_totals([usage]), model=model, segment=i, cut=i < len(done) - 1))
    return records
