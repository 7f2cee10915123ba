"""Build the training dataset from raw traces plus synthetic and adversarial examples.

    tracelora build --raw data/raw_traces --seeds data/seeds --out data/dataset --metrics metrics/dataset.json

Writes `train.jsonl`, `val.jsonl`, `quarantine.jsonl` and `dataset_manifest.json` under --out.
Exit codes: 0 done, 2 the build cannot start (one line), 3 a secret survived redaction somewhere: its
lines were quarantined, never written, and the build fails closed.
Per-chunk results are cached under `data.cache_dir` (by content hash), `data.num_proc` workers
process new chunks; the outputs are byte-identical to a full rebuild. See docs/build.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tracelora.common.log import summary
from tracelora.common.params import load_or_exit
from tracelora.common.paths import project_root
from tracelora.dataset.build import BuildError, build_dataset, summary_rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="tracelora build", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", required=True, help="directory of raw *.jsonl traces")
    ap.add_argument("--seeds", required=True, help="directory with synthetic.jsonl / adversarial.jsonl templates")
    ap.add_argument("--out", required=True, help="output dataset directory")
    ap.add_argument("--metrics", required=True, help="flat metrics JSON for dvc metrics")
    ap.add_argument("--params", default="params.yaml")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = load_or_exit(args.params).data
    try:
        report = build_dataset(Path(args.raw), Path(args.seeds), Path(args.out), Path(args.metrics), params,
                               project_root(args.params))
    except BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary("build", summary_rows(report))
    if report.leaks:  # fail closed: the lines were quarantined, and nothing downstream may run on this build
        print(f"error: {report.leaks} secret-like strings survived redaction; their lines were quarantined "
              f"(reason post_redaction_hit in {Path(args.out) / 'quarantine.jsonl'}, rules named in the manifest); "
              "redaction_ok is false", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
