"""Score the base model and base+adapter on the same held-out examples.

    python -m stages.evaluate --val data/dataset/val.jsonl --base models/base --adapter models/adapter \
        --out metrics/eval_results.json --predictions reports/predictions.jsonl

Prompt = the conversation before the last assistant turn; reference = that turn (tool calls in the
text format of stages.lib.chat_format). Greedy decoding, so the numbers are reproducible.
"""
from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from stages.common.io import read_jsonl, write_json, write_jsonl
from stages.common.log import get_logger, quiet_libraries, summary
from stages.common.params import load_or_exit
from stages.lib import metrics as M
from stages.lib.chat_format import prompt_and_reference

log = get_logger("evaluate")


def select_examples(records: list[dict[str, Any]], max_examples: int) -> list[dict[str, Any]]:
    """The first max_examples by id: a fixed, content-defined sample both models see."""
    usable = [r for r in records if prompt_and_reference(r) and prompt_and_reference(r)[0]]
    return sorted(usable, key=lambda r: r["id"])[:max_examples]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    p = load_or_exit(args.params).eval
    quiet_libraries()

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from stages.lib.generation import generate

    examples = select_examples(list(read_jsonl(args.val)), p.max_examples)
    if not examples:
        print(f"error: {args.val}: no example with a prompt and an assistant reply to evaluate", file=sys.stderr)
        return 2
    pairs = [prompt_and_reference(r) for r in examples]
    prompts = [pr[0] for pr in pairs]
    refs = [pr[1] for pr in pairs]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=dtype).to(device)

    t0 = time.perf_counter()
    base_out = generate(model, tokenizer, prompts, p.max_new_tokens, p.batch_size, p.max_prompt_length, "eval: baseline")
    t1 = time.perf_counter()
    # Merge LoRA weights into the base for evaluation: same outputs as the unmerged adapter, base speed.
    model = PeftModel.from_pretrained(model, args.adapter).merge_and_unload()
    adapter_out = generate(model, tokenizer, prompts, p.max_new_tokens, p.batch_size, p.max_prompt_length, "eval: adapter")
    t2 = time.perf_counter()

    rows = []
    for rec, ref, b, a in zip(examples, refs, base_out, adapter_out):
        keys = rec["metadata"].get("keywords") or M.keywords(ref)
        rows.append({
            "id": rec["id"], "source": rec["metadata"]["source"], "task_category": rec["metadata"]["task_category"],
            "prompt": prompts[len(rows)], "reference": ref, "keywords": keys,
            "baseline": M.score(b, ref, keys), "adapter": M.score(a, ref, keys),
            "baseline_output": b, "adapter_output": a,
        })
    baseline = M.mean_scores(r["baseline"] for r in rows)
    adapter = M.mean_scores(r["adapter"] for r in rows)
    results = {
        "n_examples": len(rows),
        "baseline": baseline,
        "adapter": adapter,
        "delta": M.delta(adapter, baseline),
        "by_task_category": {"baseline": M.by_group(rows, "task_category", "baseline"),
                             "adapter": M.by_group(rows, "task_category", "adapter")},
        "generation": {"max_new_tokens": p.max_new_tokens, "batch_size": p.batch_size, "device": device,
                       "baseline_seconds": round(t1 - t0, 2), "adapter_seconds": round(t2 - t1, 2)},
    }
    write_jsonl(args.predictions, rows)
    write_json(args.out, results)
    fmt = lambda d: ", ".join(f"{k} {v:.3f}" for k, v in d.items())  # noqa: E731
    summary("evaluate", {"examples": len(rows), "baseline": fmt(baseline), "adapter": fmt(adapter),
                         "delta": ", ".join(f"{k} {v:+.3f}" for k, v in results["delta"].items()),
                         "predictions": args.predictions})
    return 0


if __name__ == "__main__":
    sys.exit(main())
