"""Fine-tune a LoRA (CPU) or QLoRA (CUDA) adapter on the built dataset with TRL's SFTTrainer.

    tracelora train --data data/dataset --base models/base --out models/adapter \
        --metrics metrics/train.json --plots metrics/train_curve.json [--live metrics/train_live]

Loss is on assistant turns only. `train.train_files` / `train.val_files` (globs ok) override the
built dataset. Sessions longer than `train.max_length` are split into windows at turn boundaries.
Checkpoints go to `train.checkpoint_dir` every `train.save_steps`; re-running the same command
after an interrupt resumes from the newest one. With `train.launcher: accelerate` the command
re-launches itself under `accelerate launch` (DDP / FSDP); only rank 0 writes the outputs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from tracelora.common.io import atomic_dir, write_json
from tracelora.common.log import get_logger, quiet_libraries, summary
from tracelora.common.params import load_or_exit
from tracelora.common.paths import project_root, resolve
from tracelora.formats.shards import DataError, load_records, shards
from tracelora.model.launch import CHILD_ENV, agree_on_resume, bnb_available, relaunch

log = get_logger("train")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    ap = argparse.ArgumentParser(prog="tracelora train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="built dataset dir (train.jsonl, val.jsonl)")
    ap.add_argument("--base", required=True, help="base model dir")
    ap.add_argument("--out", required=True, help="adapter output dir")
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True, help="training curve JSON for dvc plots")
    ap.add_argument("--live", help="DVCLive directory (loss and learning-rate TSVs for dvc plots)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    p = load_or_exit(args.params).train
    root = project_root(args.params)
    if p.launcher == "accelerate" and os.environ.get(CHILD_ENV) != "1" and "LOCAL_RANK" not in os.environ:
        return relaunch(argv, p, root)
    quiet_libraries()
    rank = int(os.environ.get("RANK", "0"))
    is_main = rank == 0

    import torch

    from tracelora.model.packing import loader_settings
    from tracelora.model.training import (choose_method, copy_adapter, prepare_checkpoints, run_fingerprint,
                                     tokenize_records, train, write_live)

    try:
        train_recs = load_records(shards(p.train_files, root) or [str(Path(args.data) / "train.jsonl")])
        val_recs = load_records(shards(p.val_files, root) or [str(Path(args.data) / "val.jsonl")])
    except (DataError, UnicodeDecodeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cuda = torch.cuda.is_available()
    choice = choose_method(p.method, cuda, bnb_available() if cuda else False)
    loader_kw, warnings = loader_settings(p, cuda, os.cpu_count() or 1)
    for w in ([choice.note] if choice.note else []) + warnings:
        if is_main:
            log.warning(w)
    if is_main:
        log.info("method=%s device=%s train=%d val=%d records", choice.method, choice.device, len(train_recs), len(val_recs))

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.base)
    if not tokenizer.chat_template and is_main:
        log.warning("%s has no chat template: rendering turns as ChatML text (<|im_start|>role ... <|im_end|>)", args.base)
    try:
        train_rows = tokenize_records(tokenizer, train_recs, p.max_length, p.long_sessions, p.map_num_proc)
        val_rows = tokenize_records(tokenizer, val_recs, p.max_length, p.long_sessions, p.map_num_proc)
    except ValueError as exc:  # e.g. a chat template that is not prefix-stable
        print(f"error: {args.base}: {exc}", file=sys.stderr)
        return 2
    for origin in train_rows.dropped_origins[:20] if is_main else []:
        log.warning("%s: dropped, no learned assistant turn (none fits in max_length=%d, or all have weight 0)", origin, p.max_length)
    if not train_rows.rows:
        print(f"error: no training example has an assistant turn within train.max_length={p.max_length} "
              f"({train_rows.dropped_no_assistant_tokens} records dropped); raise max_length", file=sys.stderr)
        return 2

    ckpt_dir = resolve(p.checkpoint_dir, root) or Path(p.checkpoint_dir)
    resume, why = prepare_checkpoints(ckpt_dir, run_fingerprint(p, args.base, train_rows), is_main)
    if torch.distributed.is_available() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        resume = agree_on_resume(resume)
    if why and is_main:
        log.info(why)
    out = train(args.base, train_rows, val_rows, p, choice, ckpt_dir, resume, loader_kw)
    if not is_main:
        return 0
    with atomic_dir(args.out) as tmp_out:
        copy_adapter(ckpt_dir / "final", tmp_out)
    m = out["metrics"]
    write_json(args.metrics, m)
    write_json(args.plots, out["curve"])
    if args.live:
        write_live(args.live, out["curve"], {"final_loss": m["final_loss"], "eval_loss": m["eval_loss"]})
    if not p.keep_checkpoints:
        shutil.rmtree(ckpt_dir, ignore_errors=True)
    summary("train", {
        "method": f"{m['method']} on {m['device']}" + (f" (requested {m['method_requested']})" if m["fallback"] else "")
                  + (f" x{m['world_size']} processes" if m["world_size"] > 1 else ""),
        "steps": m["steps"] if not m["resumed_from_step"] else f"{m['steps']} (resumed from step {m['resumed_from_step']})",
        "examples": f"{m['train_examples']} train, {m['val_examples']} val",
        "long sessions": f"{m['split_sessions']} split into {m['session_windows']} windows "
                         f"({m['shrunk_windows']} with tool output elided to fit), "
                         f"{m['dropped_turns']} turns and {m['dropped_examples']} records dropped, "
                         f"{m['truncated_examples']} truncated",
        "loss": f"final {m['final_loss']}, mean {m['mean_loss']}, val {m['eval_loss']}",
        "throughput": f"{m['tokens_per_second']} tokens/s ({m['tokens_seen']} tokens in {m['train_seconds']} s)",
        "peak_memory_mb": m["peak_memory_mb"], "adapter": args.out,
    })
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
