"""Rows of a downloaded Hugging Face dataset file, one `RawLine` each (origin `file:row`), for
JSONL, JSON, Parquet and CSV, so a bad row costs that row, never the file. Row shapes are
`stages.lib.records.normalize`'s business (chat, OpenAI, ShareGPT, instruction/response): this
module only reads files and tells which split a file belongs to.

Why not `stages.ingest.hf.iter_hf_rows` (datasets' loader): it numbers rows per split, not per
file line, and one malformed JSON line fails the whole file there.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterator

from stages.lib.reader import RawLine, read_lines

SUPPORTED_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv")


def split_of(path: str) -> str | None:
    """The split a Hub data file belongs to by the usual layouts: `train.jsonl`, `train-0000.parquet`,
    `data/train/…`, `test_x.csv`; None when the name says nothing."""
    parts = Path(path).with_suffix("").parts
    for part in reversed(parts):
        for name in ("train", "validation", "valid", "val", "dev", "test", "eval"):
            if part == name or part.startswith((f"{name}-", f"{name}_", f"{name}.")):
                return {"valid": "validation", "val": "validation", "dev": "validation"}.get(name, name)
    return None


def _json_rows(path: Path, display: str) -> Iterator[RawLine]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        yield RawLine(f"{display}:0", reason="invalid_utf8", detail=f"byte at offset {exc.start}")
        return
    except json.JSONDecodeError:  # JSON Lines saved as .json is common on the Hub
        yield from read_lines(path, display)
        return
    rows = doc.get("data") if isinstance(doc, dict) and isinstance(doc.get("data"), list) else doc
    if isinstance(rows, list):
        for i, row in enumerate(rows, start=1):
            yield RawLine(f"{display}:{i}", row=row)
    else:
        yield RawLine(f"{display}:1", row=rows)


def _parquet_rows(path: Path, display: str) -> Iterator[RawLine]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        yield RawLine(f"{display}:0", reason="unreadable_file", detail=f"not a readable Parquet file ({type(exc).__name__})")
        return
    n = 0
    for batch in pf.iter_batches(batch_size=1024):
        for row in batch.to_pylist():
            n += 1
            yield RawLine(f"{display}:{n}", row=row)


def _csv_value(v: str) -> Any:
    s = v.strip()
    if s[:1] in ("[", "{"):
        try:
            return json.loads(s)
        except json.JSONDecodeError:
            return v
    return v


def _csv_rows(path: Path, display: str) -> Iterator[RawLine]:
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            for row in reader:
                yield RawLine(f"{display}:{reader.line_num}", row={k: _csv_value(v or "") for k, v in row.items() if k})
    except UnicodeDecodeError as exc:
        yield RawLine(f"{display}:0", reason="invalid_utf8", detail=f"byte at offset {exc.start}")
    except csv.Error as exc:
        yield RawLine(f"{display}:0", reason="invalid_csv", detail=str(exc)[:120])


def iter_rows(path: Path, display: str) -> Iterator[RawLine]:
    """Every row of one data file as a RawLine; the caller skips unsupported suffixes."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        yield from read_lines(path, display)
    elif suffix == ".json":
        yield from _json_rows(path, display)
    elif suffix == ".parquet":
        yield from _parquet_rows(path, display)
    elif suffix == ".csv":
        yield from _csv_rows(path, display)
    else:
        raise ValueError(f"{display}: unsupported file type {suffix!r}")
