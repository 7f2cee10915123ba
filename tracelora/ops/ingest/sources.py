"""Reading source units without surprises: JSONL (plain or zstd) line by line through
tracelora.formats.jsonl, JSON documents, and SQLite databases opened strictly read-only."""
from __future__ import annotations

import json
import sqlite3
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator
from urllib.parse import quote

import zstandard

from tracelora.ops.ingest.model import IngestError, Ledger
from tracelora.formats.jsonl import RawLine, read_lines

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
SQLITE_MAGIC = b"SQLite format 3\x00"
LOCK_TIMEOUT_S = 2.0  # how long to wait on a database another process holds locked


def head(path: Path, n: int = 16) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def is_zstd(path: Path) -> bool:
    return head(path, 4) == ZSTD_MAGIC


def is_sqlite(path: Path) -> bool:
    return path.is_file() and head(path, 16) == SQLITE_MAGIC


def zstd_bytes(blob: bytes) -> bytes:
    """Decompress one zstd frame (archives and `event_zstd` rows may omit the content size)."""
    return zstandard.ZstdDecompressor().decompressobj().decompress(blob)


def first_json_lines(path: Path, n: int = 5) -> list[Any]:
    """Up to n parsed non-blank lines from the start of a (possibly zstd) JSONL file, for detection."""
    out: list[Any] = []
    try:
        with open(path, "rb") as raw:
            if raw.read(4) == ZSTD_MAGIC:
                raw.seek(0)
                data = zstandard.ZstdDecompressor().stream_reader(raw).read(1 << 20)
            else:
                raw.seek(0)
                data = raw.read(1 << 20)
    except (OSError, zstandard.ZstdError):
        return out
    for line in data.split(b"\n"):
        if len(out) >= n:
            break
        if not line.strip():
            continue
        try:
            out.append(json.loads(line.decode("utf-8", errors="replace").lstrip("\ufeff")))
        except json.JSONDecodeError:
            continue
    return out


def jsonl_units(root: Path, detect: Callable[[Path], bool]) -> list[Path]:
    """The adapter's units under root: `root` itself when it is a file the adapter recognizes, else
    every recognized *.jsonl below it, sorted (the discover() of the JSONL-per-session adapters)."""
    if root.is_file():
        return [root] if detect(root) else []
    return sorted(p for p in root.rglob("*.jsonl") if detect(p))


def iter_jsonl(path: Path, display: str, ledger: Ledger) -> Iterator[tuple[str, Any]]:
    """(origin, row) for every parsable line; each line is registered in the ledger, and blank,
    non-UTF-8 or invalid-JSON lines are settled there (skipped / quarantined) and not yielded."""
    if is_zstd(path):
        with tempfile.TemporaryDirectory(prefix="ingest-zstd-") as tmp:
            plain = Path(tmp) / "plain.jsonl"
            try:
                with open(path, "rb") as src, open(plain, "wb") as dst:
                    zstandard.ZstdDecompressor().copy_stream(src, dst)
            except zstandard.ZstdError as exc:
                raise IngestError(f"{display}: corrupt zstd archive ({exc})") from None
            yield from _settle(read_lines(plain, display), ledger)
        return
    yield from _settle(read_lines(path, display), ledger)


def iter_jsonl_bytes(data: bytes, display: str, ledger: Ledger) -> Iterator[tuple[str, Any]]:
    """Like iter_jsonl for an in-memory JSONL blob (e.g. a SQLite cold archive)."""
    with tempfile.TemporaryDirectory(prefix="ingest-blob-") as tmp:
        plain = Path(tmp) / "blob.jsonl"
        plain.write_bytes(data)
        yield from _settle(read_lines(plain, display), ledger)


def _settle(lines: Iterator[RawLine], ledger: Ledger) -> Iterator[tuple[str, Any]]:
    for line in lines:
        ledger.row(line.origin)
        if line.blank:
            ledger.skip(line.origin, "blank_line")
        elif line.reason:
            ledger.quarantined(line.origin, line.reason, line.detail)
        else:
            yield line.origin, line.row


def read_json_file(path: Path, display: str, ledger: Ledger) -> Any | None:
    """One JSON document = one row; unreadable ones are quarantined and return None."""
    ledger.row(display)
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        ledger.quarantined(display, "invalid_utf8", f"byte at offset {exc.start}")
        return None
    except OSError as exc:
        ledger.quarantined(display, "unreadable", exc.strerror or "cannot read")
        return None
    try:
        return json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        ledger.quarantined(display, "invalid_json", f"{exc.msg} at line {exc.lineno} column {exc.colno}")
        return None


def sqlite_error(path: Path | str, exc: sqlite3.Error) -> IngestError:
    msg = str(exc)
    if "locked" in msg or "busy" in msg:
        why = "database is locked by another process (stop the agent or copy the file, then retry)"
    elif "not a database" in msg or "malformed" in msg or "encrypted" in msg:
        why = f"not a readable SQLite database, corrupt or not SQLite ({msg})"
    elif "unable to open" in msg:
        why = f"cannot open the database read-only ({msg})"
    else:
        why = f"SQLite error: {msg}"
    return IngestError(f"{path}: {why}")


@contextmanager
def open_sqlite_ro(path: Path) -> Iterator[sqlite3.Connection]:
    """Read-only (mode=ro URI, never writes or creates), and probed once so a locked or corrupt file
    fails here with a message naming it."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    try:
        con = sqlite3.connect(uri, uri=True, timeout=LOCK_TIMEOUT_S)
    except sqlite3.Error as exc:
        raise sqlite_error(path, exc) from None
    try:
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.Error as exc:
            raise sqlite_error(path, exc) from None
        yield con
    finally:
        con.close()


def tables(con: sqlite3.Connection) -> dict[str, set[str]]:
    """table name -> column names."""
    out: dict[str, set[str]] = {}
    for (name,) in con.execute("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").fetchall():
        out[name] = {row[1] for row in con.execute(f'PRAGMA table_info("{name}")').fetchall()}
    return out


def sqlite_tables(path: Path) -> dict[str, set[str]] | None:
    """Tables of a SQLite file for detection; {} when it is not SQLite, None when it is SQLite but
    cannot be read now (locked, corrupt): adapters then claim it by name so the error is reported."""
    if not is_sqlite(path):
        return {}
    try:
        with open_sqlite_ro(path) as con:
            return tables(con)
    except (IngestError, sqlite3.Error):
        return None
