"""The multi-process path: `train.launcher: accelerate` with 2 CPU processes (gloo) on a tiny model."""
from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, env, write_jsonl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_cpu_processes_train_one_adapter(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"id": f"{i:064x}", "messages": [{"role": "user", "content": f"Fix `mod_{i}.py`"},
                                             {"role": "assistant", "content": f"Fixed `mod_{i}.py`: {i} passed."}],
             "metadata": {"origin": f"x:{i}"}} for i in range(12)]
    write_jsonl(tmp_path / "data" / "train.jsonl", rows[:8])
    write_jsonl(tmp_path / "data" / "val.jsonl", rows[8:])
    cfg = (ROOT / "configs" / "accelerate" / "cpu_multiprocess.yaml").read_text()
    (tmp_path / "accel.yaml").write_text(cfg.replace("main_process_port: 29517", f"main_process_port: {_free_port()}"))
    (tmp_path / "params.yaml").write_text(
        "train: {max_steps: 3, per_device_batch_size: 2, gradient_accumulation_steps: 1, max_length: 64, "
        f"logging_steps: 1, save_steps: 2, launcher: accelerate, accelerate_config: {tmp_path / 'accel.yaml'}}}\n")
    cmd = [sys.executable, "-m", "tracelora", "train", "--data", str(tmp_path / "data"), "--base", str(tiny_model_dir),
           "--out", str(tmp_path / "adapter"), "--metrics", str(tmp_path / "train.json"),
           "--plots", str(tmp_path / "curve.json"), "--params", str(tmp_path / "params.yaml")]
    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=115)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "launching: accelerate launch" in done.stderr
    m = json.loads((tmp_path / "train.json").read_text())
    assert m["world_size"] == 2 and m["distributed_backend"] == "gloo" and m["steps"] == 3
    # 3 steps x 2 processes x 2 examples, gathered over both ranks (each example is ~53 tokens with the
    # template's default system prompt): twice what one process sees
    assert 12 * 50 <= m["tokens_seen"] <= 12 * 56
    assert done.stdout.count("== train ==") == 1  # rank 0 alone reports and writes
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
