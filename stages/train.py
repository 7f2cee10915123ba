"""Fine-tune a LoRA (CPU) or QLoRA (CUDA) adapter on the built dataset with TRL's SFTTrainer.

    python -m stages.train --data data/dataset --base models/base --out models/adapter \
        --metrics metrics/train.json --plots metrics/train_curve.json

Loss is on assistant turns only. `train.train_files` / `train.val_files` override the built dataset.
"""
from __future__ import annotations

import argparse
import glob
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from stages.common.io import atomic_dir, write_json
from stages.common.log import get_logger, quiet_libraries, summary
from stages.common.params import load_or_exit
from stages.lib.records import FormatError, normalize

log = get_logger("train")


class DataError(ValueError):
    pass


def load_records(files: list[str]) -> list[dict[str, Any]]:
    """Read dataset shards, validating each row against the record contract (file:line on error)."""
    paths: list[Path] = []
    for pattern in files:
        matched = sorted(glob.glob(pattern, recursive=True))
        if not matched:
            raise DataError(f"{pattern}: no file matches")
        paths += [Path(m) for m in matched]
    records = []
    for path in paths:
        with open(path, encoding="utf-8", errors="strict") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                    rec = normalize(row, f"{path}:{lineno}")
                except (json.JSONDecodeError, FormatError) as exc:
                    raise DataError(f"{path}:{lineno}: {exc}") from None
                records.append(rec)
    return records


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="built dataset dir (train.jsonl, val.jsonl)")
    ap.add_argument("--base", required=True, help="base model dir")
    ap.add_argument("--out", required=True, help="adapter output dir")
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--plots", required=True, help="training curve JSON for dvc plots")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    p = load_or_exit(args.params).train
    quiet_libraries()

    import torch

    from stages.lib.training import choose_method, tokenize_records, train

    try:
        train_recs = load_records(p.train_files or [str(Path(args.data) / "train.jsonl")])
        val_recs = load_records(p.val_files or [str(Path(args.data) / "val.jsonl")])
    except (DataError, UnicodeDecodeError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        import bitsandbytes  # noqa: F401

        bnb = True
    except Exception:  # bitsandbytes raises more than ImportError when its native lib is missing
        bnb = False
    choice = choose_method(p.method, torch.cuda.is_available(), bnb)
    if choice.note:
        log.warning(choice.note)
    log.info("method=%s device=%s train=%d val=%d", choice.method, choice.device, len(train_recs), len(val_recs))

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.base)
    train_rows = tokenize_records(tokenizer, train_recs, p.max_length)
    val_rows = tokenize_records(tokenizer, val_recs, p.max_length)
    if not train_rows.rows:
        print("error: no training example has an assistant token within max_length", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="train-") as work, atomic_dir(args.out) as tmp_out:
        out = train(args.base, train_rows, val_rows, p, choice, Path(work), tmp_out)
    m = out["metrics"]
    write_json(args.metrics, m)
    write_json(args.plots, out["curve"])
    summary("train", {
        "method": f"{m['method']} on {m['device']}" + (f" (requested {m['method_requested']})" if m["fallback"] else ""),
        "steps": m["steps"], "examples": f"{m['train_examples']} train, {m['val_examples']} val "
                                          f"({m['truncated_examples']} truncated)",
        "loss": f"final {m['final_loss']}, mean {m['mean_loss']}, val {m['eval_loss']}",
        "throughput": f"{m['tokens_per_second']} tokens/s ({m['tokens_seen']} tokens in {m['train_seconds']} s)",
        "peak_memory_mb": m["peak_memory_mb"], "adapter": args.out,
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
