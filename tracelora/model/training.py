"""LoRA / QLoRA fine-tuning with TRL's SFTTrainer on pre-tokenized, assistant-masked examples.

One code path serves a laptop CPU, one GPU and several (DDP / FSDP under `accelerate launch`):
the Trainer does the distribution; this module decides the method, prepares examples (windows,
masks), checkpoints into a directory that outlives an interrupted run, and resumes from it.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import resource
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from tracelora.common.params import TrainParams
from tracelora.formats.chat_format import tokenize_for_training
from tracelora.model.windows import split_windows


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


# ---------------------------------------------------------------- examples

@dataclass
class TokenizedSet:
    rows: list[dict[str, list[int]]] = field(default_factory=list)
    truncated: int = 0  # long_sessions=truncate: examples cut at max_length
    split_records: int = 0  # long_sessions=window: sessions split into several windows
    windows: int = 0  # windows those sessions became
    dropped_turns: int = 0  # assistant turns that fit no window
    shrunk_windows: int = 0  # windows whose tool results / task were elided to fit their turn
    dropped_no_assistant_tokens: int = 0  # records left with nothing to learn (counted, with origins)
    dropped_origins: list[str] = field(default_factory=list)
    tokens: int = 0


_TOKENIZER: Any = None  # set before forking the tokenizing pool: children inherit it, nothing is pickled


def encode_record(tokenizer: Any, rec: dict[str, Any], max_length: int, long_sessions: str) -> dict[str, Any]:
    """One record -> its training rows (assistant mask as `assistant_masks`) and what was cut."""
    tools = rec.get("tools")
    if long_sessions == "window":
        w = split_windows(tokenizer, rec["messages"], max_length, tools)
        encs, dropped_turns, shrunk = w.encodings, w.dropped_turns, w.shrunk
    else:
        encs, dropped_turns, shrunk = [tokenize_for_training(tokenizer, rec["messages"], max_length, tools)], 0, 0
    rows = [{"input_ids": e["input_ids"], "assistant_masks": e["assistant_masks"]} for e in encs
            if any(e["assistant_masks"])]
    return {"rows": rows, "truncated": any(e["truncated"] for e in encs), "windows": len(encs),
            "dropped_turns": dropped_turns, "shrunk": shrunk, "origin": str((rec.get("metadata") or {}).get("origin", rec.get("id", "?")))}


def _encode_in_child(args: tuple[dict[str, Any], int, str]) -> dict[str, Any]:
    return encode_record(_TOKENIZER, *args)


def tokenize_records(tokenizer: Any, records: list[dict[str, Any]], max_length: int,
                     long_sessions: str = "window", num_proc: int = 1) -> TokenizedSet:
    """Tokenize (and window) every record, in `num_proc` forked processes when > 1; order is kept."""
    global _TOKENIZER
    jobs = [(r, max_length, long_sessions) for r in records]
    results: Iterable[dict[str, Any]]
    if num_proc > 1 and len(records) > 1 and "fork" in multiprocessing.get_all_start_methods():
        _TOKENIZER = tokenizer
        with multiprocessing.get_context("fork").Pool(num_proc) as pool:
            results = pool.map(_encode_in_child, jobs, chunksize=max(1, len(jobs) // (num_proc * 4)))
    else:
        results = (encode_record(tokenizer, *j) for j in jobs)
    out = TokenizedSet()
    for res in results:
        if not res["rows"]:
            out.dropped_no_assistant_tokens += 1
            out.dropped_origins.append(res["origin"])
            continue
        out.truncated += int(res["truncated"] and long_sessions == "truncate")
        if res["windows"] > 1:
            out.split_records += 1
            out.windows += res["windows"]
        out.dropped_turns += res["dropped_turns"]
        out.shrunk_windows += res["shrunk"]
        for row in res["rows"]:
            out.tokens += len(row["input_ids"])
            out.rows.append(row)
    return out


# ---------------------------------------------------------------- checkpoints

def run_fingerprint(p: TrainParams, base: str | Path, rows: TokenizedSet) -> str:
    """What a checkpoint must match to be resumed: the params that shape training, the base model
    and the exact token stream. Loader, launcher and checkpoint knobs do not change the result."""
    ignore = {"map_num_proc", "dataloader_num_workers", "prefetch_factor", "persistent_workers", "pin_memory",
              "save_steps", "save_total_limit", "checkpoint_dir", "keep_checkpoints", "launcher",
              "accelerate_config", "num_processes", "train_files", "val_files"}
    h = hashlib.sha256(json.dumps({k: v for k, v in p.model_dump().items() if k not in ignore},
                                  sort_keys=True, default=str).encode())
    base = Path(base)
    for f in sorted(base.glob("*")) if base.is_dir() else []:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}".encode())
        if f.suffix == ".json":
            h.update(f.read_bytes())
    for row in rows.rows:
        h.update(json.dumps(row["input_ids"]).encode())
        h.update(bytes(row["assistant_masks"]))
    return h.hexdigest()


def last_complete_checkpoint(ckpt_dir: Path) -> Path | None:
    """Newest `checkpoint-N` whose trainer_state.json (written last by the Trainer) is complete."""
    best: tuple[int, Path] | None = None
    for d in ckpt_dir.glob("checkpoint-*"):
        try:
            step = int(d.name.split("-", 1)[1])
            state = json.loads((d / "trainer_state.json").read_text(encoding="utf-8"))
        except (ValueError, OSError, json.JSONDecodeError):
            continue
        if state.get("global_step") == step and (best is None or step > best[0]):
            best = (step, d)
    return best[1] if best else None


def prepare_checkpoints(ckpt_dir: Path, fingerprint: str, is_main: bool) -> tuple[Path | None, str]:
    """Return (checkpoint to resume from or None, why). Checkpoints of a different run are wiped."""
    marker = ckpt_dir / "fingerprint.txt"
    found = last_complete_checkpoint(ckpt_dir) if ckpt_dir.is_dir() else None
    same = marker.is_file() and marker.read_text(encoding="utf-8").strip() == fingerprint
    if found and same:
        return found, f"resuming from {found}"
    why = ""
    if ckpt_dir.exists() and is_main:
        why = "discarded checkpoints of a different run (params, base or data changed)" if found and not same else ""
        shutil.rmtree(ckpt_dir)
    if is_main:
        ckpt_dir.mkdir(parents=True, exist_ok=True)
        marker.write_text(fingerprint + "\n", encoding="utf-8")
    return None, why


# ---------------------------------------------------------------- model

def peak_memory_mb(device: str) -> float:
    if device == "cuda":
        import torch

        return torch.cuda.max_memory_allocated() / 2**20
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss_kb / 1024 if sys.platform != "darwin" else rss_kb / 2**20


def load_model(base: str | Path, choice: MethodChoice, p: TrainParams | None = None) -> Any:
    """Base model for LoRA (full precision weights) or QLoRA (4-bit NF4). Under FSDP the 4-bit
    weights are stored as bf16 and not placed on a device, so FSDP can shard them."""
    import torch
    from transformers import AutoModelForCausalLM

    extra = {"attn_implementation": p.attn_implementation} if p and p.attn_implementation else {}
    if choice.method == "qlora":
        from peft import prepare_model_for_kbit_training
        from transformers import BitsAndBytesConfig

        fsdp = os.environ.get("ACCELERATE_USE_FSDP", "false").lower() == "true"
        bnb = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                                 bnb_4bit_compute_dtype=torch.bfloat16,
                                 bnb_4bit_quant_storage=torch.bfloat16 if fsdp else torch.uint8)
        placement = {} if fsdp else {"device_map": {"": int(os.environ.get("LOCAL_RANK", 0))}}
        model = AutoModelForCausalLM.from_pretrained(base, quantization_config=bnb, dtype=torch.bfloat16,
                                                     **placement, **extra)
        gc = bool(p and p.gradient_checkpointing)
        return prepare_model_for_kbit_training(model, use_gradient_checkpointing=gc,
                                               gradient_checkpointing_kwargs={"use_reentrant": False} if gc else None)
    dtype = torch.bfloat16 if choice.device == "cuda" else torch.float32
    return AutoModelForCausalLM.from_pretrained(base, dtype=dtype, **extra)


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


def curve_from_history(history: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Loss / learning-rate points from the Trainer's log history (restored on resume, so a
    resumed run's curve is whole)."""
    return [{"step": int(h["step"]), "loss": round(float(h["loss"]), 6), "learning_rate": float(h.get("learning_rate", 0.0))}
            for h in history if "loss" in h and "step" in h]


