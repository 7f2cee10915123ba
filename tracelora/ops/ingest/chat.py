"""Chat datasets in JSONL: the seed contract, OpenAI chat fine-tuning rows (`tools`, `tool_calls`,
`weight`), ShareGPT (`human`/`gpt`/`function_call`/`observation`) and instruction/response pairs.
Each row is one example, normalized by tracelora.formats.records.normalize (the same code build uses)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

from tracelora.ops.ingest.model import Ledger, Session, task_category, usage_totals
from tracelora.ops.ingest.sources import first_json_lines, iter_jsonl, jsonl_units
from tracelora.formats.records import FormatError, normalize

NAME = "chat"


def default_roots() -> list[Path]:
    return []  # chat datasets have no default location: pass --path


def _rowlike(row: Any) -> bool:
    try:
        normalize(row, "detect")
    except FormatError:
        return False
    return True


def detect(path: Path) -> bool:
    if not path.is_file():
        return False
    rows = first_json_lines(path, 3)
    return bool(rows) and any(_rowlike(r) for r in rows)


def discover(root: Path) -> list[Path]:
    return jsonl_units(root, detect)


def iter_sessions(unit: Path, ledger: Ledger, display: str | None = None) -> Iterator[Session]:
    display = display or str(unit)
    rows = list(iter_jsonl(unit, display, ledger))
    yield Session(NAME, unit.name[:-6] if unit.name.endswith(".jsonl") else unit.name, display, unit.stem,
                  {"rows": rows}, origins=[o for o, _ in rows])


def rows_to_records(session: Session, ledger: Ledger) -> list[dict[str, Any]]:
    """One record per row; rows that do not normalize are quarantined with records.py's reason."""
    out = []
    for origin, row in session.payload["rows"]:
        try:
            rec = normalize(row, origin, default_source=session.source)
        except FormatError as exc:
            ledger.quarantined(origin, exc.reason, exc.detail)
            continue
        given = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}
        tools = [c["function"]["name"] for m in rec["messages"] for c in m.get("tool_calls", [])]
        explicit = row.get("task_category") or given.get("task_category")
        meta = {
            "source": rec["metadata"]["source"],
            "session_id": str(row.get("id") or given.get("session_id") or origin),
            "timestamp": given.get("timestamp") if isinstance(given.get("timestamp"), str) else None,
            "model": given.get("model") if isinstance(given.get("model"), str) else None,
            "task_category": task_category(tools, explicit),
            "outcome": rec["metadata"]["outcome"],
            "origin": origin, "origin_last": origin,
            "parent_session_id": None, "subagent": False, "agent": None, "title": None,
            "usage": usage_totals([]), "tool_calls": len(tools),
            "tool_errors": 0, "interrupted_tool_calls": 0, "branch": "current", "branch_leaf": None, "segment": 0,
        }
        for key in ("keywords", "attack", "template_id"):
            if key in rec["metadata"]:
                meta[key] = rec["metadata"][key]
        record = {"id": "", "messages": rec["messages"]}
        if "tools" in rec:
            record["tools"] = rec["tools"]
        record["metadata"] = meta
        ledger.keep(origin)
        out.append(record)
    return out


to_records = rows_to_records
