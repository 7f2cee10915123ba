"""Atomic writes and line-oriented reads: a crash never leaves a half-written output behind."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from glob import escape as glob_escape
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator

import orjson


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp/mkdtemp create owner-only (0600/0700) entries; outputs get the modes open()/mkdir() would give
_FILE_MODE = 0o666 & ~_umask()
_DIR_MODE = 0o777 & ~_umask()


def dumps_line(obj: Any) -> str:
    """One canonical JSON line: stable key order is the caller's, no ASCII escaping, no spaces.
    orjson writes it (3x the stdlib's speed, and the build writes every record twice: the line and
    the content id); what orjson cannot encode (lone surrogates, integers beyond 64 bits, non-string
    keys) the stdlib writes with the same settings. The two differ only on floats in exponent form
    (`0.00001` vs `1e-05`) and non-finite floats (`null` vs the non-JSON `NaN`)."""
    try:
        return orjson.dumps(obj).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def dumps_canonical(obj: Any) -> bytes:
    """`dumps_line` with sorted keys, as UTF-8 bytes (lone surrogates passed through): what a
    content hash is taken over."""
    try:
        return orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8", "surrogatepass")


def sweep_stale_temps(path: Path) -> int:
    """Remove the temp files an earlier, killed writer of `path` left (`.<name>.<pid>.<rand>.tmp`
    whose pid is no longer running): only this module's own files, next to `path`. Returns how many."""
    removed = 0
    try:
        candidates = list(path.parent.glob(f".{glob_escape(path.name)}.*.tmp"))
    except OSError:
        return 0
    for tmp in candidates:
        parts = tmp.name[len(path.name) + 2:].split(".")
        if not parts or not parts[0].isdigit() or pid_alive(int(parts[0])):
            continue
        try:
            tmp.unlink()
            removed += 1
        except OSError:
            pass
    return removed


def pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


@contextmanager
def atomic_open(path: str | Path, mode: str = "w") -> Iterator[Any]:
    """Write to a temp file in the same directory, fsync, then rename over `path`. The temp file
    names its writer's pid, so the next writer removes what a killed one left behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json(path: str | Path, obj: Any) -> None:
    with atomic_open(path) as fh:
        json.dump(obj, fh, indent=2, ensure_ascii=False, sort_keys=False)
        fh.write("\n")


def write_jsonl(path: str | Path, rows: Iterable[Any]) -> int:
    n = 0
    with atomic_open(path) as fh:
        for row in rows:
            fh.write(dumps_line(row) + "\n")
            n += 1
    return n


def read_json(path: str | Path) -> Any:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_json_or_report(path: str | Path, problems: list[str]) -> Any:
    """`read_json`, or None with one line ('missing' / 'not valid JSON') appended to `problems`:
    for the readers that must fail closed (gate, export) rather than crash."""
    try:
        return read_json(path)
    except FileNotFoundError:
        problems.append(f"{path}: missing")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: not valid JSON ({exc.__class__.__name__})")
    return None


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


@contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a directory next to `path` and swap it in only when the block succeeds."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, _DIR_MODE)
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
