"""Score the base model and base+adapter on the same held-out examples.

    tracelora evaluate --val data/dataset/val.jsonl --base models/base --adapter models/adapter \
        --out metrics/eval_results.json --predictions reports/predictions.jsonl [--golden data/eval]

An example is a prompt (the conversation before an assistant turn) and a reference (that turn, tool
calls in the text format of tracelora.formats.chat_format). From val: the final assistant turn of the
first `eval.max_examples` records by id, topped up to `eval.min_safety_examples` adversarial
records, plus the first tool-calling turn of the first `eval.tool_call_examples` records that use
tools. The optional golden set (`data.golden_dir`/*.jsonl) is scored the same way and reported
under `golden`. Greedy decoding, seeded bootstrap: the numbers are reproducible.
"""
from __future__ import annotations

import argparse
import sys
import time

from tracelora.common.io import write_json, write_jsonl
from tracelora.common.log import get_logger, quiet_libraries, summary
from tracelora.common.params import load_or_exit
from tracelora.common.paths import project_root, resolve
from tracelora.dataset.golden import load_golden
from tracelora.formats.jsonl import JsonlError, read_rows
from tracelora.judging.evaluation import report, score_rows, select_items

log = get_logger("evaluate")


def _fmt(block: dict[str, float], sign: bool = False) -> str:
    return ", ".join(f"{k} {v:+.3f}" if sign else f"{k} {v:.3f}" for k, v in block.items())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora evaluate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--val", required=True)
    ap.add_argument("--base", required=True)
    ap.add_argument("--adapter", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--predictions", required=True)
    ap.add_argument("--golden", help="golden set directory (default: data.golden_dir, the one build keeps out of train/val)")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    p = params.eval
    quiet_libraries()

    try:
        rows = [row for _, row in read_rows(args.val)]
    except (OSError, JsonlError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    items = select_items(rows, p.max_examples, p.min_safety_examples, p.tool_call_examples)
    if not items:
        print(f"error: {args.val}: no example with a prompt and an assistant reply to evaluate", file=sys.stderr)
        return 2
    root = project_root(args.params)
    golden_dir = args.golden or resolve(params.data.golden_dir, root)
    golden_recs, golden_files, problems = load_golden(golden_dir, root) if golden_dir else ([], [], [])
    for msg in problems:
        print(f"warning: golden set: {msg} (line skipped)", file=sys.stderr)
    golden = select_items(golden_recs, len(golden_recs), 0, p.tool_call_examples, split="golden")

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from tracelora.model.generation import GenerationStats, generate

    prompts = [it["prompt"] for it in items + golden]
    tools = [it.get("tools") for it in items + golden]
    device = "cuda" if torch.cuda.is_available() else "cpu"
    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=dtype).to(device)

    stats = GenerationStats()
    gen = (p.max_new_tokens, p.batch_size, p.max_prompt_length)
    t0 = time.perf_counter()
    base_out = generate(model, tokenizer, prompts, *gen, desc="eval: baseline", stats=stats, tools=tools)
    t1 = time.perf_counter()
    # Merge LoRA weights into the base for evaluation: same outputs as the unmerged adapter, base speed.
    model = PeftModel.from_pretrained(model, args.adapter).merge_and_unload()
    adapter_out = generate(model, tokenizer, prompts, *gen, desc="eval: adapter", stats=stats, tools=tools)
    t2 = time.perf_counter()

    rows = score_rows(items + golden, base_out, adapter_out)
    val_rows, golden_rows = rows[:len(items)], rows[len(items):]
    results = report(val_rows, p)
    if golden_rows:
        results["golden"] = {**report(golden_rows, p), "files": golden_files, "skipped_lines": len(problems)}
    results["bootstrap"] = {"method": "paired percentile", "confidence": 0.95, "samples": p.bootstrap_samples,
                            "seed": p.bootstrap_seed}
    results["generation"] = {
        "max_new_tokens": p.max_new_tokens, "batch_size": p.batch_size, "device": device,
        "baseline_seconds": round(t1 - t0, 2), "adapter_seconds": round(t2 - t1, 2),
        "generated_tokens": stats.generated_tokens, "truncated_prompts": stats.truncated_prompts,
        "tokens_per_second": round(stats.generated_tokens / max(t2 - t0, 1e-9), 1)}
    write_jsonl(args.predictions, rows)
    write_json(args.out, results)

    ci = results["delta_ci"]
    rows_out = {"examples": f"{len(val_rows)} val ({results['n'].get('tool_call_valid', 0)} tool turns, "
                            f"{results['n'].get('safe_refusal_rate', 0)} adversarial)"
                            + (f" + {len(golden_rows)} golden" if golden_rows else ""),
                "baseline": _fmt(results["baseline"]), "adapter": _fmt(results["adapter"]),
                "delta [95% CI]": ", ".join(f"{k} {v:+.3f} [{ci[k]['low']:+.3f}, {ci[k]['high']:+.3f}]"
                                           for k, v in results["delta"].items() if k in ci)}
    if golden_rows:
        rows_out["golden delta"] = _fmt(results["golden"]["delta"], sign=True)
    rows_out["speed"] = f"{results['generation']['tokens_per_second']} generated tokens/s on {device}"
    rows_out["predictions"] = args.predictions
    summary("evaluate", rows_out)
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
