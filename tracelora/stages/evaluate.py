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
from pathlib import Path
from typing import Any

from tracelora.common.io import write_json, write_jsonl
from tracelora.common.log import get_logger, quiet_libraries, summary
from tracelora.common.params import EvalParams, load_or_exit
from tracelora.common.paths import project_root, resolve, shown
from tracelora.judging import metrics as M
from tracelora.formats.chat_format import message_text, prompt_and_reference
from tracelora.formats.jsonl import JsonlError, read_rows

log = get_logger("evaluate")


def _item(rec: dict[str, Any], prompt: list[dict[str, Any]], ref_msg: dict[str, Any], turn: int, kind: str,
          split: str) -> dict[str, Any]:
    meta = rec.get("metadata") or {}
    ref = message_text(ref_msg)
    extra = {"tools": rec["tools"]} if rec.get("tools") else {}
    return {**extra, "id": rec["id"] if kind == "final" else f"{rec['id']}:turn{turn}", "record_id": rec["id"], "split": split,
            "turn": kind, "source": str(meta.get("source", "unknown")), "task_category": str(meta.get("task_category", "general")),
            "adversarial": kind == "final" and M.is_adversarial(meta), "prompt": prompt, "reference": ref,
            "reference_message": ref_msg,
            "keywords": (meta.get("keywords") if kind == "final" else None) or M.keywords(ref)}  # metadata ones describe the final answer


def _final(rec: dict[str, Any], split: str) -> dict[str, Any] | None:
    pair = prompt_and_reference(rec)
    if not pair or not pair[0]:
        return None
    i = len(pair[0])
    return _item(rec, rec["messages"][:i], rec["messages"][i], i, "final", split)


def _first_tool_turn(rec: dict[str, Any], split: str) -> dict[str, Any] | None:
    msgs = rec["messages"]
    for i, m in enumerate(msgs):
        if m["role"] == "assistant" and m.get("tool_calls") and i > 0:
            return _item(rec, msgs[:i], m, i, "tool_call", split)
    return None


def select_items(records: list[dict[str, Any]], max_examples: int, min_safety: int, tool_examples: int,
                 split: str = "val") -> list[dict[str, Any]]:
    """A fixed, content-defined sample both models see (everything ordered by record id)."""
    finals = [it for r in sorted(records, key=lambda r: r["id"]) if (it := _final(r, split))]
    chosen = finals[:max_examples]
    have = sum(it["adversarial"] for it in chosen)
    for it in finals[max_examples:]:
        if have >= min_safety:
            break
        if it["adversarial"]:
            chosen.append(it)
            have += 1
    seen = {it["id"] for it in chosen}
    tools = [it for r in sorted(records, key=lambda r: r["id"]) if (it := _first_tool_turn(r, split))]
    chosen += [it for it in tools if it["id"] not in seen][:tool_examples]
    return chosen


def load_golden(directory: str | Path, root: Path | None = None) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Golden records from *.jsonl (any accepted trace format), redacted like the build does.
    Returns (records, files, problems); a bad line is reported as `file:line: reason`, never fatal.
    Files under `root` are named relative to it (tracelora.common.paths.shown)."""
    from tracelora.formats.jsonl import find_trace_files, read_lines
    from tracelora.formats.records import FormatError, normalize, with_id
    from tracelora.cleaning.redaction import redact_record

    directory = Path(directory)
    if not directory.is_dir():
        return [], [], []
    records, problems, files = [], [], []
    for path in find_trace_files(directory):
        name = shown(path, root) if root is not None else path.as_posix()
        files.append(name)
        for line in read_lines(path, name):
            if line.blank:
                continue
            if line.reason:
                problems.append(f"{line.origin}: {line.reason}: {line.detail}")
                continue
            try:
                rec = normalize(line.row, line.origin, default_source="golden")
            except FormatError as exc:
                problems.append(f"{line.origin}: {exc}")
                continue
            rec, _ = redact_record(rec)
            records.append(with_id(rec))
    unique = {r["id"]: r for r in records}
    return list(unique.values()), files, problems


def score_rows(items: list[dict[str, Any]], base_out: list[str], adapter_out: list[str]) -> list[dict[str, Any]]:
    rows = []
    for it, b, a in zip(items, base_out, adapter_out):
        keys, ref, adv = it["keywords"], it["reference"], it["adversarial"]
        rows.append({**it, "baseline_output": b, "adapter_output": a,
                     "baseline": M.score(b, ref, keys, adv), "adapter": M.score(a, ref, keys, adv)})
    return rows


def report(rows: list[dict[str, Any]], p: EvalParams) -> dict[str, Any]:
    """Flat-ish blocks for `dvc metrics diff`: overall first, then per task_category and source."""
    out = M.summarize(rows, p.bootstrap_samples, p.bootstrap_seed)
    out["by_task_category"] = M.by_group(rows, "task_category", p.bootstrap_samples, p.bootstrap_seed)
    out["by_source"] = M.by_group(rows, "source", p.bootstrap_samples, p.bootstrap_seed)
    return out


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
    sys.exit(main())
