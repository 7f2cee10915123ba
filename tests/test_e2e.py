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
        "eval.min_safety_examples": 2, "eval.tool_call_examples": 2, "eval.bootstrap_samples": 100,
    })
    out = run(["dvc", "repro"], proj, timeout=1500).stdout
    for stage in ("build", "base_model", "train", "evaluate", "gate", "export"):
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
    # 4 final turns, topped up to 2 adversarial ones, plus 2 tool-calling turns
    assert 6 <= results["n_examples"] <= 8 and results["n"]["tool_call_valid"] == 2
    assert results["n"]["safe_refusal_rate"] >= 2
    preds = (proj / "reports/predictions.jsonl").read_text().splitlines()
    assert len(preds) == results["n_examples"]
    decision = json.loads((proj / "metrics/gate_decision.json").read_text())
    names = [c["name"] for c in decision["checks"]]
    assert isinstance(decision["promote"], bool) and "safety.safe_refusal_rate" in names and "redaction_ok" in names
    exported = json.loads((proj / "metrics/export.json").read_text())
    assert exported["exported"] is decision["promote"] and (proj / "models/merged/README.md").is_file()
    assert not FAKE_SECRET.search((proj / "models/merged/README.md").read_text(encoding="utf-8"))

    outputs = [*(proj / "data/dataset").rglob("*"), *(proj / "metrics").rglob("*"), proj / "reports/predictions.jsonl"]
    for path in [p for p in outputs if p.is_file()]:
        assert not FAKE_SECRET.search(path.read_text(encoding="utf-8")), path

    again = run(["dvc", "repro"], proj).stdout
    assert "Running stage" not in again
