"""Checkpoints survive an interrupted run and the re-run resumes from the newest one."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, env, write_jsonl

from tracelora.common.params import TrainParams
from tracelora.model.training import TokenizedSet, last_complete_checkpoint, prepare_checkpoints, run_fingerprint


def test_checkpoints_of_another_run_are_discarded(tmp_path: Path) -> None:
    rows = TokenizedSet(rows=[{"input_ids": [1, 2, 3], "assistant_masks": [0, 1, 1]}])
    fp = run_fingerprint(TrainParams(), tmp_path, rows)
    assert fp == run_fingerprint(TrainParams(save_steps=7, dataloader_num_workers=2), tmp_path, rows)
    assert fp != run_fingerprint(TrainParams(learning_rate=1e-4), tmp_path, rows)
    ck = tmp_path / "ck"
    assert prepare_checkpoints(ck, fp, True) == (None, "")
    (ck / "checkpoint-4").mkdir()
    (ck / "checkpoint-4" / "trainer_state.json").write_text('{"global_step": 4}')
    (ck / "checkpoint-6").mkdir()
    (ck / "checkpoint-6" / "trainer_state.json").write_text('{"global_st')  # killed while writing
    assert last_complete_checkpoint(ck) == ck / "checkpoint-4"
    assert prepare_checkpoints(ck, fp, True)[0] == ck / "checkpoint-4"
    resume, why = prepare_checkpoints(ck, "other", True)
    assert resume is None and "different run" in why and not (ck / "checkpoint-4").exists()


@pytest.mark.slow
def test_killed_run_resumes_from_its_last_checkpoint(tmp_path: Path, tiny_model_dir: Path) -> None:
    rows = [{"id": f"{i:064x}", "messages": [{"role": "user", "content": f"Fix `mod_{i}.py`"},
                                             {"role": "assistant", "content": f"Fixed `mod_{i}.py`: {i} passed."}],
             "metadata": {"origin": f"x:{i}"}} for i in range(16)]
    write_jsonl(tmp_path / "data" / "train.jsonl", rows[:12])
    write_jsonl(tmp_path / "data" / "val.jsonl", rows[12:])
    (tmp_path / "params.yaml").write_text(
        "train: {max_steps: 14, save_steps: 3, per_device_batch_size: 2, gradient_accumulation_steps: 1, "
        "max_length: 64, logging_steps: 1, checkpoint_dir: ck}\n")
    cmd = [sys.executable, "-m", "tracelora", "train", "--data", str(tmp_path / "data"), "--base", str(tiny_model_dir),
           "--out", str(tmp_path / "adapter"), "--metrics", str(tmp_path / "train.json"),
           "--plots", str(tmp_path / "curve.json"), "--params", str(tmp_path / "params.yaml")]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 100
    while last_complete_checkpoint(tmp_path / "ck") is None and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)  # an interrupt: no cleanup, no outputs
    proc.wait()
    first = last_complete_checkpoint(tmp_path / "ck")
    assert first is not None and not (tmp_path / "train.json").exists(), "the run finished before it was interrupted"
    step = int(first.name.split("-")[1])

    done = subprocess.run(cmd, cwd=ROOT, env=env(), capture_output=True, text=True, timeout=110)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "resuming from" in done.stderr
    m = json.loads((tmp_path / "train.json").read_text())
    assert m["steps"] == 14 and m["resumed_from_step"] >= step >= 3
    curve = json.loads((tmp_path / "curve.json").read_text())
    assert [c["step"] for c in curve] == list(range(1, 15))  # whole, no duplicated steps
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()
    assert not (tmp_path / "ck").exists()  # removed after success (keep_checkpoints: false)
