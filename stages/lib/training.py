"""LoRA / QLoRA fine-tuning with TRL's SFTTrainer on pre-tokenized, assistant-masked examples."""
from __future__ import annotations

import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stages.common.params import TrainParams
from stages.lib.chat_format import tokenize_for_training


@dataclass(frozen=True)
class MethodChoice:
    requested: str
    method: str  # "qlora" or "lora"
    device: str  # "cuda" or "cpu"
    note: str = ""


def choose_method(requested: str, cuda: bool, bnb_available: bool) -> MethodChoice:
    """`auto`: QLoRA (4-bit NF4) on CUDA, LoRA elsewhere. An explicit `qlora` without CUDA falls
    back to LoRA and says why: bitsandbytes 4-bit on CPU works but is ~16x slower."""
    device = "cuda" if cuda else "cpu"
    if requested == "lora":
        return MethodChoice(requested, "lora", device)
    if cuda and bnb_available:
        return MethodChoice(requested, "qlora", device)
    why = "no CUDA device" if not cuda else "bitsandbytes is not installed"
    return MethodChoice(requested, "lora", device, f"QLoRA needs CUDA and bitsandbytes ({why}): fell back to plain LoRA")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """True when the CPU multiplies bf16 natively (AVX512-BF16 or AMX): autocast is then ~1.4x faster
    than fp32 for LoRA on SmolLM2; without it bf16 is emulated and slower."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    flags = set(cpuinfo.split())
    return bool(flags & {"avx512_bf16", "amx_bf16"})


def use_bf16(setting: bool | str, device: str, cpuinfo: str | None = None) -> bool:
    if setting != "auto":
        return bool(setting)
    return device == "cuda" or cpu_has_native_bf16(cpuinfo)


@dataclass
class TokenizedSet:
    rows: list[dict[str, list[int]]] = field(default_factory=list)
    truncated: int = 0
    dropped_no_assistant_tokens: int = 0
    tokens: int = 0


def tokenize_records(tokenizer: Any, records: list[dict[str, Any]], max_length: int) -> TokenizedSet:
    out = TokenizedSet()
    for rec in records:
        enc = tokenize_for_training(tokenizer, rec["messages"], max_length)
        if not any(enc["assistant_masks"]):
            out.dropped_no_assistant_tokens += 1
            continue
        out.truncated += int(enc["truncated"])
        out.tokens += len(enc["input_ids"])
        out.rows.append({"input_ids": enc["input_ids"], "assistant_masks": enc["assistant_masks"]})
    return out


def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss_kb / 1024 if sys.platform != "darwin" else rss_kb / 2**20


def load_model(base: str | Path, choice: MethodChoice) -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    if choice.method == "qlora":
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                 bnb_4bit_compute_dtype=torch.bfloat16)
        model = AutoModelForCausalLM.from_pretrained(base, quantization_config=bnb, dtype=torch.bfloat16,
                                                     device_map={"": 0})
        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    dtype = torch.bfloat16 if choice.device == "cuda" else torch.float32
    return AutoModelForCausalLM.from_pretrained(base, dtype=dtype)


def lora_targets(model: Any, p: TrainParams) -> tuple[str | list[str], list[int] | None]:
    """Target modules and layer indices for LoRA. With `lora_layers: N` only the last N decoder
    layers are adapted; PEFT then needs explicit module names instead of 'all-linear'."""
    n_layers = int(getattr(model.config, "num_hidden_layers", 0) or 0)
    if p.lora_layers <= 0 or not n_layers or p.lora_layers >= n_layers:
        return p.lora_target_modules, None
    targets = p.lora_target_modules
    if targets == "all-linear":
        import torch

        names = {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear) and ".layers.0." in n}
        targets = sorted(names)
    return targets, list(range(n_layers - p.lora_layers, n_layers))


def train(base: str | Path, train_rows: TokenizedSet, val_rows: TokenizedSet, p: TrainParams,
          choice: MethodChoice, work_dir: Path, out_dir: Path) -> dict[str, Any]:
    """Run SFT and save the adapter into out_dir; returns metrics and the loss curve."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    torch.manual_seed(p.seed)
    bf16 = use_bf16(p.bf16, choice.device)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = load_model(base, choice)
    curve: list[dict[str, float]] = []

    class Curve(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, float] | None = None, **kw: Any) -> None:
            if logs and "loss" in logs:
                curve.append({"step": state.global_step, "loss": round(float(logs["loss"]), 6),
                              "learning_rate": float(logs.get("learning_rate", 0.0))})

    targets, layers = lora_targets(model, p)
    lora = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=p.lora_dropout, bias="none",
                      task_type="CAUSAL_LM", target_modules=targets, layers_to_transform=layers)
    cfg = SFTConfig(
        output_dir=str(work_dir), max_steps=p.max_steps if p.max_steps > 0 else -1, num_train_epochs=p.num_train_epochs,
        per_device_train_batch_size=p.per_device_batch_size, per_device_eval_batch_size=p.per_device_batch_size,
        gradient_accumulation_steps=p.gradient_accumulation_steps, learning_rate=p.learning_rate,
        lr_scheduler_type=p.lr_scheduler, warmup_steps=p.warmup_ratio, logging_steps=p.logging_steps,  # warmup < 1 = ratio
        save_strategy="no", eval_strategy="no", report_to="none", seed=p.seed, data_seed=p.seed,
        max_length=p.max_length, use_cpu=choice.device == "cpu", bf16=bf16,
        include_num_input_tokens_seen="non_padding", disable_tqdm=False, dataloader_num_workers=0,
        gradient_checkpointing=False, remove_unused_columns=True, train_sampling_strategy="group_by_length" if p.group_by_length else "random",
    )
    trainer = SFTTrainer(
        model=model, args=cfg, processing_class=tokenizer, peft_config=lora, callbacks=[Curve()],
        train_dataset=Dataset.from_list(train_rows.rows),
        eval_dataset=Dataset.from_list(val_rows.rows) if val_rows.rows else None,
    )
    trainable = sum(t.numel() for t in trainer.model.parameters() if t.requires_grad)
    start = time.perf_counter()
    result = trainer.train()
    seconds = time.perf_counter() - start
    eval_loss = trainer.evaluate()["eval_loss"] if val_rows.rows else None
    trainer.model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    tokens = int(trainer.state.num_input_tokens_seen)
    losses = [c["loss"] for c in curve]
    return {
        "metrics": {
            "method": choice.method, "method_requested": choice.requested, "device": choice.device,
            "fallback": choice.note or None, "precision": "bf16 autocast" if bf16 else "fp32",
            "steps": int(trainer.state.global_step),
            "epochs": round(float(trainer.state.epoch or 0), 4),
            "final_loss": losses[-1] if losses else round(float(result.training_loss), 6),
            "mean_loss": round(float(result.training_loss), 6),
            "eval_loss": round(float(eval_loss), 6) if eval_loss is not None else None,
            "train_examples": len(train_rows.rows), "val_examples": len(val_rows.rows),
            "truncated_examples": train_rows.truncated, "dropped_examples": train_rows.dropped_no_assistant_tokens,
            "trainable_params": trainable, "tokens_seen": tokens, "train_seconds": round(seconds, 2),
            "tokens_per_second": round(tokens / seconds, 1) if seconds > 0 else 0.0,
            "peak_memory_mb": round(peak_memory_mb(choice.device), 1),
        },
        "curve": curve,
    }
