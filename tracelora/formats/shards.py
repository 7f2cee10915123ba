"""Dataset shards -> validated records, for training: the built train/val files, or the
`train.train_files` / `val_files` globs that override them. A missing, empty or malformed shard is
one error naming the file (and line); decoding is tracelora.formats.jsonl's."""
from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

from tracelora.common.paths import resolve
from tracelora.formats.jsonl import JsonlError, read_rows
from tracelora.formats.records import FormatError, normalize


class DataError(ValueError):
    """A shard that cannot be trained on; the message names it (and the line)."""


def load_records(files: list[str]) -> list[dict[str, Any]]:
    """Read dataset shards (globs across disks ok), validating each row against the record
    contract: a missing, empty or malformed shard is one error naming the file (and line)."""
    paths: list[Path] = []
    for pattern in files:
        matched = sorted(glob.glob(os.path.expanduser(pattern), recursive=True))
        if not matched:
            raise DataError(f"{pattern}: no file matches")
        for m in matched:
            if Path(m).is_dir():
                raise DataError(f"{m}: is a directory (give a file or a glob such as {m}/*.jsonl)")
        paths += [Path(m) for m in matched]
    records = []
    for path in paths:
        shard = _read_shard(path)
        if not shard:
            raise DataError(f"{path}: empty shard (no records)")
        records += shard
    return records


def _read_shard(path: Path) -> list[dict[str, Any]]:
    """One shard's records; decoding is formats.jsonl's, so its `path:line` errors pass through."""
    records, origin = [], str(path)
    try:
        for origin, row in read_rows(path):
            records.append(normalize(row, origin))
    except JsonlError as exc:
        raise DataError(str(exc)) from None
    except FormatError as exc:
        raise DataError(f"{origin}: {exc}") from None
    return records


def shards(patterns: list[str], root: Path) -> list[str]:
    """`train.train_files` / `val_files` globs with the params path rule (relative = to the project root)."""
    return [str(resolve(pat, root)) for pat in patterns if pat]
