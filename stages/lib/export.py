"""Export a promoted adapter: merge it into the base model, and write the model card.

The merged model is plain transformers (safetensors, no PEFT needed to load it). The card is
built only from pipeline outputs (manifest counts, train params and metrics, eval and gate
results) and passed through the redaction rules, so no secret can reach it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stages.lib.redaction import Redactor

CARD = "README.md"
STATUS = "export_status.json"


def merge_adapter(base: str | Path, adapter: str | Path, out_dir: Path) -> int:
    """Fold LoRA weights into the base (in the base's own dtype) and save; returns the parameter count.
    A QLoRA adapter merges into the full-precision base, never into 4-bit weights."""
    import torch
    from peft import PeftModel
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    dtype = getattr(AutoConfig.from_pretrained(base), "dtype", None) or torch.float32
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    merged = PeftModel.from_pretrained(model, str(adapter)).merge_and_unload()
    merged.save_pretrained(out_dir, safe_serialization=True)
    tok_src = adapter if (Path(adapter) / "tokenizer_config.json").exists() else base
    AutoTokenizer.from_pretrained(tok_src).save_pretrained(out_dir)
    return sum(p.numel() for p in merged.parameters())


def _table(rows: list[list[Any]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _num(v: Any) -> str:
    return f"{v:+.4f}" if isinstance(v, float) else str(v)


def model_card(*, exported: bool, base_name: str, decision: dict[str, Any] | None, manifest: dict[str, Any] | None,
               train_metrics: dict[str, Any] | None, train_params: dict[str, Any], eval_results: dict[str, Any] | None,
               problems: list[str]) -> str:
    """Markdown card (Hugging Face front matter). Missing inputs are named, not guessed."""
    status = ("merged into the base model (`model.safetensors`, loads with plain transformers)" if exported
              else "NOT exported: the gate did not promote this adapter, so no merged weights were written")
    out = ["---", f"base_model: {json.dumps(base_name)}", "library_name: transformers",
           "tags: [lora, sft, trl, coding-agent, agent-traces]", "---", "",
           "# Coding-agent adapter", "", f"**Status:** {status}.", ""]
    if problems:
        out += ["**Missing or unreadable inputs:** " + "; ".join(problems), ""]
    if decision:
        out += ["## Gate", "", f"Decision: **{decision.get('decision', 'unknown')}**", ""]
        checks = decision.get("checks") or []
        out += [_table([[c.get("name"), "pass" if c.get("passed") else "FAIL", c.get("reason")] for c in checks],
                       ["check", "result", "reason"]), ""]
    if eval_results:
        keys = [k for k, v in (eval_results.get("delta") or {}).items() if isinstance(v, (int, float))]
        rows = [[k, eval_results.get("baseline", {}).get(k), eval_results.get("adapter", {}).get(k),
                 _num(eval_results["delta"][k])] for k in keys]
        out += ["## Evaluation", "", f"{eval_results.get('n_examples', '?')} held-out examples, greedy decoding.", "",
                _table(rows, ["metric", "base", "adapter", "delta"]), ""]
    if train_metrics:
        keep = ["method", "device", "precision", "steps", "epochs", "train_examples", "val_examples", "final_loss",
                "eval_loss", "split_sessions", "dropped_examples", "tokens_seen", "tokens_per_second", "trainable_params"]
        out += ["## Training", "", _table([[k, train_metrics.get(k)] for k in keep if k in train_metrics],
                                          ["metric", "value"]), ""]
    skip = {"train_files", "val_files", "checkpoint_dir", "accelerate_config"}  # local paths say nothing of the model
    out += ["### Training parameters", "", _table([[k, json.dumps(v)] for k, v in train_params.items() if k not in skip],
                                                   ["param", "value"]), ""]
    if manifest:
        c = manifest.get("counts", {})
        rows = [[k, c.get(k)] for k in ("read", "kept", "train", "val", "quarantined", "filtered", "duplicates", "redactions")
                if k in c]
        rows += [[f"source: {s}", f"{v.get('train', 0)} train / {v.get('val', 0)} val"]
                 for s, v in sorted((c.get("by_source") or {}).items())]
        out += ["## Dataset", "", _table(rows, ["count", "value"]), ""]
    out += ["Built by the agent-trace DVC pipeline (`dvc repro`): build -> train -> evaluate -> gate -> export.", ""]
    return Redactor().text("\n".join(out))
