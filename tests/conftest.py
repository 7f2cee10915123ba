"""Shared fixtures: the SmolLM2 tokenizer from the embedded GGUF, a tiny Llama built from a
config around it, and helpers to run stages and real DVC repos in tmp dirs."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PROJECT_FILES = ("dvc.yaml", "params.yaml", ".gitignore", ".dvcignore", "tracelora", "pyproject.toml", "configs", "data/raw_traces", "data/seeds", "data/eval")


def env() -> dict[str, str]:
    e = dict(os.environ)
    e["PATH"] = f"{BIN}{os.pathsep}{e.get('PATH', '')}"
    e["PYTHONPATH"] = ""
    e["HF_HUB_OFFLINE"] = "1"
    e["DVC_NO_ANALYTICS"] = "1"
    e.pop("CUDA_VISIBLE_DEVICES", None)
    return e


def run(cmd: list[str], cwd: Path, check: bool = True, timeout: int = 1200) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=cwd, env=env(), capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def write_jsonl(path: Path, rows: list) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def smol_tokenizer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real SmolLM2 tokenizer and chat template, converted from the packaged GGUF (no network)."""
    from transformers import AutoTokenizer

    from tracelora.model.source import embedded_gguf

    gguf = embedded_gguf()
    out = tmp_path_factory.mktemp("smol_tokenizer")
    AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(smol_tokenizer_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer Llama with the SmolLM2 vocabulary, random weights, saved as a local model dir."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tok = AutoTokenizer.from_pretrained(smol_tokenizer_dir)
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                      tie_word_embeddings=True, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    out = tmp_path_factory.mktemp("tiny_model")
    LlamaForCausalLM(cfg).save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    return out


def make_project(dest: Path, params_overrides: dict | None = None) -> Path:
    """Copy the pipeline into dest and make it a real git + DVC repo."""
    for item in PROJECT_FILES:
        src = ROOT / item
        target = dest / item
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, target)
    if params_overrides:
        set_params(dest, params_overrides)
    run(["git", "init", "-q"], dest)
    run(["git", "config", "user.email", "test@localhost"], dest)
    run(["git", "config", "user.name", "test"], dest)
    run(["dvc", "init", "-q"], dest)
    run(["dvc", "config", "core.analytics", "false"], dest)
    return dest


def set_params(project: Path, overrides: dict) -> None:
    import yaml

    path = project / "params.yaml"
    params = yaml.safe_load(path.read_text())
    for dotted, value in overrides.items():
        section, key = dotted.split(".", 1)
        params[section][key] = value
    path.write_text(yaml.safe_dump(params, sort_keys=False))


def tiny_params(model_dir: Path) -> dict:
    """Params that make the whole pipeline run in seconds on a tiny model."""
    return {"model.base": str(model_dir), "train.max_steps": 2, "train.per_device_batch_size": 2,
            "train.gradient_accumulation_steps": 1, "train.max_length": 128, "train.logging_steps": 1,
            "train.bf16": False,  # fp32: what the tiny model generates must not depend on the CPU's bf16 support
            "eval.max_examples": 4, "eval.max_new_tokens": 4, "eval.batch_size": 4}
