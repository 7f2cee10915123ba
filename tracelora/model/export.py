"""Export a promoted adapter: merge it into the base model.

The merged model is plain transformers (safetensors, no PEFT needed to load it). Its model card
comes from tracelora.model.card, the one card writer (the Hub push uses it too).
"""
from __future__ import annotations

from pathlib import Path

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
