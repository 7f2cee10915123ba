"""Packing / padding-free keep attention inside each example; loader knobs apply or warn; shards are validated."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import write_jsonl

from tracelora.common.params import TrainParams
from tracelora.model.packing import loader_settings, packing_settings


def test_padding_free_batch_attends_only_within_each_example(tiny_model_dir: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    a, b = list(range(100, 111)), list(range(200, 207))
    batch = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(
        [{"input_ids": a, "labels": a}, {"input_ids": b, "labels": b}])
    assert batch["position_ids"].tolist() == [list(range(11)) + list(range(7))] and "attention_mask" not in batch
    with torch.no_grad():
        # use_cache=False as TRL's compute_loss passes it: only then does transformers derive the
        # block-diagonal mask from position_ids
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits[0]
        alone_a = model(input_ids=torch.tensor([a])).logits[0]
        alone_b = model(input_ids=torch.tensor([b])).logits[0]
        leaky = model(input_ids=batch["input_ids"], use_cache=False).logits[0]  # no boundaries: b would see a
    torch.testing.assert_close(packed[:11], alone_a, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(packed[11:], alone_b, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(leaky[11:], alone_b, atol=1e-3)
    assert batch["labels"][0, 11].item() == -100  # no loss predicting b's first token from a


def test_packing_settings() -> None:
    assert packing_settings(TrainParams()) == {"packing": False, "padding_free": False, "max_length": 384}
    assert packing_settings(TrainParams(packing=True))["packing_strategy"] == "bfd"
    assert packing_settings(TrainParams(padding_free=True)) == {"packing": False, "padding_free": True, "max_length": None}


def test_loader_knobs_apply_where_they_can_and_warn_where_they_cannot() -> None:
    p = TrainParams(map_num_proc=4, dataloader_num_workers=2, prefetch_factor=4, persistent_workers=True, pin_memory=True)
    kw, warnings = loader_settings(p, cuda=True, cpu_count=8)
    assert kw == {"dataloader_num_workers": 2, "dataloader_persistent_workers": True, "dataloader_prefetch_factor": 4,
                  "dataloader_pin_memory": True, "dataset_num_proc": 4} and warnings == []
    kw, warnings = loader_settings(TrainParams(map_num_proc=4, prefetch_factor=4, persistent_workers=True, pin_memory=True),
                                   cuda=False, cpu_count=2)
    assert kw["dataloader_prefetch_factor"] is None and kw["dataloader_persistent_workers"] is False
    assert kw["dataloader_pin_memory"] is False
    assert [w.split(" ")[0] for w in warnings] == ["train.map_num_proc=4", "train.prefetch_factor", "train.persistent_workers",
                                                   "train.pin_memory"]
    assert loader_settings(TrainParams(), cuda=True, cpu_count=2)[0]["dataloader_pin_memory"] is True  # auto


def _rows(n: int, tag: str) -> list[dict]:
    return [{"id": f"{tag}{i:063x}", "messages": [{"role": "user", "content": f"Fix `mod_{i}.py` please"},
                                                  {"role": "assistant", "content": f"Fixed `mod_{i}.py`: {i} passed."}],
             "metadata": {"source": "raw", "origin": f"{tag}:{i}"}} for i in range(n)]


def _train(tmp: Path, model: Path, params: str) -> tuple[int, str]:
    from tracelora.stages import train

    (tmp / "params.yaml").write_text(params)
    return train.main(["--data", str(tmp / "data"), "--base", str(model), "--out", str(tmp / "adapter"),
                       "--metrics", str(tmp / "train.json"), "--plots", str(tmp / "curve.json"),
                       "--live", str(tmp / "live"), "--params", str(tmp / "params.yaml")]), ""


@pytest.mark.parametrize("problem, message", [
    ("missing", "disk2/*.jsonl: no file matches"),
    ("empty", "empty.jsonl: empty shard (no records)"),
    ("dir", "is a directory"),
])
def test_bad_shards_are_one_clear_error(tmp_path: Path, tiny_model_dir: Path, capsys, problem: str, message: str) -> None:
    write_jsonl(tmp_path / "disk1" / "a.jsonl", _rows(2, "a"))
    (tmp_path / "empty.jsonl").write_text("\n")
    (tmp_path / "adir").mkdir()
    extra = {"missing": f"{tmp_path}/disk2/*.jsonl", "empty": f"{tmp_path}/empty.jsonl", "dir": f"{tmp_path}/adir"}[problem]
    rc, _ = _train(tmp_path, tiny_model_dir, f"train: {{train_files: ['{tmp_path}/disk1/*.jsonl', '{extra}']}}\n")
    err = capsys.readouterr().err
    assert rc == 2 and message in err and "Traceback" not in err
    assert not (tmp_path / "adapter").exists()


def test_packed_training_on_shards_across_disks_with_dvclive_curves(tmp_path: Path, tiny_model_dir: Path) -> None:
    write_jsonl(tmp_path / "disk1" / "a.jsonl", _rows(6, "a"))
    write_jsonl(tmp_path / "disk2" / "b.jsonl", _rows(6, "b"))
    write_jsonl(tmp_path / "val" / "v.jsonl", _rows(2, "c"))
    rc, _ = _train(tmp_path, tiny_model_dir,
                   f"train: {{train_files: ['{tmp_path}/disk*/*.jsonl'], val_files: ['{tmp_path}/val/v.jsonl'], "
                   "packing: true, max_steps: 3, per_device_batch_size: 2, gradient_accumulation_steps: 1, "
                   "max_length: 128, logging_steps: 1, save_steps: 0, map_num_proc: 2}\n")
    assert rc == 0
    m = json.loads((tmp_path / "train.json").read_text())
    assert m["packing"] is True and m["padding_free"] is True and m["steps"] == 3 and m["train_examples"] == 12
    # 12 short examples packed into 128-token rows: 2 rows per step cover all of them in fewer steps than unpacked
    assert m["tokens_seen"] > 0 and m["epochs"] >= 1.0
    loss = (tmp_path / "live" / "plots" / "metrics" / "train" / "loss.tsv").read_text().splitlines()
    lr = (tmp_path / "live" / "plots" / "metrics" / "train" / "learning_rate.tsv").read_text().splitlines()
    assert loss[0].split("\t") == ["step", "loss"] and [r.split("\t")[0] for r in loss[1:]] == ["1", "2", "3"]
    assert len(lr) == 4
    assert json.loads((tmp_path / "live" / "metrics.json").read_text())["final_loss"] == m["final_loss"]
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
    assert not (tmp_path / "adapter" / "training_args.bin").exists()
