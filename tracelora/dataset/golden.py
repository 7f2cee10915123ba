"""The golden set as evaluate reads it: held-out records in any accepted trace format, normalized
and redacted exactly as the build does (build itself only needs their near-dup keys,
tracelora.dataset.pipeline.golden_keys). One folder, `data.golden_dir`, serves both."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tracelora.cleaning.redaction import redact_record
from tracelora.common.paths import shown
from tracelora.formats.jsonl import find_trace_files, read_lines
from tracelora.formats.records import FormatError, normalize, with_id


def load_golden(directory: str | Path, root: Path | None = None) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Golden records from *.jsonl (any accepted trace format), redacted like the build does.
    Returns (records, files, problems); a bad line is reported as `file:line: reason`, never fatal.
    Files under `root` are named relative to it (tracelora.common.paths.shown)."""
    directory = Path(directory)
    if not directory.is_dir():
        return [], [], []
    records, problems, files = [], [], []
    for path in find_trace_files(directory):
        name = shown(path, root) if root is not None else path.as_posix()
        files.append(name)
        for line in read_lines(path, name):
            if line.blank:
                continue
            if line.reason:
                problems.append(f"{line.origin}: {line.reason}: {line.detail}")
                continue
            try:
                rec = normalize(line.row, line.origin, default_source="golden")
            except FormatError as exc:
                problems.append(f"{line.origin}: {exc}")
                continue
            rec, _ = redact_record(rec)
            records.append(with_id(rec))
    unique = {r["id"]: r for r in records}
    return list(unique.values()), files, problems
