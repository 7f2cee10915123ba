"""Build the training dataset from raw traces plus synthetic and adversarial examples.

    python -m stages.build --raw data/raw_traces --seeds data/seeds --out data/dataset --metrics metrics/dataset.json

Writes `train.jsonl`, `val.jsonl`, `quarantine.jsonl` and `dataset_manifest.json` under --out.
Per-chunk results are cached under `data.cache_dir` (by content hash), `data.num_proc` workers
process new chunks; the outputs are byte-identical to a full rebuild. See docs/build.md.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import numpy as np
from tqdm import tqdm

from stages.common.io import atomic_open, write_json
from stages.common.log import get_logger, summary
from stages.common.params import DataParams, load_or_exit
from stages.ingest.hf import iter_hf_rows
from stages.ingest.model import IngestError
from stages.lib.build_cache import BuildCache, code_fingerprint, load_entry, params_fingerprint, process_lines, run_job
from stages.lib.dataset import Accounting, Entry, decide, fill_signatures, golden_keys, lsh_config, merge
from stages.lib.reader import RawLine, find_trace_files, read_lines
from stages.lib.redaction import get_engine, scan_line
from stages.lib.synthesis import SeedError, generate, load_templates

log = get_logger("build")
MAX_PRINTED_ERRORS = 20
GEN_BLOCK = 4096  # generated examples per cache entry
SYNTHESIS_SRC = Path(__file__).resolve().parent / "lib" / "synthesis.py"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--raw", required=True, help="directory of raw *.jsonl traces")
    ap.add_argument("--seeds", required=True, help="directory with synthetic.jsonl / adversarial.jsonl templates")
    ap.add_argument("--out", required=True, help="output dataset directory")
    ap.add_argument("--metrics", required=True, help="flat metrics JSON for dvc metrics")
    ap.add_argument("--params", default="params.yaml")
    return ap.parse_args(argv)


def post_redaction_scan(paths: list[Path]) -> dict[str, int]:
    """Independent pass over files as written: any rule hit here means a leak. It scans the decoded
    string values, not the JSON text, where an escaped "\\n@router" would read as an email."""
    hits: Counter[str] = Counter()
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                hits.update(scan_line(line.rstrip("\n")))
    return dict(sorted(hits.items()))


@dataclass
class BuildReport:
    """What a build did, for the summary and the benchmark (never written into the outputs)."""
    rc: int = 0
    bytes_in: int = 0
    bytes_computed: int = 0
    chunks: int = 0
    chunks_cached: int = 0
    timings: Counter[str] = field(default_factory=Counter)  # CPU seconds per part, summed over workers
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per phase
    counts: dict[str, Any] = field(default_factory=dict)
    rss_mb: dict[str, float] = field(default_factory=dict)  # peak RSS of this process after each phase


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _under(base: Path, p: str) -> Optional[Path]:
    return None if not p else (Path(p) if Path(p).is_absolute() else base / p)


def _run_jobs(todo: list[tuple[Any, dict[str, Any], str]], num_proc: int, report: BuildReport) -> None:
    bar = tqdm(total=sum(j.end - j.start for j, _, _ in todo), desc="build: parse/redact/filter", unit="B",
               unit_scale=True, disable=None)
    if num_proc > 1 and len(todo) > 1:
        with mp.get_context("fork").Pool(min(num_proc, len(todo))) as pool:
            results = pool.imap_unordered(run_job, todo)
            for res in results:
                _account(res, report, bar)
    else:
        for args in todo:
            _account(run_job(args), report, bar)
    bar.close()


def _account(res: dict[str, Any], report: BuildReport, bar: Any) -> None:
    bar.update(res["bytes"])
    report.timings.update(res["timings"])
    if not res["cached"]:
        report.bytes_computed += res["bytes"]


def _generated(cache: BuildCache, template_file: Path, kind: str, templates: list[Any], count: int, params: DataParams,
               fingerprint: str, report: BuildReport) -> list[Entry]:
    """Phase 1 for generated examples, cached in blocks of GEN_BLOCK rows. Row i depends only on
    (templates, seed, kind, i) (stages.lib.synthesis.generate), so the blocks of yesterday's build are
    reused and only the missing blocks are generated (usually the last, whose end moved)."""
    tag = hashlib.sha256(template_file.read_bytes() + SYNTHESIS_SRC.read_bytes()).hexdigest()
    blocks = [(b, min(count, b + GEN_BLOCK)) for b in range(0, count, GEN_BLOCK)]
    keys = [hashlib.sha256(f"gen|{kind}|{tag}|{params.seed}|{a}|{b}|{fingerprint}".encode()).hexdigest()[:40] for a, b in blocks]
    missing = [i for i, k in enumerate(keys) if not cache.has(k)]
    todo = sum(blocks[i][1] - blocks[i][0] for i in missing)
    bar = tqdm(total=todo, desc=f"build: {kind}", unit="ex", disable=None if todo else True)
    for i in missing:
        a, b = blocks[i]
        rows = generate(templates, kind, b, params.seed, start=a)
        lines = (RawLine(f"{kind}:{a + j}", row=row) for j, row in enumerate(rows))
        res = cache.store(keys[i], lambda d, lines=lines: process_lines(lines, params, kind, d))
        report.timings.update(res["timings"])
        bar.update(b - a)
    bar.close()
    cache.used.update(keys)
    return [load_entry(cache.entry_dir(k)) for k in keys]


def run(raw_dir: Path, seeds_dir: Path, out_dir: Path, metrics_path: Path, params: DataParams, base: Path) -> BuildReport:
    report = BuildReport()
    try:
        synth_t = load_templates(seeds_dir / "synthetic.jsonl")
        adv_t = load_templates(seeds_dir / "adversarial.jsonl")
    except SeedError as exc:
        print(f"error: {exc}", file=sys.stderr)
        report.rc = 2
        return report
    if not raw_dir.exists():
        print(f"error: {raw_dir}: raw trace directory not found", file=sys.stderr)
        report.rc = 2
        return report
    get_engine()  # compile the rule table and pick the LSH bands once, before workers fork
    lsh_config(params).bands
    t0 = time.perf_counter()
    cache = BuildCache(_under(base, params.cache_dir))
    ok = False
    try:
        files = find_trace_files(raw_dir)
        fingerprint = params_fingerprint(params) + code_fingerprint() + get_engine().name
        infos = cache.plan(files, lambda p: p.as_posix(), fingerprint)
        jobs = [j for info in infos for j in info.jobs]
        report.bytes_in = sum(i.size for i in infos)
        report.chunks = len(jobs)
        pdict = params.model_dump()
        todo = [(j, pdict, str(cache.entry_dir(j.key))) for j in jobs if not cache.has(j.key)]
        report.chunks_cached = len(jobs) - len(todo)
        t1 = time.perf_counter()
        report.phases["plan"] = t1 - t0
        _run_jobs(todo, params.num_proc, report)
        cache.used.update(j.key for j in jobs)
        t2 = time.perf_counter()
        report.phases["process"] = t2 - t1
        report.rss_mb["process"] = _rss_mb()

        entries = [load_entry(cache.entry_dir(j.key)) for j in jobs]
        hf_info = []
        for i, spec in enumerate(params.hf_datasets):  # Hugging Face datasets, read offline (local dir or Hub cache)
            try:
                rows = iter_hf_rows(spec)
                lines = (RawLine(origin, row=({**row, "source": row.get("source") or f"hf:{spec}"} if isinstance(row, dict) else row))
                         for origin, row in tqdm(rows, desc=f"build: {spec}", unit="row", disable=None))
                d = cache.scratch(f"hf{i}")
                report.timings.update(process_lines(lines, params, "raw", d)["timings"])
            except IngestError as exc:
                print(f"error: data.hf_datasets: {exc}", file=sys.stderr)
                report.rc = 2
                return report
            entries.append(load_entry(d))
            hf_info.append({"path": f"hf:{spec}", "lines": None, "records": None})

        golden_dir = _under(base, params.golden_dir)
        golden_files = find_trace_files(golden_dir) if golden_dir is not None and golden_dir.is_dir() else []
        nb = lsh_config(params).bands[0]
        golden = golden_keys(golden_files, params, read_lines) if golden_files else np.zeros((0, nb), dtype=np.uint64)

        acct = Accounting()
        t3 = time.perf_counter()
        with atomic_open(out_dir / "train.jsonl", "wb") as ftrain, atomic_open(out_dir / "val.jsonl", "wb") as fval:
            sinks = {"train": ftrain, "val": fval}
            status, info = decide(entries, np.zeros(0, dtype=np.uint64), golden, params.near_dedup)
            t4 = time.perf_counter()
            kept_ids = merge(entries, status, acct, sinks)
            acct.near_dup_cross_split += info["cross_split"]
            t5 = time.perf_counter()
            real_kept = acct.kept
            gen_entries: list[Entry] = []
            for kind, templates, ratio in (("synthetic", synth_t, params.synthetic_ratio),
                                           ("adversarial", adv_t, params.adversarial_ratio)):
                count = round(ratio * real_kept) if templates else 0
                gen_entries += _generated(cache, seeds_dir / f"{kind}.jsonl", kind, templates, count, params, fingerprint, report)
            report.phases["generated"] = time.perf_counter() - t5
            # generated examples: exact dedup against everything kept, golden exclusion; no near-dedup,
            # since examples from one template are near-copies by design
            if len(golden):
                for e in gen_entries:
                    fill_signatures(e, params)
            status, _ = decide(gen_entries, np.sort(kept_ids), golden, near=False)
            merge(gen_entries, status, acct, sinks)
        t6 = time.perf_counter()
        report.timings["dedup"] += t4 - t3
        report.timings["write"] += t5 - t4
        report.phases["merge"] = t6 - t3
        report.rss_mb["merge"] = _rss_mb()

        file_issues: list[dict[str, str]] = []
        files_info = []
        by_job = iter(entries)
        for info_f in infos:
            file_entries = [next(by_job) for _ in info_f.jobs]
            info_d: dict[str, Any] = {"path": info_f.rel, "sha256": info_f.sha256, "lines": info_f.lines,
                                      "records": sum(e.stats.read for e in file_entries)}
            if info_f.lines == 0:
                info_d["empty"] = True
                file_issues.append({"origin": f"{info_f.rel}:0", "reason": "empty_file", "detail": "file has no lines"})
                log.warning("%s:0: empty_file: file has no lines", info_f.rel)
            files_info.append(info_d)
        files_info += hf_info
        printed = 0
        with atomic_open(out_dir / "quarantine.jsonl") as fq:
            for row in file_issues:
                fq.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
            for e in [*entries, *gen_entries]:
                with open(e.quarantine_path, encoding="utf-8") as src:
                    for line in src:
                        fq.write(line)
                        if printed < MAX_PRINTED_ERRORS:
                            q = json.loads(line)
                            log.warning("quarantined %s: %s%s", q["origin"], q["reason"], f": {q['detail']}" if q["detail"] else "")
                        printed += 1
        if printed > MAX_PRINTED_ERRORS:
            log.warning("... %d more in %s", printed - MAX_PRINTED_ERRORS, out_dir / "quarantine.jsonl")

        gates = _write_reports(out_dir, metrics_path, raw_dir, params, acct, files_info, len(synth_t), len(adv_t), len(golden))
        report.counts = acct.as_dict()
        report.phases["total"] = time.perf_counter() - t0
        ok = True
        _summary(report, acct, files_info, cache, gates)
        return report
    finally:
        cache.finish(ok)


def _write_reports(out_dir: Path, metrics_path: Path, raw_dir: Path, params: DataParams, acct: Accounting,
                   files_info: list[dict[str, Any]], n_synth: int, n_adv: int, n_golden: int) -> dict[str, Any]:
    counts = acct.as_dict()
    scan = dict(sorted(acct.leaks.items()))
    empty_files = [f["path"] for f in files_info if f.get("empty")]
    gates = {
        "min_example_ok": acct.kept >= params.min_examples and acct.split["val"] > 0 and acct.split["train"] > 0,
        "min_examples": params.min_examples,
        "kept": acct.kept,
        "redaction_ok": sum(scan.values()) == 0,
        "post_redaction_hits": sum(scan.values()),
        "post_redaction_hits_by_rule": scan,
    }
    lsh = lsh_config(params)
    manifest = {
        "version": 2,
        "inputs": {"raw_dir": raw_dir.as_posix(), "files": files_info, "empty_files": empty_files,
                   "seed_templates": {"synthetic": n_synth, "adversarial": n_adv},
                   "golden": {"dir": params.golden_dir, "examples": n_golden}},
        "params": params.model_dump(),
        "dedup": {"exact": "sha256 of the canonical conversation", "near": params.near_dedup,
                  "minhash": {"num_perm": lsh.num_perm, "shingle_size": lsh.shingle_size, "threshold": lsh.threshold,
                              "bands": lsh.bands[0], "rows": lsh.bands[1]}},
        "counts": counts,
        "accounting_ok": acct.balanced(),
        "gates": gates,
    }
    write_json(out_dir / "dataset_manifest.json", manifest)
    flat = {k: counts[k] for k in ("read", "kept", "train", "val", "quarantined", "filtered", "duplicates", "redactions")}
    flat.update({f"read_{k}": v for k, v in counts["read_by_kind"].items()})
    flat.update({"near_duplicates": counts["duplicates_by_kind"]["near"], "golden_overlap": counts["duplicates_by_kind"]["golden"],
                 "empty_files": len(empty_files), "min_example_ok": gates["min_example_ok"],
                 "redaction_ok": gates["redaction_ok"]})
    # kept examples per source: `dvc metrics diff` and snapshot listings show where data came from
    flat["by_source"] = {src: sum(v.values()) for src, v in sorted(counts.get("by_source", {}).items())}
    write_json(metrics_path, flat)
    return gates


def _summary(report: BuildReport, acct: Accounting, files_info: list[dict[str, Any]], cache: BuildCache,
             gates: dict[str, Any]) -> None:
    counts = acct.as_dict()
    empty = sum(1 for f in files_info if f.get("empty"))
    leaks = sum(acct.leaks.values())
    summary("build", {
        "files": f"{len(files_info)} ({empty} empty), {report.bytes_in / 2**20:.1f} MB",
        "chunks": f"{report.chunks} ({report.chunks_cached} from cache)" + ("" if cache.root else ", cache off"),
        "read": f"{counts['read']} ({', '.join(f'{k} {v}' for k, v in counts['read_by_kind'].items())})",
        "kept": f"{acct.kept} (train {acct.split['train']}, val {acct.split['val']})",
        "quarantined": f"{counts['quarantined']} {counts['quarantined_by_reason'] or ''}".strip(),
        "filtered": f"{counts['filtered']} {counts['filtered_by_reason'] or ''}".strip(),
        "duplicates": f"{counts['duplicates']} {counts['duplicates_by_kind']}, "
                      f"{counts['near_dup_cross_split_prevented']} train/val straddles prevented",
        "redactions": f"{counts['redactions']} in {counts['records_redacted']} records",
        "min_example_ok": gates["min_example_ok"],
        "redaction_ok": True if gates["redaction_ok"] else f"False ({leaks} post-redaction hits)",
        "accounting": "balanced" if acct.balanced() else "UNBALANCED",
        "time": f"{report.phases.get('total', 0):.1f} s",
    })


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    params = load_or_exit(args.params).data
    base = Path(args.params).resolve().parent
    report = run(Path(args.raw), Path(args.seeds), Path(args.out), Path(args.metrics), params, base)
    return report.rc


if __name__ == "__main__":
    sys.exit(main())
