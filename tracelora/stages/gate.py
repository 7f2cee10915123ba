"""Decide whether the adapter is promoted; writes every check with value, threshold and reason.

    tracelora gate --manifest data/dataset/dataset_manifest.json --eval metrics/eval_results.json \
        --out metrics/gate_decision.json [--strict]

Fails closed: a missing or malformed input blocks promotion. Exits non-zero on a block only with
--strict, so `dvc repro` still records a blocked decision.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any

from tracelora.common.io import read_json_or_report, write_json
from tracelora.common.log import summary
from tracelora.common.params import load_or_exit
from tracelora.judging.gate_rules import decide



def print_decision(decision: dict[str, Any]) -> None:
    rows = {"decision": decision["decision"].upper()}
    for c in decision["checks"]:
        rows[c["name"]] = f"{'PASS' if c['passed'] else 'FAIL'}  {c['reason']}"
    summary("gate", rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora gate", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--manifest", help="dataset_manifest.json")
    ap.add_argument("--eval", help="eval_results.json")
    ap.add_argument("--out", help="gate_decision.json to write")
    ap.add_argument("--strict", action="store_true", help="exit 1 when promotion is blocked")
    ap.add_argument("--show", metavar="DECISION_JSON", help="print an existing decision and exit")
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    if args.show:
        errors: list[str] = []
        decision = read_json_or_report(args.show, errors)
        if errors or not isinstance(decision, dict) or "checks" not in decision:
            print(f"error: {args.show}: no gate decision (run `dvc repro`)", file=sys.stderr)
            return 2
        print_decision(decision)
        return 0 if decision.get("promote") or not args.strict else 1
    if not (args.manifest and args.eval and args.out):
        ap.error("--manifest, --eval and --out are required (or use --show)")
    gate = load_or_exit(args.params).gate
    errors = []
    manifest = read_json_or_report(args.manifest, errors)
    results = read_json_or_report(args.eval, errors)
    decision = decide(manifest, results, gate, errors)
    write_json(args.out, decision)
    print_decision(decision)
    return 1 if args.strict and not decision["promote"] else 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
