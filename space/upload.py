"""Validate a user's own JSONL traces with the build stage's code: tracelora.formats.jsonl (per-line
parsing, never raising) and the build's per-record step via space.pipeline (normalize -> redact ->
quality filters -> written line and post-redaction scan -> exact dedup),
reporting each bad line as `name:line: reason: detail`. Nothing here logs or stores the data: the
report holds the redacted records only, for the page that asked."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from space.pipeline import BLANK, KEPT, RecordPipeline
from tracelora.common.params import DataParams
from tracelora.formats.jsonl import read_lines

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_ROWS = 5000
MAX_NAME = 80


class UploadLimitError(ValueError):
    """The upload is over a limit; nothing of it was processed."""


@dataclass
class LineIssue:
    line: int
    status: str  # quarantined | filtered | duplicate
    reason: str
    detail: str

    def message(self, name: str) -> str:
        return f"{name}:{self.line}: {self.reason}" + (f": {self.detail}" if self.detail else "")


@dataclass
class UploadReport:
    name: str
    lines: int = 0
    issues: list[LineIssue] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # kept, normalized and redacted
    counts: dict[str, Any] = field(default_factory=dict)

    @property
    def redactions_by_rule(self) -> dict[str, int]:
        return dict(self.counts.get("redactions_by_rule", {}))


def display_name(name: str) -> str:
    """The uploaded file's base name, printable and short (it appears in every error line)."""
    base = Path(name or "upload.jsonl").name
    clean = "".join(ch if ch.isprintable() and ch not in "<>\"'`" else "_" for ch in base)[:MAX_NAME]
    return clean or "upload.jsonl"


def check_limits(path: str | Path, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_UPLOAD_ROWS) -> int:
    """Raise UploadLimitError before any parsing when the file is too big or has too many lines;
    return the number of lines."""
    size = Path(path).stat().st_size
    if size > max_bytes:
        raise UploadLimitError(f"the file is {size / 2**20:.1f} MiB; the limit is {max_bytes / 2**20:.0f} MiB "
                               f"and {max_rows} rows: split it and upload the parts")
    with open(path, "rb") as fh:
        data = fh.read()
    rows = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    if rows > max_rows:
        raise UploadLimitError(f"the file has {rows} rows; the limit is {max_rows} rows: split it and upload the parts")
    return rows


def validate_upload(path: str | Path, name: str, params: DataParams | None = None, *,
                    max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_UPLOAD_ROWS) -> UploadReport:
    """Every line gets one fate: kept (normalized, redacted), quarantined (cannot be read, normalized
    or written clean), filtered (a quality rule of `build`) or duplicate. Blank lines are counted only."""
    check_limits(path, max_bytes, max_rows)
    report = UploadReport(display_name(name))
    pipe = RecordPipeline(params)
    for raw in read_lines(Path(path), report.name):
        report.lines += 1
        fate = pipe.add(raw, "upload")
        if fate.status == KEPT and fate.record is not None:
            report.records.append(fate.record)
        elif fate.status != BLANK:
            lineno = int(raw.origin.rsplit(":", 1)[1])
            report.issues.append(LineIssue(lineno, fate.status, fate.reason, fate.detail))
    report.counts = pipe.counts()
    return report
