"""Every JSONL reader goes through tracelora.formats.jsonl: a bad line (malformed JSON, a
non-UTF-8 byte, an unpaired surrogate escape) is reported as `path:line: <reason> (<detail>)`
in the caller's own exception type, and good files read exactly as before."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from tracelora.dataset.synthesis import SeedError, load_templates
from tracelora.formats.jsonl import JsonlError, read_rows, strict_lines
from tracelora.ops import counterexamples
from tracelora.formats.shards import DataError, load_records

RECORD = {"messages": [{"role": "user", "content": "Fix the parser"}, {"role": "assistant", "content": "Fixed it."}]}
TEMPLATE = {"template_id": "t1", "task_category": "bugfix", "slots": {"f": ["a.py", "b.py"]},
            "messages": [{"role": "user", "content": "Fix {f}"}, {"role": "assistant", "content": "Fixed {f}."}]}
BAD_LINES = {  # reason -> a second line that must be rejected with that reason
    "invalid_json": b'{"messages": [half an edit\n',
    "invalid_utf8": b'{"note": "caf\xe9"}\n',
    "invalid_unicode": b'{"note": "lone \\ud800 escape"}\n',
}
READERS: dict[str, tuple[dict[str, Any], type[Exception], Callable[[Path], Any]]] = {
    "read_rows": ({"a": 1}, JsonlError, lambda p: list(read_rows(p))),
    "load_records": (RECORD, DataError, lambda p: load_records([str(p)])),
    "load_templates": (TEMPLATE, SeedError, load_templates),
    "read_existing": ({"counterexample_id": "a"}, ValueError, counterexamples.read_existing),
}


def _file(tmp_path: Path, first: dict[str, Any], second: bytes) -> Path:
    path = tmp_path / "f.jsonl"
    path.write_bytes(json.dumps(first).encode() + b"\n\n" + second)  # the blank line still counts
    return path


@pytest.mark.parametrize("reason", BAD_LINES)
@pytest.mark.parametrize("reader", READERS)
def test_each_reader_names_file_line_and_reason(tmp_path: Path, reader: str, reason: str) -> None:
    good, error, read = READERS[reader]
    path = _file(tmp_path, good, BAD_LINES[reason])
    with pytest.raises(error) as exc:
        read(path)
    assert str(exc.value).startswith(f"{path}:3: {reason} ("), str(exc.value)


def test_the_strict_error_carries_its_parts(tmp_path: Path) -> None:
    path = _file(tmp_path, {"a": 1}, BAD_LINES["invalid_utf8"])
    with pytest.raises(JsonlError) as exc:
        list(read_rows(path))
    assert (exc.value.origin, exc.value.reason, exc.value.detail) == (f"{path}:3", "invalid_utf8", "byte 0xe9 at column 14")
    assert isinstance(exc.value, ValueError)


def test_read_rows_yields_rows_in_order_with_origins_and_skips_blanks(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"a": 1}\r\n\n  \n[2, 3]\n"s"')  # BOM, CRLF, blanks, no final newline
    assert list(read_rows(path)) == [(f"{path}:1", {"a": 1}), (f"{path}:4", [2, 3]), (f"{path}:5", "s")]
    assert list(read_rows(path, display="x.jsonl"))[0][0] == "x.jsonl:1"


def test_strict_lines_keeps_the_text_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_bytes(b'{ "a" :  1 }\r\n{"b":2}')
    assert [ln.text for ln in strict_lines(path, keep_text=True)] == ['{ "a" :  1 }', '{"b":2}']
    assert [ln.text for ln in strict_lines(path)] == ["", ""]


def test_load_records_reads_shards_and_keeps_its_own_errors(tmp_path: Path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(RECORD) + "\n\n" + json.dumps(RECORD) + "\n")
    b.write_text(json.dumps({**RECORD, "messages": RECORD["messages"][:1] + [{"role": "user", "content": "again"}]}) + "\n")
    recs = load_records([str(a)])
    assert len(recs) == 2 and recs[0]["messages"] == RECORD["messages"]
    assert recs[0]["metadata"]["origin"] == f"{a}:1" and recs[1]["metadata"]["origin"] == f"{a}:3"
    (tmp_path / "e.jsonl").write_text("\n \n")
    with pytest.raises(DataError, match="e.jsonl: empty shard"):
        load_records([str(tmp_path / "e.jsonl")])
    bad = tmp_path / "c.jsonl"
    bad.write_text(json.dumps(RECORD) + '\n{"messages": 5}\n')
    with pytest.raises(DataError, match=f"^{bad}:2: bad_messages"):
        load_records([str(bad)])


def test_seed_templates_are_read_in_order_and_their_checks_still_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps(TEMPLATE) + "\n\n" + json.dumps({**TEMPLATE, "template_id": "t2"}) + "\n")
    assert [t.template_id for t in load_templates(path)] == ["t1", "t2"]
    assert load_templates(path)[0].slots == TEMPLATE["slots"]
    assert load_templates(tmp_path / "absent.jsonl") == []
    path.write_text(json.dumps(TEMPLATE) + "\n" + json.dumps({"template_id": "x"}) + "\n")
    with pytest.raises(SeedError, match=f"^{path}:2: missing key 'task_category'"):
        load_templates(path)


def test_read_existing_keeps_lines_verbatim(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_bytes(b'{ "counterexample_id" : "b",  "x": "caf\xc3\xa9" }\r\n\n{"counterexample_id": 7}\n')
    lines, ids = counterexamples.read_existing(path)
    assert lines == ['{ "counterexample_id" : "b",  "x": "café" }', '{"counterexample_id": 7}'] and ids == {"b"}
    path.write_text('{"counterexample_id": "a"}\n[1]\n')
    with pytest.raises(ValueError, match=f"^{path}:2: not a JSON object; fix or remove the line, nothing was written"):
        counterexamples.read_existing(path)


@pytest.mark.parametrize("reason", BAD_LINES)
def test_counterexamples_cli_reports_file_line_and_writes_nothing(tmp_path: Path, capsys, reason: str) -> None:
    preds = _file(tmp_path, {"id": "x"}, BAD_LINES[reason])
    out = tmp_path / "out" / "counterexamples.jsonl"
    assert counterexamples.main(["--predictions", str(preds), "--out", str(out)]) == 2
    assert f"error: {preds}:3: {reason} (" in capsys.readouterr().err and not out.exists()
    out.parent.mkdir()
    out.write_bytes(b'{"counterexample_id": "a"}\n' + BAD_LINES[reason])
    before = out.read_bytes()
    preds.write_text("")
    assert counterexamples.main(["--predictions", str(preds), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"error: {out}:2: {reason} (" in err and "nothing was written" in err and out.read_bytes() == before
