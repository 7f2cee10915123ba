"""`data.hf_datasets`: a Hugging Face dataset saved on disk is read by build, offline, as extra traces."""
from __future__ import annotations

import json
from pathlib import Path

from conftest import ROOT, write_jsonl

from stages import build


def test_hf_dataset_rows_join_the_build_with_their_source(tmp_path: Path, capsys) -> None:
    import datasets

    rows = [{"messages": [{"role": "user", "content": f"How do I list the files changed in commit number {i}?"},
                          {"role": "assistant", "content": f"`git show --stat HEAD~{i}` lists them."}]} for i in range(6)]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "hf_chats"))
    raw = tmp_path / "raw"
    write_jsonl(raw / "one.jsonl", [{"user": "What does `make test` run in this repo?",
                                     "assistant": "The whole pytest suite, slow tests included."}])
    params = tmp_path / "params.yaml"
    params.write_text(json.dumps({"data": {"min_examples": 1, "synthetic_ratio": 0, "adversarial_ratio": 0,
                                           "near_dedup": False,  # the rows differ by one number on purpose
                                           "hf_datasets": [str(tmp_path / "hf_chats")]}}))
    args = ["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(tmp_path / "out"),
            "--metrics", str(tmp_path / "m.json"), "--params", str(params)]
    assert build.main(args) == 0
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["read"] == 7 and metrics["kept"] == 7
    assert metrics["by_source"] == {f"hf:{tmp_path / 'hf_chats'}": 6, "raw": 1}

    params.write_text(json.dumps({"data": {"min_examples": 1, "hf_datasets": [str(tmp_path / "missing")]}}))
    capsys.readouterr()
    assert build.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: data.hf_datasets:") and "missing" in err[0]
