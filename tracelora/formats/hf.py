"""Rows of a Hugging Face dataset on disk, one `RawLine` each, for whatever layout it comes in:
data files (JSONL, JSON, Parquet, CSV, Arrow; origin `file:row`) or a `save_to_disk` directory
(origin `split:row`). Row shapes are `tracelora.formats.records.normalize`'s business; this module
only reads, and says which split a file belongs to.

Why a RawLine per row rather than `datasets.load_dataset`: a bad row (a malformed JSON line, a
Parquet batch that fails to decode) must cost that row, named by file and row, never the file.
A source that cannot be read at all raises `HFDataError`, one line naming the path.
"""
from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Iterable, Iterator

from tracelora.formats.jsonl import RawLine, read_lines

DATA_SUFFIXES = (".jsonl", ".json", ".parquet", ".csv", ".arrow")
# what save_to_disk writes beside its .arrow shards: never rows
SAVED_METADATA = frozenset({"state.json", "dataset_info.json", "dataset_dict.json"})
_SPLIT_ALIASES = {"valid": "validation", "val": "validation", "dev": "validation"}
_BATCH = 1024


class HFDataError(ValueError):
    """A dataset source that cannot be read at all; the message is one line naming the path."""


def canonical_split(name: str) -> str:
    """`val`, `valid`, `dev` -> `validation`; other names as they are."""
    return _SPLIT_ALIASES.get(name, name)


def split_of(path: str) -> str | None:
    """The split a data file belongs to by the usual Hub layouts: `train.jsonl`, `train-0000.parquet`,
    `data/train/…`, `test_x.csv`; None when the name says nothing."""
    parts = Path(path).with_suffix("").parts
    for part in reversed(parts):
        for name in ("train", "validation", "valid", "val", "dev", "test", "eval"):
            if part == name or part.startswith((f"{name}-", f"{name}_", f"{name}.")):
                return canonical_split(name)
    return None


def is_data_file(rel: str) -> bool:
    """A file this module reads rows from (by suffix; save_to_disk's metadata files excluded)."""
    p = Path(rel)
    return p.suffix.lower() in DATA_SUFFIXES and p.name not in SAVED_METADATA


def is_saved_dataset(path: Path) -> bool:
    """A `save_to_disk` directory: a DatasetDict (`dataset_dict.json`) or one Dataset (`state.json`)."""
    return path.is_dir() and ((path / "dataset_dict.json").is_file() or
                              ((path / "state.json").is_file() and (path / "dataset_info.json").is_file()))


def _unreadable(origin: str, what: str, exc: BaseException) -> RawLine:
    message = " ".join(str(exc).split())[:120]  # one line, however the library phrased it
    return RawLine(origin, reason="unreadable_file", detail=f"{what} ({type(exc).__name__}: {message})")


def _guarded(rows: Iterable[Any], display: str, what: str) -> Iterator[RawLine]:
    """Rows numbered from 1; a failure mid-file ends the file with one quarantined row where it broke."""
    n = 0
    it: Iterator[Any] | None = None
    while True:
        try:
            it = iter(rows) if it is None else it
            row = next(it)
        except StopIteration:
            return
        except Exception as exc:  # noqa: BLE001 - pyarrow/datasets raise many types for corrupt data
            yield _unreadable(f"{display}:{n + 1}", what, exc)
            return
        n += 1
        yield RawLine(f"{display}:{n}", row=row)


def _json_rows(path: Path, display: str) -> Iterator[RawLine]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        yield RawLine(f"{display}:0", reason="invalid_utf8", detail=f"byte at offset {exc.start}")
        return
    except json.JSONDecodeError:  # JSON Lines saved as .json is common on the Hub
        yield from read_lines(path, display)
        return
    except RecursionError:
        yield RawLine(f"{display}:0", reason="invalid_json", detail="nested too deeply")
        return
    rows = doc.get("data") if isinstance(doc, dict) and isinstance(doc.get("data"), list) else doc
    if isinstance(rows, list):
        for i, row in enumerate(rows, start=1):
            yield RawLine(f"{display}:{i}", row=row)
    else:
        yield RawLine(f"{display}:1", row=rows)


def _batches_rows(batches: Iterable[Any]) -> Iterator[dict[str, Any]]:
    for batch in batches:
        yield from batch.to_pylist()


def _parquet_rows(path: Path, display: str) -> Iterator[RawLine]:
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        yield RawLine(f"{display}:0", reason="unreadable_file", detail=f"not a readable Parquet file ({type(exc).__name__})")
        return
    yield from _guarded(_batches_rows(pf.iter_batches(batch_size=_BATCH)), display, "corrupt Parquet data")


def _open_arrow(path: Path) -> Iterator[Any]:
    """Record batches of an Arrow file: the IPC stream format `datasets` writes, else the file format."""
    import pyarrow as pa

    source = pa.memory_map(str(path))
    try:
        return iter(pa.ipc.open_stream(source))
    except pa.ArrowInvalid:
        source.seek(0)
        reader = pa.ipc.open_file(source)
        return (reader.get_batch(i) for i in range(reader.num_record_batches))


def _arrow_rows(path: Path, display: str) -> Iterator[RawLine]:
    try:
        batches = _open_arrow(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several types for a corrupt file
        yield RawLine(f"{display}:0", reason="unreadable_file", detail=f"not a readable Arrow file ({type(exc).__name__})")
        return
    yield from _guarded(_batches_rows(batches), display, "corrupt Arrow data")


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


_READERS = {".jsonl": read_lines, ".json": _json_rows, ".parquet": _parquet_rows, ".csv": _csv_rows,
            ".arrow": _arrow_rows}


def iter_file_rows(path: Path, display: str) -> Iterator[RawLine]:
    """Every row of one data file as a RawLine (origin `display:row`); a file that cannot be opened
    is one quarantined row `display:0`. Raises HFDataError for a suffix not in DATA_SUFFIXES."""
    reader = _READERS.get(path.suffix.lower())
    if reader is None:
        raise HFDataError(f"{display}: unsupported file type {path.suffix!r} (supported: {', '.join(DATA_SUFFIXES)})")
    try:
        yield from reader(path, display)
    except OSError as exc:  # unreadable (permissions, vanished): the file, not the run
        yield _unreadable(f"{display}:0", "cannot open", exc)


def saved_splits(path: Path) -> dict[str, Any]:
    """The splits of a `save_to_disk` directory (a single Dataset is `train`), as plain-Python
    `datasets.Dataset`s (a saved torch/numpy format is dropped). Raises HFDataError."""
    if not is_saved_dataset(path):
        raise HFDataError(f"{path}: not a saved Hugging Face dataset (no dataset_dict.json or state.json)")
    try:
        import datasets

        loaded = datasets.load_from_disk(str(path))
    except Exception as exc:  # noqa: BLE001 - datasets raises many types; the message names the dir
        raise HFDataError(f"{path}: cannot read as a saved Hugging Face dataset "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]})") from None
    splits = dict(loaded) if isinstance(loaded, datasets.DatasetDict) else {"train": loaded}
    return {name: ds.with_format(None) for name, ds in splits.items()}


def iter_dataset_rows(dataset: Any, display: str) -> Iterator[RawLine]:
    """Every row of one loaded split as a RawLine (origin `display:row`, from 1)."""
    yield from _guarded(dataset, display, "corrupt dataset shard")
