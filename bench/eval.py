"""Generation throughput of the evaluate stage's batched greedy decoding, by batch size.

    python bench/eval.py [--base models/base] [--val data/dataset/val.jsonl] [--prompts 32] \
        [--max-new-tokens 32] [--batch-sizes 1,2,4,8,16,32]

Uses the same code path as `tracelora.stages.evaluate` (tracelora.model.generation: left padding, length-sorted
batches, KV cache, inference mode) on the same prompts. Prints generated tokens/s per batch size:
tokens up to and including each row's end-of-turn token, so padding after an early stop is not
counted as work. Each batch size is timed once after one warm-up batch.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tracelora.common.log import quiet_libraries  # noqa: E402
from tracelora.formats.jsonl import read_rows  # noqa: E402
from tracelora.judging.evaluation import select_items  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="models/base")
    ap.add_argument("--val", default="data/dataset/val.jsonl")
    ap.add_argument("--prompts", type=int, default=32)
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--max-prompt-length", type=int, default=768)
    ap.add_argument("--batch-sizes", default="1,2,4,8,16,32")
    ap.add_argument("--dtype", choices=["auto", "fp32", "bf16"], default="auto",
                    help="auto = what evaluate uses (bf16 on CUDA, fp32 on CPU)")
    args = ap.parse_args()
    quiet_libraries()
    os.environ.setdefault("TQDM_DISABLE", "1")

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tracelora.model.generation import GenerationStats, encode_prompts, generate_ids

    items = select_items([row for _, row in read_rows(args.val)], args.prompts, 0, 0)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}.get(
        args.dtype, torch.bfloat16 if device == "cuda" else torch.float32)
    tok = AutoTokenizer.from_pretrained(args.base)
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=dtype).to(device)
    encoded, _ = encode_prompts(tok, [it["prompt"] for it in items], args.max_prompt_length,
                                [it.get("tools") for it in items])
    plen = sorted(len(e) for e in encoded)
    name = torch.cuda.get_device_name() if device == "cuda" else platform.processor() or platform.machine()
    print(f"device {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}, "
          f"{str(dtype).removeprefix('torch.')}, {len(encoded)} prompts (median {plen[len(plen) // 2]} tokens), max_new_tokens {args.max_new_tokens}")
    generate_ids(model, tok, encoded[:2], 4, 2, "warm-up")
    print(f"{'batch':>5}  {'seconds':>8}  {'gen tokens':>10}  {'tokens/s':>8}")
    for bs in (int(b) for b in args.batch_sizes.split(",")):
        st = GenerationStats()
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        generate_ids(model, tok, encoded, args.max_new_tokens, bs, f"batch {bs}", st)
        if device == "cuda":
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        print(f"{bs:>5}  {dt:>8.1f}  {st.generated_tokens:>10}  {st.generated_tokens / dt:>8.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
