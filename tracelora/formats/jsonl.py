"""The project's one JSONL reader: every JSONL file (raw traces, seeds, shards, predictions) is
decoded here, so there is one set of reasons and one `path:line` error format.

`read_lines` streams raw input without ever raising on bad input: every physical line becomes
exactly one `RawLine`, a parsed row or a reason it could not be parsed. Bytes are decoded per
line, so one non-UTF-8 byte costs one line, not the file. `read_rows` / `strict_lines` are the
strict variants, built on it, for files that must be whole: the first bad line raises `JsonlError`.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 4x, once per input line
class RawLine:
    origin: str  # "path:line" (1-based), what every error message and quarantine entry names
    row: Any = None
    reason: str = ""  # empty when `row` parsed; else a stable key such as "invalid_json"
    detail: str = ""
    blank: bool = False
    text: str = ""  # the decoded line without its terminator; only kept with read_lines(keep_text=True)


class JsonlError(ValueError):
    """The first bad line of a file that must be whole: "path:line: <reason> (<detail>)"."""

    def __init__(self, line: RawLine) -> None:
        super().__init__(f"{line.origin}: {line.reason} ({line.detail})")
        self.origin, self.reason, self.detail = line.origin, line.reason, line.detail


def find_trace_files(root: str | Path) -> list[Path]:
    """All *.jsonl under root, sorted so the build order (and thus every output) is deterministic."""
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*.jsonl") if p.is_file())


def read_lines(path: str | Path, display: str | None = None, start: int = 0, end: int | None = None,
               first_line: int = 1, keep_text: bool = False) -> Iterator[RawLine]:
    """Lines of `path`, or of the byte range [start, end) that begins at line `first_line`
    (ranges are cut at line starts by the build's planner, so workers can share one file).
    `keep_text` also keeps each parsed line's text, for a caller that writes lines back verbatim."""
    name = display or str(path)
    with open(path, "rb") as fh:
        fh.seek(start)
        pos = start
        for lineno, raw in enumerate(fh, start=first_line):
            if end is not None and pos >= end:
                break
            pos += len(raw)
            origin = f"{name}:{lineno}"
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                yield RawLine(origin, reason="invalid_utf8", detail=f"byte 0x{raw[exc.start]:02x} at column {exc.start + 1}")
                continue
            text = text.lstrip("\ufeff") if lineno == 1 else text
            if not text.strip():
                yield RawLine(origin, blank=True)
                continue
            try:
                row = json.loads(text)
            except json.JSONDecodeError as exc:
                yield RawLine(origin, reason="invalid_json", detail=f"{exc.msg} at column {exc.colno}")
                continue
            except RecursionError:
                yield RawLine(origin, reason="invalid_json", detail="nested too deeply")
                continue
            if "\\u" in text and _SURROGATE_ESCAPE.search(text) and (bad := _unpaired_surrogate(row)):
                yield RawLine(origin, reason="invalid_unicode", detail=f"unpaired surrogate escape \\u{bad:04x}")
                continue
            yield RawLine(origin, row=row, text=text.rstrip("\r\n") if keep_text else "")


def strict_lines(path: str | Path, display: str | None = None, keep_text: bool = False) -> Iterator[RawLine]:
    """The parsed lines of a file that must be whole (blank lines skipped): raises `JsonlError` at
    the first bad line instead of yielding it, so no caller re-implements decoding or its messages."""
    for line in read_lines(path, display, keep_text=keep_text):
        if line.reason:
            raise JsonlError(line)
        if not line.blank:
            yield line


def read_rows(path: str | Path, display: str | None = None) -> Iterator[tuple[str, Any]]:
    """(origin "path:line", row) for each row of a file that must be whole; `JsonlError` on the
    first bad line. This is the reader for files the project wrote (shards, predictions) or a
    person edits (seeds, counterexamples). It lives here, not in common.io, because common must
    not import formats, and a second decoder there would drift from `read_lines`."""
    for line in strict_lines(path, display):
        yield line.origin, line.row


def _unpaired_surrogate(row: Any) -> int:
    """The first unpaired UTF-16 surrogate (from a `\\udXXX` escape) in a parsed row, else 0. JSON
    allows the escape, but the text cannot be written as UTF-8, so the row cannot be kept."""
    try:
        json.dumps(row, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as exc:
        return ord(exc.object[exc.start])
    return 0
