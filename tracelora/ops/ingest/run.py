"""The ingest run: find units, read sessions, convert, scrub home paths, redact, and write one JSONL
per session (atomically, only when the content changed) plus a report accounting for every row."""
from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from tqdm import tqdm

from tracelora.common.io import atomic_open, dumps_line, write_json
from tracelora.common.log import get_logger
from tracelora.common.paths import collapse_home
from tracelora.ops.ingest import ADAPTERS, AUTO_ORDER
from tracelora.ops.ingest.model import IngestError, Ledger
from tracelora.formats.records import with_id
from tracelora.cleaning import names as N
from tracelora.cleaning.redaction import iter_strings, redact_record

log = get_logger("ingest")
REPORT_NAME = "_ingest_report.json"  # not *.jsonl: build never reads it


def scrub(value: Any) -> Any:
    """Collapse /home/<name>, /Users/<name>, C:\\Users\\<name> to a generic `user` (PII in paths)."""
    if isinstance(value, str):
        return collapse_home(value)
    if isinstance(value, list):
        return [scrub(v) for v in value]
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    return value


def finalize(record: dict[str, Any], drop_system: bool = False,
             names: re.Pattern[str] | None = None) -> tuple[dict[str, Any], Counter[str]]:
    """Scrub home paths and the session's user names (tracelora.cleaning.names), redact
    (tracelora.cleaning.redaction), and id a record: what gets written."""
    if drop_system:
        record = {**record, "messages": [m for m in record["messages"] if m["role"] != "system"]}
    red, hits = redact_record(N.scrub_value(scrub(record), names))
    return with_id(red), hits


def session_names(records: list[dict[str, Any]], display: str, local: set[str]) -> set[str]:
    """The user names one session reveals: its home paths and slugs (messages, tool calls, its
    cwd), the path of the file it came from, and the local user's own."""
    found = N.names_in(iter_strings(records))
    found |= N.names_in([display])
    return found | local


@dataclass
class SourceRun:
    adapter: ModuleType
    units: list[tuple[Path | str, str]] = field(default_factory=list)  # (unit, display)
    ledgers: list[Ledger] = field(default_factory=list)
    files: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # output key -> records
    owners: dict[str, str] = field(default_factory=dict)  # output key -> session identity
    redactions: Counter[str] = field(default_factory=Counter)
    names: set[str] = field(default_factory=set)  # every user name seen: scrubbed from the report too

    @property
    def name(self) -> str:
        return self.adapter.NAME


def _key(raw: str) -> str:
    key = re.sub(r"[^A-Za-z0-9._/-]", "_", raw).strip("/")
    return "/".join(p for p in key.split("/") if p not in ("", ".", "..")) or "session"


def plan(source: str, paths: list[str]) -> list[SourceRun]:
    """Which units each adapter reads. `auto` gives each unit to the first adapter that detects it."""
    names = AUTO_ORDER if source == "auto" else [source]
    runs = {n: SourceRun(ADAPTERS[n]) for n in names}
    claimed: set[str] = set()
    for n in names:
        adapter = ADAPTERS[n]
        roots: list[Path | str] = [Path(p).expanduser() for p in paths] if paths else adapter.default_roots()
        for root in roots:
            if not Path(root).exists():
                raise IngestError(f"{root}: no such file or directory")
            units: list[Path | str] = adapter.discover(Path(root))
            for unit in units:
                ident = str(Path(unit).resolve()) if isinstance(unit, Path) else unit
                if ident not in claimed:
                    claimed.add(ident)
                    runs[n].units.append((unit, str(unit)))
    return [r for r in runs.values() if r.units or source != "auto"]


def read(run: SourceRun, since: str | None = None, drop_system: bool = False) -> None:
    """Convert every unit of one adapter into run.files; errors stay per unit."""
    local = N.local_names()
    run.names |= local
    for unit, display in tqdm(run.units, desc=f"ingest {run.name}", unit="file", disable=None):
        kind = "sqlite" if isinstance(unit, Path) and unit.is_file() and unit.suffix in (".sqlite", ".db") else (
            "dir" if isinstance(unit, Path) and unit.is_dir() else "file")
        ledger = Ledger(display, kind)
        run.ledgers.append(ledger)
        try:
            for session in run.adapter.iter_sessions(unit, ledger, display):
                when = session.updated or session.started
                if since and when and when < since:
                    for origin in session.origins:
                        ledger.skip(origin, "before_since")
                    continue
                ledger.sessions += 1
                records = run.adapter.to_records(session, ledger)
                if not records:
                    continue
                seen = session_names(records, display, local)
                run.names |= seen
                names = N.pattern(seen)
                key = _key(N.scrub_text(scrub(session.key), names))
                ident = f"{display}\0{session.session_id}"
                if run.owners.setdefault(key, ident) != ident:
                    key = f"{key}-{hashlib.sha1(ident.encode()).hexdigest()[:8]}"
                    run.owners[key] = ident
                out = run.files.setdefault(key, [])
                for rec in records:
                    final, hits = finalize(rec, drop_system, names)
                    run.redactions.update(hits)
                    out.append(final)
                ledger.records += len(records)
                ledger.outputs.append(f"{run.name}/{key}.jsonl")
        except IngestError as exc:
            ledger.error = N.scrub_text(collapse_home(str(exc)), N.pattern(run.names))
            log.error("%s", ledger.error)


def write(run: SourceRun, out_dir: Path, since: str | None) -> dict[str, Any]:
    """Write session files (unchanged ones are left untouched) and the report; return the report."""
    base = out_dir / run.name
    written = unchanged = 0
    for key, records in sorted(run.files.items()):
        text = "".join(dumps_line(r) + "\n" for r in records)
        path = base / f"{key}.jsonl"
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            unchanged += 1
            continue
        with atomic_open(path) as fh:
            fh.write(text)
        written += 1
    report = report_of(run, since)
    write_json(base / REPORT_NAME, report)  # no run-dependent fields: a re-run leaves it byte-identical
    return {**report, "files": {"written": written, "unchanged": unchanged}}


def report_of(run: SourceRun, since: str | None) -> dict[str, Any]:
    units = [ledger.summary() for ledger in run.ledgers]
    totals = Counter()
    skipped: Counter[str] = Counter()
    quarantined: Counter[str] = Counter()
    for u in units:
        totals.update({k: u[k] for k in ("rows", "kept", "skipped", "quarantined", "sessions", "records")})
        skipped.update(u["skipped_by_reason"])
        quarantined.update(u["quarantined_by_reason"])
    report = {
        "source": run.name,
        "since": since,
        "totals": {**{k: totals[k] for k in ("rows", "kept", "skipped", "quarantined", "sessions", "records")},
                   "outputs": len(run.files), "errors": sum(1 for u in units if "error" in u)},
        "skipped_by_reason": dict(sorted(skipped.items())),
        "quarantined_by_reason": dict(sorted(quarantined.items())),
        "redactions_by_rule": dict(sorted(run.redactions.items())),
        "balanced": all(u["balanced"] for u in units),
        "units": units,
        "quarantine": [q for ledger in run.ledgers for q in _redacted_quarantine(ledger)],
    }
    return N.scrub_value(scrub(report), N.pattern(run.names))  # its paths and warnings name no one


def _redacted_quarantine(ledger: Ledger) -> list[dict[str, str]]:
    from tracelora.cleaning.redaction import Redactor

    return [{**q, "detail": Redactor().text(q["detail"])} for q in ledger.quarantine]
