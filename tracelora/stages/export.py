"""Export after the gate: when promoted, merge the adapter into the base model and write a model card.

    tracelora export --gate metrics/gate_decision.json --base models/base --adapter models/adapter \
        --manifest data/dataset/dataset_manifest.json --train-metrics metrics/train.json \
        --eval metrics/eval_results.json --out models/merged --metrics metrics/export.json

`models/merged/` always exists, so DVC has its out either way: promoted, it holds the merged
model (safetensors + config + tokenizer), README.md (the model card) and export_status.json;
blocked (or gate decision missing/malformed: fail closed), it holds only the card saying why and
export_status.json with `"exported": false`. Exit code 0 in both cases, like the gate.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tracelora.common.io import atomic_dir, read_json_or_report, write_json
from tracelora.common.log import get_logger, quiet_libraries, summary
from tracelora.common.params import load_or_exit
from tracelora.model.card import export_card
from tracelora.model.export import CARD, STATUS, merge_adapter
from tracelora.model.source import base_model_name

log = get_logger("export")


def _load(path: str | None, problems: list[str]) -> Any:
    return read_json_or_report(path, problems) if path else None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora export", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gate", required=True, help="gate_decision.json")
    ap.add_argument("--base", required=True, help="base model dir")
    ap.add_argument("--adapter", required=True, help="adapter dir")
    ap.add_argument("--manifest", help="dataset_manifest.json (card)")
    ap.add_argument("--train-metrics", help="train.json (card)")
    ap.add_argument("--eval", help="eval_results.json (card)")
    ap.add_argument("--out", required=True, help="merged model dir (always written)")
    ap.add_argument("--metrics", help="export.json summary")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params)
    quiet_libraries()
    problems: list[str] = []
    decision = _load(args.gate, problems)
    promote = isinstance(decision, dict) and decision.get("promote") is True
    inputs = dict(manifest=_load(args.manifest, problems), train_metrics=_load(args.train_metrics, problems),
                  eval_results=_load(args.eval, problems))
    base_name = base_model_name(params.model.base)
    n_params = None
    with atomic_dir(args.out) as tmp:
        if promote:
            if not (Path(args.adapter) / "adapter_config.json").is_file():
                print(f"error: {args.adapter}: no adapter_config.json (run the train stage first)", file=sys.stderr)
                return 2
            log.info("merging %s into %s", args.adapter, args.base)
            n_params = merge_adapter(args.base, args.adapter, tmp)
        card = export_card(exported=promote, base_name=base_name, decision=decision if isinstance(decision, dict) else None,
                          train_params=params.train.model_dump(), problems=problems, **inputs)
        (tmp / CARD).write_text(card, encoding="utf-8")
        reasons = [c.get("reason") for c in (decision or {}).get("checks", []) if not c.get("passed")] \
            if isinstance(decision, dict) else []
        status = {"exported": promote, "decision": (decision or {}).get("decision") if isinstance(decision, dict) else None,
                  "reasons": reasons + problems, "parameters": n_params,
                  "files": sorted(p.name for p in tmp.iterdir()) + [STATUS]}
        write_json(tmp / STATUS, status)
    if args.metrics:
        write_json(args.metrics, {k: status[k] for k in ("exported", "decision", "parameters")})
    summary("export", {"exported": "yes: merged model" if promote else "no: gate did not promote",
                       "out": args.out, "files": ", ".join(status["files"]),
                       **({"why": "; ".join(str(r) for r in status["reasons"])} if status["reasons"] else {})})
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
