"""Export after the gate: merged weights load with plain transformers; a blocked gate writes only a card."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

GH_TOKEN = "ghp_" + "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3z5A"


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter with non-zero B matrices, so merging visibly changes the weights."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    model = get_peft_model(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", init_lora_weights=False))
    out = tmp_path_factory.mktemp("adapter")
    model.save_pretrained(out)
    return out


def _inputs(tmp: Path, promote: bool) -> dict[str, Path]:
    checks = [{"name": "delta.exact_match", "value": 0.1, "threshold": 0.0, "passed": promote,
               "reason": f"adapter changes exact_match (debug token {GH_TOKEN})"}]
    files = {"gate": {"promote": promote, "decision": "promote" if promote else "block", "checks": checks},
             "manifest": {"counts": {"read": 10, "kept": 9, "train": 7, "val": 2, "by_source": {"raw": {"train": 7, "val": 2}}}},
             "train": {"method": "lora", "steps": 3, "final_loss": 1.5, "train_examples": 7},
             "eval": {"n_examples": 2, "baseline": {"exact_match": 0.0}, "adapter": {"exact_match": 0.5},
                      "delta": {"exact_match": 0.5}}}
    paths = {}
    for name, obj in files.items():
        paths[name] = tmp / f"{name}.json"
        paths[name].write_text(json.dumps(obj))
    (tmp / "params.yaml").write_text("train: {max_steps: 3}\n")
    return paths


def _export(tmp: Path, base: Path, adapter: Path, paths: dict[str, Path]) -> int:
    from tracelora.stages import export

    return export.main(["--gate", str(paths["gate"]), "--base", str(base), "--adapter", str(adapter),
                        "--manifest", str(paths["manifest"]), "--train-metrics", str(paths["train"]),
                        "--eval", str(paths["eval"]), "--out", str(tmp / "merged"), "--metrics", str(tmp / "export.json"),
                        "--params", str(tmp / "params.yaml")])


def test_promoted_adapter_is_merged_into_a_plain_transformers_model(tmp_path: Path, tiny_model_dir: Path,
                                                                   adapter_dir: Path) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    assert _export(tmp_path, tiny_model_dir, adapter_dir, _inputs(tmp_path, True)) == 0
    merged_dir = tmp_path / "merged"
    assert (merged_dir / "model.safetensors").exists() and not (merged_dir / "adapter_config.json").exists()
    merged = AutoModelForCausalLM.from_pretrained(merged_dir).eval()
    reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(adapter_dir)).eval()
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    ids = torch.tensor([[1, 200, 300, 400, 500]])
    with torch.no_grad():
        got, want, orig = merged(ids).logits, reference(ids).logits, base(ids).logits
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
    assert not torch.allclose(got, orig, atol=1e-3)
    card = (merged_dir / "README.md").read_text()
    assert "**Status:** merged into the base model" in card and "| exact_match | 0.0 | 0.5 | +0.5000 |" in card
    assert "| max_steps | 3 |" in card and "source: raw" in card and "delta.exact_match" in card
    assert GH_TOKEN not in card  # redacted
    status = json.loads((merged_dir / "export_status.json").read_text())
    assert status["exported"] is True and status["parameters"] > 0 and "model.safetensors" in status["files"]


def test_blocked_gate_writes_a_card_and_no_weights(tmp_path: Path, tiny_model_dir: Path, adapter_dir: Path) -> None:
    assert _export(tmp_path, tiny_model_dir, adapter_dir, _inputs(tmp_path, False)) == 0
    files = sorted(p.name for p in (tmp_path / "merged").iterdir())
    assert files == ["README.md", "export_status.json"]
    card = (tmp_path / "merged" / "README.md").read_text()
    assert "NOT exported" in card and GH_TOKEN not in card
    assert json.loads((tmp_path / "export.json").read_text()) == {"exported": False, "decision": "block", "parameters": None}


def test_missing_gate_decision_fails_closed(tmp_path: Path, tiny_model_dir: Path, adapter_dir: Path) -> None:
    paths = _inputs(tmp_path, True)
    paths["gate"].unlink()
    assert _export(tmp_path, tiny_model_dir, adapter_dir, paths) == 0
    status = json.loads((tmp_path / "merged" / "export_status.json").read_text())
    assert status["exported"] is False and any("gate.json: missing" in r for r in status["reasons"])
    assert not (tmp_path / "merged" / "model.safetensors").exists()


# The card text is a DVC out (models/merged/README.md): pinned byte for byte, so a change to the one
# card writer (tracelora.model.card, shared with `hub push-adapter`) that alters it shows up here.
EXPECTED_CARD = """---
base_model: "HuggingFaceTB/SmolLM2-135M-Instruct"
library_name: transformers
tags: [lora, sft, trl, coding-agent, agent-traces]
---

# Coding-agent adapter

**Status:** NOT exported: the gate did not promote this adapter, so no merged weights were written.

**Missing or unreadable inputs:** metrics/train.json: missing

## Gate

Decision: **block**

| check | result | reason |
|---|---|---|
| delta.exact_match | FAIL | worse by -0.1 |

## Evaluation

2 held-out examples, greedy decoding.

| metric | base | adapter | delta |
|---|---|---|---|
| exact_match | 0.0 | 0.5 | +0.5000 |

## Training

| metric | value |
|---|---|
| method | lora |
| steps | 3 |
| final_loss | 1.5 |

### Training parameters

| param | value |
|---|---|
| max_steps | 3 |

## Dataset

| count | value |
|---|---|
| read | 10 |
| kept | 9 |
| train | 7 |
| val | 2 |
| source: raw | 7 train / 2 val |

Built by the agent-trace DVC pipeline (`dvc repro`): build -> train -> evaluate -> gate -> export.
"""


def _card_inputs() -> dict:
    return dict(exported=False, base_name="HuggingFaceTB/SmolLM2-135M-Instruct",
                decision={"promote": False, "decision": "block",
                          "checks": [{"name": "delta.exact_match", "passed": False, "reason": "worse by -0.1"}]},
                manifest={"counts": {"read": 10, "kept": 9, "train": 7, "val": 2,
                                     "by_source": {"raw": {"train": 7, "val": 2}}}},
                train_metrics={"method": "lora", "steps": 3, "final_loss": 1.5},
                train_params={"max_steps": 3, "train_files": "/home/me/x"},  # a local path: left out
                eval_results={"n_examples": 2, "baseline": {"exact_match": 0.0}, "adapter": {"exact_match": 0.5},
                              "delta": {"exact_match": 0.5}},
                problems=["metrics/train.json: missing"])


def test_export_card_text_is_pinned() -> None:
    from tracelora.model.card import export_card

    assert export_card(**_card_inputs()) == EXPECTED_CARD


def test_export_card_names_inputs_that_are_not_json_objects() -> None:
    from tracelora.model.card import export_card

    inputs = {**_card_inputs(), "manifest": [1, 2], "eval_results": "oops", "problems": []}
    card = export_card(**inputs)
    assert "**Missing or unreadable inputs:** manifest: not a JSON object; eval results: not a JSON object" in card
    assert "## Dataset" not in card and "## Evaluation" not in card and "## Gate" in card
