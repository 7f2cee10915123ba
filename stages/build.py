"""Build the training dataset from raw traces plus synthetic and adversarial examples.

    python -m stages.build --raw data/raw_traces --seeds data/seeds --out data/dataset --metrics metrics/dataset.json

Writes `train.jsonl`, `val.jsonl`, `quarantine.jsonl` and `dataset_manifest.json` under --out.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tqdm import tqdm

from stages.common.io import atomic_open, dumps_line, sha256_file, write_json, write_jsonl
from stages.common.log import get_logger, summary
from stages.common.params import load_or_exit
from stages.ingest.hf import iter_hf_rows
from stages.ingest.model import IngestError
from stages.lib.dataset import DatasetBuilder
from stages.lib.reader import RawLine, find_trace_files, read_lines
from stages.lib.redaction import iter_strings, scan_text
from stages.lib.synthesis import SeedError, generate, load_templates

log = get_logger("build")
MAX_PRINTED_ERRORS = 20


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", required=True, help="directory of raw *.jsonl traces")
    ap.add_argument("--seeds", required=True, help="directory with synthetic.jsonl / adversarial.jsonl templates")
    ap.add_argument("--out", required=True, help="output dataset directory")
    ap.add_argument("--metrics", required=True, help="flat metrics JSON for dvc metrics")
    ap.add_argument("--params", default="params.yaml")
    return ap.parse_args(argv)


def post_redaction_scan(paths: list[Path]) -> dict[str, int]:
    """Independent pass over the files as written: any rule hit here means a leak. It scans the
    decoded string values, not the JSON text, where an escaped "\\n@router" would read as an email."""
    hits: dict[str, int] = {}
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                for text in iter_strings(json.loads(line), keys=True):
                    for rule, n in scan_text(text).items():
                        hits[rule] = hits.get(rule, 0) + n
    return dict(sorted(hits.items()))


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = load_or_exit(args.params).data
    raw_dir, out_dir = Path(args.raw), Path(args.out)
    try:
        synth_t = load_templates(Path(args.seeds) / "synthetic.jsonl")
        adv_t = load_templates(Path(args.seeds) / "adversarial.jsonl")
    except SeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not raw_dir.exists():
        print(f"error: {raw_dir}: raw trace directory not found", file=sys.stderr)
        return 2

    builder = DatasetBuilder(params)
    files_info = []
    file_issues: list[dict[str, str]] = []
    with atomic_open(out_dir / "train.jsonl") as ftrain, atomic_open(out_dir / "val.jsonl") as fval:
        sinks = {"train": ftrain, "val": fval}

        def emit(result: tuple[str, dict] | None) -> None:
            if result:
                sinks[result[0]].write(dumps_line(result[1]) + "\n")

        files = find_trace_files(raw_dir)
        for path in tqdm(files, desc="build: raw files", unit="file", disable=None):
            rel = path.as_posix()
            before = sum(builder.acct.read.values())
            lines = 0
            for line in read_lines(path, rel):
                lines += 1
                emit(builder.add(line, "raw"))
            info = {"path": rel, "sha256": sha256_file(path), "lines": lines,
                    "records": sum(builder.acct.read.values()) - before}
            if lines == 0:
                info["empty"] = True
                file_issues.append({"origin": f"{rel}:0", "reason": "empty_file", "detail": "file has no lines"})
                log.warning("%s:0: empty_file: file has no lines", rel)
            files_info.append(info)

        for spec in params.hf_datasets:  # Hugging Face datasets, read offline (local dir or Hub cache)
            try:
                rows = iter_hf_rows(spec)
                for origin, row in tqdm(rows, desc=f"build: {spec}", unit="row", disable=None):
                    if isinstance(row, dict):
                        row.setdefault("source", f"hf:{spec}")
                    emit(builder.add(RawLine(origin, row=row), "raw"))
            except IngestError as exc:
                print(f"error: data.hf_datasets: {exc}", file=sys.stderr)
                return 2
            files_info.append({"path": f"hf:{spec}", "lines": None, "records": None})

        real_kept = builder.acct.kept
        for kind, templates, ratio in (("synthetic", synth_t, params.synthetic_ratio),
                                       ("adversarial", adv_t, params.adversarial_ratio)):
            count = round(ratio * real_kept) if templates else 0
            for i, row in enumerate(tqdm(generate(templates, kind, count, params.seed), total=count,
                                         desc=f"build: {kind}", unit="ex", disable=None)):
                emit(builder.add(RawLine(f"{kind}:{i}", row=row), kind))
    write_jsonl(out_dir / "quarantine.jsonl", [*file_issues, *(q.row() for q in builder.quarantine)])

    for q in builder.quarantine[:MAX_PRINTED_ERRORS]:
        log.warning("quarantined %s", q.message())
    if len(builder.quarantine) > MAX_PRINTED_ERRORS:
        log.warning("... %d more in %s", len(builder.quarantine) - MAX_PRINTED_ERRORS, out_dir / "quarantine.jsonl")

    acct = builder.acct
    scan = post_redaction_scan([out_dir / "train.jsonl", out_dir / "val.jsonl"])
    counts = acct.as_dict()
    empty_files = [f["path"] for f in files_info if f.get("empty")]
    gates = {
        "min_example_ok": acct.kept >= params.min_examples and acct.split["val"] > 0 and acct.split["train"] > 0,
        "min_examples": params.min_examples,
        "kept": acct.kept,
        "redaction_ok": sum(scan.values()) == 0,
        "post_redaction_hits": sum(scan.values()),
        "post_redaction_hits_by_rule": scan,
    }
    manifest = {
        "version": 1,
        "inputs": {"raw_dir": raw_dir.as_posix(), "files": files_info, "empty_files": empty_files,
                   "seed_templates": {"synthetic": len(synth_t), "adversarial": len(adv_t)}},
        "params": params.model_dump(),
        "counts": counts,
        "accounting_ok": acct.balanced(),
        "gates": gates,
    }
    write_json(out_dir / "dataset_manifest.json", manifest)
    flat = {k: counts[k] for k in ("read", "kept", "train", "val", "quarantined", "filtered", "duplicates", "redactions")}
    flat.update({f"read_{k}": v for k, v in counts["read_by_kind"].items()})
    flat.update({"empty_files": len(empty_files), "min_example_ok": gates["min_example_ok"],
                 "redaction_ok": gates["redaction_ok"]})
    # kept examples per source: `dvc metrics diff` and snapshot listings show where data came from
    flat["by_source"] = {src: sum(v.values()) for src, v in sorted(counts.get("by_source", {}).items())}
    write_json(args.metrics, flat)

    summary("build", {
        "files": f"{len(files_info)} ({len(empty_files)} empty)",
        "read": f"{counts['read']} ({', '.join(f'{k} {v}' for k, v in counts['read_by_kind'].items())})",
        "kept": f"{acct.kept} (train {acct.split['train']}, val {acct.split['val']})",
        "quarantined": f"{counts['quarantined']} {counts['quarantined_by_reason'] or ''}".strip(),
        "filtered": f"{counts['filtered']} {counts['filtered_by_reason'] or ''}".strip(),
        "duplicates": counts["duplicates"],
        "redactions": f"{counts['redactions']} in {counts['records_redacted']} records",
        "min_example_ok": gates["min_example_ok"],
        "redaction_ok": gates["redaction_ok"],
        "accounting": "balanced" if manifest["accounting_ok"] else "UNBALANCED",
    })
    return 0


if __name__ == "__main__":
    sys.exit(main())
