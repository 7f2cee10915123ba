"""The real pipeline on the shipped sample traces and the embedded SmolLM2-135M (a few steps)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import make_project, run

pytestmark = pytest.mark.slow

FAKE_SECRET = re.compile(r"AKIA[0-9A-Z]{16}|ghp_[A-Za-z0-9]{36}|sk-proj-[A-Za-z0-9]{20,}|xox[abp]-\d")


def test_full_protocol_with_smollm2(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "p", {
        "train.max_steps": 3, "train.per_device_batch_size": 2, "train.max_length": 256, "train.logging_steps": 1,
        "eval.max_examples": 4, "eval.max_new_tokens": 8, "eval.batch_size": 4,
    })
    out = run(["dvc", "repro"], proj, timeout=1500).stdout
    for stage in ("build", "base_model", "train", "evaluate", "gate"):
        assert f"Running stage '{stage}'" in out
    assert "== gate ==" in out

    base_cfg = json.loads((proj / "models/base/config.json").read_text())
    assert base_cfg["model_type"] == "llama" and "quantization_config" not in base_cfg
    assert (proj / "models/base/model.safetensors").exists() and (proj / "models/base/chat_template.jinja").exists()

    manifest = json.loads((proj / "data/dataset/dataset_manifest.json").read_text())
    c = manifest["counts"]
    assert c["read"] == c["kept"] + c["quarantined"] + c["filtered"] + c["duplicates"]
    assert c["quarantined"] >= 6 and manifest["gates"]["redaction_ok"] is True and c["redactions"] > 0

    train = json.loads((proj / "metrics/train.json").read_text())
    assert train["method"] == "lora" and train["device"] == "cpu" and train["steps"] == 3
    results = json.loads((proj / "metrics/eval_results.json").read_text())
    assert results["n_examples"] == 4
    decision = json.loads((proj / "metrics/gate_decision.json").read_text())
    assert isinstance(decision["promote"], bool) and len(decision["checks"]) == 5

    for path in [*(proj / "data/dataset").iterdir(), *(proj / "metrics").iterdir(), proj / "reports/predictions.jsonl"]:
        assert not FAKE_SECRET.search(path.read_text(encoding="utf-8")), path

    again = run(["dvc", "repro"], proj).stdout
    assert "Running stage" not in again