def write_live(live_dir: str | Path, curve: list[dict[str, float]], summary: dict[str, Any]) -> None:
    """DVCLive plots (one TSV per metric, x = step) for `dvc plots show/diff`. Written from the
    final log history rather than during training, so an interrupted-then-resumed run has no
    duplicate steps. No dvc.yaml edits, no experiment commits: dvc.yaml declares the plots.

    Live runs from a neutral working directory: from inside the repo DVCLive opens (or even
    `dvc init`s) the repo, and crashes on a git repo without commits; we only want its files."""
    import contextlib
    import tempfile

    from dvclive import Live

    live_dir = Path(live_dir).resolve()
    with tempfile.TemporaryDirectory() as neutral, contextlib.chdir(neutral):
        with Live(str(live_dir), dvcyaml=None, save_dvc_exp=False, report=None, monitor_system=False) as live:
            for point in curve:
                live.step = point["step"]
                live.log_metric("train/loss", point["loss"], plot=True)
                live.log_metric("train/learning_rate", point["learning_rate"], plot=True)
            for key, value in summary.items():
                if value is not None:
                    live.summary[key] = value


# ---------------------------------------------------------------- training

def train(base: str | Path, train_rows: TokenizedSet, val_rows: TokenizedSet, p: TrainParams,
          choice: MethodChoice, ckpt_dir: Path, resume_from: Path | None = None,
          loader_kwargs: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run SFT (resuming when asked) and save the adapter to `ckpt_dir/final` on every rank's
    behalf; returns metrics and the loss curve."""
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from tracelora.model.packing import packing_settings

    torch.manual_seed(p.seed)
    bf16 = use_bf16(p.bf16, choice.device)
    tokenizer = AutoTokenizer.from_pretrained(base)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model = load_model(base, choice, p)
    targets, layers = lora_targets(model, p)
    lora = LoraConfig(r=p.lora_r, lora_alpha=p.lora_alpha, lora_dropout=p.lora_dropout, bias="none",
                      task_type="CAUSAL_LM", target_modules=targets, layers_to_transform=layers)
    cfg = SFTConfig(
        output_dir=str(ckpt_dir), max_steps=p.max_steps if p.max_steps > 0 else -1, num_train_epochs=p.num_train_epochs,
        per_device_train_batch_size=p.per_device_batch_size, per_device_eval_batch_size=p.per_device_batch_size,
        gradient_accumulation_steps=p.gradient_accumulation_steps, learning_rate=p.learning_rate,
        lr_scheduler_type=p.lr_scheduler, warmup_steps=p.warmup_ratio, logging_steps=p.logging_steps,  # warmup < 1 = ratio
        save_strategy="steps" if p.save_steps > 0 else "no", save_steps=max(p.save_steps, 1),
        save_total_limit=p.save_total_limit, eval_strategy="no", report_to="none", seed=p.seed, data_seed=p.seed,
        use_cpu=choice.device == "cpu", bf16=bf16, include_num_input_tokens_seen="non_padding", disable_tqdm=False,
        gradient_checkpointing=p.gradient_checkpointing and choice.method != "qlora",  # qlora: set in load_model
        gradient_checkpointing_kwargs={"use_reentrant": False} if p.gradient_checkpointing else None,
        remove_unused_columns=True, train_sampling_strategy="group_by_length" if p.group_by_length else "random",
        ddp_find_unused_parameters=False if int(os.environ.get("WORLD_SIZE", "1")) > 1 else None,
        **packing_settings(p), **(loader_kwargs or {}),
    )
    trainer = SFTTrainer(
        model=model, args=cfg, processing_class=tokenizer, peft_config=lora,
        train_dataset=Dataset.from_list(train_rows.rows),
        eval_dataset=Dataset.from_list(val_rows.rows) if val_rows.rows else None,
    )
    trainable = sum(t.numel() for t in trainer.model.parameters() if t.requires_grad)
    resumed_step = 0  # read now: checkpoint rotation may delete that checkpoint during training
    if resume_from:
        resumed_step = int(json.loads((resume_from / "trainer_state.json").read_text())["global_step"])
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=str(resume_from) if resume_from else None)
    seconds = time.perf_counter() - start
    eval_loss = trainer.evaluate()["eval_loss"] if val_rows.rows else None
    if getattr(trainer, "is_fsdp_enabled", False):  # gather the sharded adapter into one file
        trainer.accelerator.state.fsdp_plugin.set_state_dict_type("FULL_STATE_DICT")
    trainer.save_model(str(ckpt_dir / "final"))  # collective under FSDP; rank 0 writes
    tokens = int(trainer.state.num_input_tokens_seen)
    curve = curve_from_history(trainer.state.log_history)
    losses = [c["loss"] for c in curve]
    steps_run = int(trainer.state.global_step) - resumed_step
    return {
        "metrics": {
            "method": choice.method, "method_requested": choice.requested, "device": choice.device,
            "fallback": choice.note or None, "precision": "bf16 autocast" if bf16 else "fp32",
            "world_size": int(os.environ.get("WORLD_SIZE", "1")),
            "distributed_backend": torch.distributed.get_backend() if torch.distributed.is_available()
            and torch.distributed.is_initialized() else None,
            "steps": int(trainer.state.global_step), "resumed_from_step": resumed_step,
            "epochs": round(float(trainer.state.epoch or 0), 4),
            "final_loss": losses[-1] if losses else round(float(result.training_loss), 6),
            "mean_loss": round(float(result.training_loss), 6),
            "eval_loss": round(float(eval_loss), 6) if eval_loss is not None else None,
            "train_examples": len(train_rows.rows), "val_examples": len(val_rows.rows),
            "long_sessions": p.long_sessions, "truncated_examples": train_rows.truncated,
            "split_sessions": train_rows.split_records, "session_windows": train_rows.windows,
            "dropped_turns": train_rows.dropped_turns, "shrunk_windows": train_rows.shrunk_windows,
            "dropped_examples": train_rows.dropped_no_assistant_tokens,
            "packing": p.packing, "padding_free": p.padding_free or p.packing,
            "trainable_params": trainable, "tokens_seen": tokens, "train_seconds": round(seconds, 2),
            "tokens_per_second": round(tokens / seconds * steps_run / max(1, int(trainer.state.global_step)), 1)
            if seconds > 0 else 0.0,
            "peak_memory_mb": round(peak_memory_mb(choice.device), 1),
        },
        "curve": curve,
    }


def copy_adapter(final_dir: Path, out_dir: Path) -> None:
    """The saved adapter + tokenizer, without the Trainer's pickled args (paths, not reproducible)."""
    for f in sorted(final_dir.iterdir()):
        if f.is_file() and f.name != "training_args.bin":
            shutil.copy2(f, out_dir / f.name)
