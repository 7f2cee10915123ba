"""The build's reports: `dataset_manifest.json` (every input file, every count, the params used, the
gates with their inputs) and the flat `metrics/dataset.json` that `dvc metrics diff` compares."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from tracelora.common.io import write_json
from tracelora.common.params import DataParams
from tracelora.common.paths import collapse_home
from tracelora.dataset.pipeline import POST_REDACTION_HIT, Accounting, lsh_config

MANIFEST_VERSION = 2
FLAT_COUNTS = ("read", "kept", "train", "val", "quarantined", "filtered", "duplicates", "redactions")


def gates(params: DataParams, acct: Accounting) -> dict[str, Any]:
    """The dataset's own gates, which `gate` re-checks: enough examples in both splits, no leak."""
    scan = dict(sorted(acct.leaks.items()))
    return {
        "min_example_ok": acct.kept >= params.min_examples and acct.split["val"] > 0 and acct.split["train"] > 0,
        "min_examples": params.min_examples,
        "kept": acct.kept,
        "redaction_ok": sum(scan.values()) == 0,
        "post_redaction_hits": sum(scan.values()),
        "post_redaction_hits_by_rule": scan,
        "post_redaction_quarantined": acct.quarantined[POST_REDACTION_HIT],
    }


def write_reports(out_dir: Path, metrics_path: Path, raw_dir: Path, params: DataParams, acct: Accounting,
                  files_info: list[dict[str, Any]], n_synth: int, n_adv: int, n_golden: int) -> dict[str, Any]:
    """Write the manifest and the flat metrics; returns the gates."""
    counts = acct.as_dict()
    g = gates(params, acct)
    empty_files = [f["path"] for f in files_info if f.get("empty")]
    lsh = lsh_config(params)
    manifest = {
        "version": MANIFEST_VERSION,
        "inputs": {"raw_dir": collapse_home(raw_dir.as_posix()), "files": files_info, "empty_files": empty_files,
                   "seed_templates": {"synthetic": n_synth, "adversarial": n_adv},
                   "golden": {"dir": params.golden_dir, "examples": n_golden}},
        "params": params.model_dump(),
        "dedup": {"exact": "sha256 of the canonical conversation", "near": params.near_dedup,
                  "minhash": {"num_perm": lsh.num_perm, "shingle_size": lsh.shingle_size, "threshold": lsh.threshold,
                              "bands": lsh.bands[0], "rows": lsh.bands[1]}},
        "counts": counts,
        "yield": acct.yield_block(),
        # random-looking tokens no redaction rule explained, left in kept lines: for a person to look at
        # (tracelora.cleaning.leak_check.review_tokens; an entropy detector has false positives)
        "review": {"high_entropy_tokens": acct.review_tokens, "first_origins": acct.review_origins},
        "accounting_ok": acct.balanced(),
        "gates": g,
    }
    write_json(out_dir / "dataset_manifest.json", manifest)
    flat: dict[str, Any] = {k: counts[k] for k in FLAT_COUNTS}
    flat.update({f"read_{k}": v for k, v in counts["read_by_kind"].items()})
    flat.update({"near_duplicates": counts["duplicates_by_kind"]["near"], "golden_overlap": counts["duplicates_by_kind"]["golden"],
                 "empty_files": len(empty_files), "min_example_ok": g["min_example_ok"],
                 "review_high_entropy_tokens": acct.review_tokens,
                 "redaction_ok": g["redaction_ok"]})
    # kept examples per source: `dvc metrics diff` and snapshot listings show where data came from
    flat["by_source"] = {src: sum(v.values()) for src, v in sorted(counts.get("by_source", {}).items())}
    # how much of the ingested sessions' content reaches train/val (the manifest has where the rest went)
    flat["yield"] = {k: v for k, v in manifest["yield"].items() if k != "unit"}
    write_json(metrics_path, flat)
    return g
