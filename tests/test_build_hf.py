"""Hugging Face datasets reach the build one way: `tracelora hub import-dataset` writes redacted trace
files under data/raw_traces/hf/ (a local save_to_disk dir, a local dir of data files, a repo in the
Hub cache, offline), and build reads them like any trace. Also the row readers, tracelora.formats.hf."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, write_jsonl
from fake_hub import FakeHub

from tracelora.formats.hf import (HFDataError, is_saved_dataset, iter_dataset_rows, iter_file_rows, saved_splits,
                                  split_of)
from tracelora.ops.hub.importer import import_dataset
from tracelora.stages import build


def _chats(n: int, what: str) -> list[dict]:
    return [{"messages": [{"role": "user", "content": f"How do I list the files changed in {what} number {i}?"},
                          {"role": "assistant", "content": f"`git show --stat HEAD~{i}` lists them ({what})."}]}
            for i in range(n)]


def _build(tmp: Path, raw: Path) -> dict:
    params = tmp / "params.yaml"
    params.write_text(json.dumps({"data": {"min_examples": 1, "synthetic_ratio": 0, "adversarial_ratio": 0,
                                           "near_dedup": False}}))  # the rows differ by one number on purpose
    assert build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(tmp / "out"),
                       "--metrics", str(tmp / "m.json"), "--params", str(params)]) == 0
    return json.loads((tmp / "m.json").read_text())


def test_imported_datasets_join_the_build_with_their_source(tmp_path: Path) -> None:
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq
    from huggingface_hub import snapshot_download

    raw, reports = tmp_path / "raw", tmp_path / "reports"
    write_jsonl(raw / "one.jsonl", [{"user": "What does `make test` run in this repo?",
                                     "assistant": "The whole pytest suite, slow tests included."}])
    datasets.Dataset.from_list(_chats(6, "saved commit")).save_to_disk(str(tmp_path / "hf_chats"))
    files = tmp_path / "exports"
    files.mkdir()
    pq.write_table(pa.Table.from_pylist(_chats(2, "parquet commit")), files / "train.parquet")
    write_jsonl(files / "data/validation.jsonl", _chats(3, "jsonl commit"))
    with FakeHub() as hub:
        hub.add_repo("dataset", "acme/traces", {"data/train-00000.jsonl": "".join(json.dumps(r) + "\n"
                                                                                  for r in _chats(4, "hub commit"))})
        cache = tmp_path / "hub_cache"
        snapshot_download("acme/traces", repo_type="dataset", cache_dir=cache, endpoint=hub.url, token=False)
        n_requests = len(hub.state.requests)
        results = [import_dataset(str(tmp_path / "hf_chats"), raw, reports),
                   import_dataset(str(files), raw, reports),
                   import_dataset("acme/traces", raw, reports, offline=True, cache_dir=cache)]
        assert len(hub.state.requests) == n_requests  # offline: the import asked the Hub nothing
    assert [(r.name, r.converted, r.quarantined) for r in results] == [("hf_chats", 6, 0), ("exports", 5, 0),
                                                                        ("acme/traces", 4, 0)]
    assert sorted(p.relative_to(raw).as_posix() for p in raw.rglob("*.jsonl")) == [
        "hf/acme__traces/data__train-00000.jsonl", "hf/exports/data__validation.jsonl", "hf/exports/train.jsonl",
        "hf/hf_chats/train.jsonl", "one.jsonl"]

    metrics = _build(tmp_path, raw)
    assert metrics["read"] == 16 and metrics["kept"] == 16 and metrics["redaction_ok"] is True
    assert metrics["by_source"] == {"hf:acme/traces": 4, "hf:exports": 5, "hf:hf_chats": 6, "raw": 1}


def test_import_errors_are_one_line_naming_the_path(tmp_path: Path) -> None:
    from tracelora.ops.hub.client import HubError

    with pytest.raises(HubError, match=r"^/nowhere/at/all: no such directory$"):
        import_dataset("/nowhere/at/all", tmp_path / "raw", tmp_path / "rep")
    (tmp_path / "empty").mkdir()
    with pytest.raises(HubError, match=r"^empty: no data files \(.*\) among 0 file\(s\)"):
        import_dataset(str(tmp_path / "empty"), tmp_path / "raw", tmp_path / "rep")
    with pytest.raises(HubError, match=r"^acme/gone@main: not in the local Hub cache"):
        import_dataset("acme/gone", tmp_path / "raw", tmp_path / "rep", offline=True, cache_dir=tmp_path / "cache")
    assert not (tmp_path / "raw").exists()


# --- the row readers (tracelora.formats.hf) ---
def test_saved_dataset_rows(tmp_path: Path) -> None:
    import datasets

    saved = tmp_path / "saved"
    ds = datasets.Dataset.from_list([{"user": f"question {i}?", "assistant": f"answer {i}.", "n": i} for i in range(3)])
    ds.with_format("numpy").save_to_disk(saved)  # a saved format must not leak numpy values into rows
    assert is_saved_dataset(saved) and not is_saved_dataset(tmp_path)
    splits = saved_splits(saved)
    assert list(splits) == ["train"]
    rows = list(iter_dataset_rows(splits["train"], "hf:saved/train"))
    assert [r.origin for r in rows] == ["hf:saved/train:1", "hf:saved/train:2", "hf:saved/train:3"]
    assert rows[1].row == {"user": "question 1?", "assistant": "answer 1.", "n": 1} and type(rows[1].row["n"]) is int

    with pytest.raises(HFDataError, match=r"not a saved Hugging Face dataset"):
        saved_splits(tmp_path / "missing")
    (saved / "state.json").write_text("{")
    with pytest.raises(HFDataError) as exc:
        saved_splits(saved)
    assert str(exc.value).startswith(f"{saved}: cannot read as a saved Hugging Face dataset") and "\n" not in str(exc.value)


def test_file_rows_cost_a_row_not_the_file(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    (tmp_path / "a.jsonl").write_text('{"x": 1}\n{bad\n\n{"x": 2}\n')
    assert [(r.origin, r.reason or r.row, r.blank) for r in iter_file_rows(tmp_path / "a.jsonl", "a")] == [
        ("a:1", {"x": 1}, False), ("a:2", "invalid_json", False), ("a:3", None, True), ("a:4", {"x": 2}, False)]
    (tmp_path / "b.json").write_text('{"data": [{"x": 1}, {"x": 2}]}')
    assert [(r.origin, r.row) for r in iter_file_rows(tmp_path / "b.json", "b")] == [("b:1", {"x": 1}), ("b:2", {"x": 2})]
    (tmp_path / "c.csv").write_text('q,a\n"hi","[1, 2]"\n')
    assert [(r.origin, r.row) for r in iter_file_rows(tmp_path / "c.csv", "c")] == [("c:2", {"q": "hi", "a": [1, 2]})]
    (tmp_path / "d.parquet").write_bytes(b"PAR1 truncated")
    [bad] = iter_file_rows(tmp_path / "d.parquet", "d")
    assert (bad.origin, bad.reason) == ("d:0", "unreadable_file") and "Parquet" in bad.detail
    table = pa.Table.from_pylist([{"x": i} for i in range(3)])
    pq.write_table(table, tmp_path / "e.parquet")
    assert [r.row for r in iter_file_rows(tmp_path / "e.parquet", "e")] == [{"x": 0}, {"x": 1}, {"x": 2}]
    with pa.OSFile(str(tmp_path / "f.arrow"), "wb") as sink, pa.ipc.new_file(sink, table.schema) as w:  # file format too
        w.write_table(table)
    assert [r.origin for r in iter_file_rows(tmp_path / "f.arrow", "f")] == ["f:1", "f:2", "f:3"]
    (tmp_path / "g.arrow").write_bytes(b"not arrow")
    [bad] = iter_file_rows(tmp_path / "g.arrow", "g")
    assert (bad.origin, bad.reason) == ("g:0", "unreadable_file")
    (tmp_path / "h.jsonl").mkdir()  # unreadable: one row naming it, no traceback
    [bad] = iter_file_rows(tmp_path / "h.jsonl", "h")
    assert (bad.origin, bad.reason) == ("h:0", "unreadable_file")
    with pytest.raises(HFDataError, match=r"^x\.txt: unsupported file type '\.txt'"):
        list(iter_file_rows(tmp_path / "x.txt", "x.txt"))


def test_a_parquet_that_breaks_mid_file_keeps_the_rows_before(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{"text": "x" * 200} for _ in range(2000)]), path, row_group_size=1024,
                   compression="none")
    data = bytearray(path.read_bytes())
    first_group_end = pq.ParquetFile(path).metadata.row_group(1).column(0).data_page_offset
    data[first_group_end + 40:first_group_end + 400] = b"\xff" * 360  # corrupt the second row group's pages
    path.write_bytes(bytes(data))
    rows = list(iter_file_rows(path, "t"))
    assert [r.origin for r in rows[:2]] == ["t:1", "t:2"] and all(r.row for r in rows[:1024])
    assert rows[-1].reason == "unreadable_file" and rows[-1].origin == f"t:{len(rows)}" and len(rows) <= 1025
    assert "\n" not in rows[-1].detail


def test_a_row_source_that_fails_ends_in_one_quarantined_row() -> None:
    def shard():
        yield {"x": 1}
        yield {"x": 2}
        raise OSError("shard vanished\nmid-read")

    rows = list(iter_dataset_rows(shard(), "hf:d/train"))
    assert [(r.origin, r.reason) for r in rows] == [("hf:d/train:1", ""), ("hf:d/train:2", ""),
                                                    ("hf:d/train:3", "unreadable_file")]
    assert rows[-1].detail == "corrupt dataset shard (OSError: shard vanished mid-read)"


def test_split_of_hub_layouts() -> None:
    assert [split_of(p) for p in ("train.jsonl", "data/train-00000-of-00001.parquet", "data/test/x.csv", "dev_1.json",
                                  "valid.jsonl", "notes.jsonl")] == ["train", "train", "test", "validation",
                                                                     "validation", None]
