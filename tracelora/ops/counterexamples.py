"""Collect the val examples the adapter failed into a review file for the daily loop.

    tracelora counterexamples [--predictions reports/predictions.jsonl] \
        [--out data/seeds/counterexamples.jsonl] [--min-keyword-recall 0.5] [--regressions-only]

A prediction counts as failed when the adapter answered an adversarial example unsafely, refused
a benign one, got a tool call wrong (tool_args_match < 1), or recalled fewer than --min-keyword-recall of the
reference's keywords (and did not match exactly). Each becomes one row in the seed contract
(`messages` = prompt + reference turn, `source`, `task_category`, `outcome`) plus a `review`
block (status `pending`, what failed, both outputs), so it can be fixed and then copied into
data/raw_traces/ as a hard counterexample.

The file is merged by `counterexample_id`: rows already there are kept byte for byte (your edits
and review statuses survive), only new failures are appended, sorted by id; a second run with the
same predictions changes nothing. A malformed existing file stops the command with file:line and
is left untouched. Golden-set predictions are never collected: training on them would void them.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tracelora.common.io import atomic_open, dumps_line
from tracelora.common.log import summary
from tracelora.formats.jsonl import JsonlError, read_rows, strict_lines

_UNTOUCHED = "fix or remove the line, nothing was written"


def failures(row: dict[str, Any], min_keyword_recall: float, regressions_only: bool = False) -> list[str]:
    """Why the adapter failed this example (empty: it did not)."""
    a, b = row.get("adapter") or {}, row.get("baseline") or {}
    why = []
    if a.get("safe_refusal_rate") == 0.0:
        why.append("unsafe: did not refuse an adversarial request")
    if a.get("over_refusal_rate") == 1.0:
        why.append("over_refusal: refused a benign request")
    if "tool_args_match" in a and a["tool_args_match"] < 1.0:
        why.append("tool_call: " + ("malformed call" if not a.get("tool_call_valid") else
                                    "wrong tool" if a.get("tool_name_accuracy", 0) < 1 else "wrong arguments"))
    if a.get("exact_match", 0.0) < 1.0 and a.get("keyword_recall", 1.0) < min_keyword_recall:
        why.append(f"keywords: recalled {a['keyword_recall']:.2f} of the reference's keywords")
    if regressions_only and not any(a.get(m, 0.0) < b.get(m, 0.0) for m in a):
        return []
    return why


def counterexample(row: dict[str, Any], why: list[str], predictions: str) -> dict[str, Any]:
    return {
        "counterexample_id": row["id"],
        "messages": [*row["prompt"], row["reference_message"]],
        **({"tools": row["tools"]} if row.get("tools") else {}),
        "source": "counterexample",
        "task_category": row.get("task_category", "general"),
        "outcome": "success",
        "keywords": row.get("keywords", []),
        "review": {"status": "pending", "failed": why, "eval_source": row.get("source"), "turn": row.get("turn"),
                   "adapter_output": row.get("adapter_output", ""), "baseline_output": row.get("baseline_output", ""),
                   "adapter_scores": row.get("adapter", {}), "from": predictions},
    }


def read_existing(path: Path) -> tuple[list[str], set[str]]:
    """Existing lines verbatim (the file is rewritten from them, so re-serializing would lose the
    user's formatting) and the ids they hold; ValueError names file:line on a bad line."""
    if not path.exists():
        return [], set()
    lines, ids = [], set()
    try:
        for line in strict_lines(path, keep_text=True):
            if not isinstance(line.row, dict):
                raise ValueError(f"{line.origin}: not a JSON object; {_UNTOUCHED}")
            if isinstance(line.row.get("counterexample_id"), str):
                ids.add(line.row["counterexample_id"])
            lines.append(line.text)
    except JsonlError as exc:
        raise ValueError(f"{exc}; {_UNTOUCHED}") from None
    return lines, ids


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora counterexamples", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--predictions", default="reports/predictions.jsonl")
    ap.add_argument("--out", default="data/seeds/counterexamples.jsonl")
    ap.add_argument("--min-keyword-recall", type=float, default=0.5)
    ap.add_argument("--regressions-only", action="store_true", help="only examples where the adapter scored below the base model")
    args = ap.parse_args(argv)
    try:
        rows = [row for _, row in read_rows(args.predictions)]
    except FileNotFoundError:
        print(f"error: {args.predictions}: missing (run `dvc repro evaluate` first)", file=sys.stderr)
        return 2
    except JsonlError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    try:
        lines, ids = read_existing(out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    found, bad = [], 0
    for row in rows:
        if row.get("split", "val") != "val":
            continue
        if not {"id", "prompt", "reference_message", "adapter"} <= set(row):
            bad += 1
            continue
        if why := failures(row, args.min_keyword_recall, args.regressions_only):
            found.append(counterexample(row, why, args.predictions))
    new = sorted((c for c in found if c["counterexample_id"] not in ids), key=lambda c: c["counterexample_id"])
    if new or not out.exists():
        with atomic_open(out) as fh:
            for line in lines:
                fh.write(line + "\n")
            for c in new:
                fh.write(dumps_line(c) + "\n")
    summary("counterexamples", {
        "predictions": f"{len(rows)} rows" + (f" ({bad} without the fields needed, skipped)" if bad else ""),
        "adapter failed": len(found), "new": len(new), "already in file": len(found) - len(new),
        "file": f"{out} ({len(lines) + len(new)} rows)",
        "next": "review each row (fix the reference, set review.status to accepted or rejected), write accepted "
                "ones as new variants into data/raw_traces/, rerun `dvc repro` (docs/eval.md)"})
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
