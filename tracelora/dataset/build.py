"""The build driver: raw trace files + seed templates -> train/val/quarantine JSONL, the manifest and
the flat metrics, in two phases (docs/build.md).

Phase 1 runs per input chunk (parse, normalize, redact, filter, signatures; tracelora.dataset.pipeline),
cached by content hash (tracelora.dataset.cache) and spread over `data.num_proc` workers. Phase 2
always runs over every entry: corpus-wide exact/near dedup, the golden-set exclusion, generated
examples, the split, and the reports. So an incremental build writes exactly the bytes of a full one.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import resource
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Optional

import numpy as np
from tqdm import tqdm

from tracelora.common.io import atomic_open
from tracelora.common.log import get_logger
from tracelora.common.params import DataParams
from tracelora.common.paths import collapse_home, resolve
from tracelora.cleaning.redaction import get_engine
from tracelora.dataset import synthesis
from tracelora.dataset.cache import BuildCache, FileInfo, code_fingerprint, load_entry, params_fingerprint, process_lines, run_job
from tracelora.dataset.manifest import write_reports
from tracelora.dataset.pipeline import (Accounting, Entry, decide, fill_signatures, golden_keys, lsh_config, merge,
                                        session_conflicts)
from tracelora.dataset.synthesis import SeedError, Template, generate, load_templates
from tracelora.formats.jsonl import RawLine, find_trace_files, read_lines

log = get_logger("build")
MAX_PRINTED_ERRORS = 20
GEN_BLOCK = 4096  # generated examples per cache entry
SYNTHESIS_SRC = Path(synthesis.__file__)


class BuildError(Exception):
    """The build cannot start (no raw dir, a broken seed file): one line for the user, exit code 2."""


@dataclass
class BuildReport:
    """What a build did, for the summary and the benchmark (never written into the outputs)."""
    bytes_in: int = 0
    bytes_computed: int = 0
    chunks: int = 0
    chunks_cached: int = 0
    cache_on: bool = True
    files: list[dict[str, Any]] = field(default_factory=list)  # the manifest's inputs.files
    gates: dict[str, Any] = field(default_factory=dict)
    accounting_ok: bool = False
    leaks: int = 0
    timings: Counter[str] = field(default_factory=Counter)  # CPU seconds per part, summed over workers
    phases: dict[str, float] = field(default_factory=dict)  # wall seconds per phase
    counts: dict[str, Any] = field(default_factory=dict)
    yield_: dict[str, Any] = field(default_factory=dict)  # the manifest's yield block
    rss_mb: dict[str, float] = field(default_factory=dict)  # peak RSS of this process after each phase


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_dataset(raw_dir: Path, seeds_dir: Path, out_dir: Path, metrics_path: Path, params: DataParams,
                  root: Path) -> BuildReport:
    """Run the whole build; paths in `params` resolve against `root` (tracelora.common.paths)."""
    try:
        synth_t = load_templates(seeds_dir / "synthetic.jsonl")
        adv_t = load_templates(seeds_dir / "adversarial.jsonl")
    except SeedError as exc:
        raise BuildError(str(exc)) from None
    if not raw_dir.exists():
        raise BuildError(f"{raw_dir}: raw trace directory not found")
    get_engine()  # the rule table and the LSH bands (both cached) are computed once, before workers fork
    n_bands = lsh_config(params).bands[0]
    report = BuildReport()
    t0 = time.perf_counter()
    cache = BuildCache(resolve(params.cache_dir, root))
    report.cache_on = cache.root is not None
    ok = False
    try:
        fingerprint = params_fingerprint(params) + code_fingerprint() + get_engine().name
        infos, entries = _phase1(find_trace_files(raw_dir), cache, params, fingerprint, report)
        golden = _golden(resolve(params.golden_dir, root), params, n_bands)

        acct = Accounting()
        t3 = time.perf_counter()
        with atomic_open(out_dir / "train.jsonl", "wb") as ftrain, atomic_open(out_dir / "val.jsonl", "wb") as fval:
            sinks = {"train": ftrain, "val": fval}
            status, info = decide(entries, np.zeros(0, dtype=np.uint64), golden, params.near_dedup)
            t4 = time.perf_counter()
            kept_ids = merge(entries, status, acct, sinks)
            acct.session_conflicts = session_conflicts(entries, status)
            acct.near_dup_cross_split += info["cross_split"]
            t5 = time.perf_counter()
            gen_entries = _generated_all(cache, seeds_dir, synth_t, adv_t, acct.kept, params, fingerprint, report)
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

        report.files, file_issues = _files_info(infos, entries)
        _write_quarantine(out_dir / "quarantine.jsonl", file_issues, [*entries, *gen_entries])
        report.gates = write_reports(out_dir, metrics_path, raw_dir, params, acct, report.files, len(synth_t),
                                     len(adv_t), len(golden))
        report.counts = {**acct.as_dict(), "review_high_entropy_tokens": acct.review_tokens}
        report.yield_ = acct.yield_block()
        report.accounting_ok = acct.balanced()
        report.leaks = sum(acct.leaks.values())
        report.phases["total"] = time.perf_counter() - t0
        ok = True
        return report
    finally:
        cache.finish(ok)


def _phase1(files: list[Path], cache: BuildCache, params: DataParams, fingerprint: str,
            report: BuildReport) -> tuple[list[FileInfo], list[Entry]]:
    """Plan the chunks of every input file, compute the ones not cached, load every entry."""
    t0 = time.perf_counter()
    infos = cache.plan(files, lambda p: collapse_home(p.as_posix()), fingerprint)  # origins name no one
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
    report.phases["process"] = time.perf_counter() - t1
    report.rss_mb["process"] = _rss_mb()
    return infos, [load_entry(cache.entry_dir(j.key)) for j in jobs]


def _run_jobs(todo: list[tuple[Any, dict[str, Any], str]], num_proc: int, report: BuildReport) -> None:
    bar = tqdm(total=sum(j.end - j.start for j, _, _ in todo), desc="build: parse/redact/filter", unit="B",
               unit_scale=True, disable=None)
    if num_proc > 1 and len(todo) > 1:
        with mp.get_context("fork").Pool(min(num_proc, len(todo))) as pool:
            for res in pool.imap_unordered(run_job, todo):
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


def _golden(golden_dir: Optional[Path], params: DataParams, n_bands: int) -> np.ndarray:
    """Band keys of the golden set, whose near-copies never enter train or val (a missing dir: none)."""
    files = find_trace_files(golden_dir) if golden_dir is not None and golden_dir.is_dir() else []
    return golden_keys(files, params, read_lines) if files else np.zeros((0, n_bands), dtype=np.uint64)


def _generated_all(cache: BuildCache, seeds_dir: Path, synth_t: list[Template], adv_t: list[Template], real_kept: int,
                   params: DataParams, fingerprint: str, report: BuildReport) -> list[Entry]:
    """Synthetic and adversarial examples: `round(ratio x kept real examples)` of each kind."""
    out: list[Entry] = []
    for kind, templates, ratio in (("synthetic", synth_t, params.synthetic_ratio),
                                   ("adversarial", adv_t, params.adversarial_ratio)):
        count = round(ratio * real_kept) if templates else 0
        out += _generated(cache, seeds_dir / f"{kind}.jsonl", kind, templates, count, params, fingerprint, report)
    return out


def _generated(cache: BuildCache, template_file: Path, kind: str, templates: list[Template], count: int,
               params: DataParams, fingerprint: str, report: BuildReport) -> list[Entry]:
    """Phase 1 for generated examples, cached in blocks of GEN_BLOCK rows. Row i depends only on
    (templates, seed, kind, i) (tracelora.dataset.synthesis.generate), so the blocks of yesterday's build
    are reused and only the missing blocks are generated (usually the last, whose end moved)."""
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


def _files_info(infos: list[FileInfo], entries: list[Entry]) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """Per input file: path, sha256, lines and records read; an empty file is reported as `file:0`."""
    files_info: list[dict[str, Any]] = []
    issues: list[dict[str, str]] = []
    by_job = iter(entries)
    for info in infos:
        file_entries = [next(by_job) for _ in info.jobs]
        row: dict[str, Any] = {"path": info.rel, "sha256": info.sha256, "lines": info.lines,
                               "records": sum(e.stats.read for e in file_entries)}
        if info.lines == 0:
            row["empty"] = True
            issues.append({"origin": f"{info.rel}:0", "reason": "empty_file", "detail": "file has no lines"})
            log.warning("%s:0: empty_file: file has no lines", info.rel)
        files_info.append(row)
    return files_info, issues


def _write_quarantine(path: Path, file_issues: list[dict[str, str]], entries: list[Entry]) -> None:
    """File-level issues, then every entry's quarantined lines in build order; the first
    MAX_PRINTED_ERRORS also on stderr."""
    printed = 0
    with atomic_open(path) as fq:
        for row in file_issues:
            fq.write(json.dumps(row, ensure_ascii=False, separators=(",", ":")) + "\n")
        for e in entries:
            printed = _copy_quarantine(e, fq, printed)
    if printed > MAX_PRINTED_ERRORS:
        log.warning("... %d more in %s", printed - MAX_PRINTED_ERRORS, path)


def _copy_quarantine(entry: Entry, out: IO[str], printed: int) -> int:
    with open(entry.quarantine_path, encoding="utf-8") as src:
        for line in src:
            out.write(line)
            if printed < MAX_PRINTED_ERRORS:
                q = json.loads(line)
                log.warning("quarantined %s: %s%s", q["origin"], q["reason"], f": {q['detail']}" if q["detail"] else "")
            printed += 1
    return printed


def summary_rows(report: BuildReport) -> dict[str, Any]:
    """The human-readable block printed at the end of `tracelora build`."""
    counts = report.counts
    empty = sum(1 for f in report.files if f.get("empty"))
    return {
        "files": f"{len(report.files)} ({empty} empty), {report.bytes_in / 2**20:.1f} MB",
        "chunks": f"{report.chunks} ({report.chunks_cached} from cache)" + ("" if report.cache_on else ", cache off"),
        "read": f"{counts['read']} ({', '.join(f'{k} {v}' for k, v in counts['read_by_kind'].items())})",
        "kept": f"{counts['kept']} (train {counts['train']}, val {counts['val']})",
        "quarantined": f"{counts['quarantined']} {counts['quarantined_by_reason'] or ''}".strip(),
        "filtered": f"{counts['filtered']} {counts['filtered_by_reason'] or ''}".strip(),
        "duplicates": f"{counts['duplicates']} {counts['duplicates_by_kind']}, "
                      f"{counts['near_dup_cross_split_prevented']} train/val straddles prevented",
        "redactions": f"{counts['redactions']} in {counts['records_redacted']} records",
        "yield": _yield_line(report.yield_),
        "sessions twice": _conflict_line(report.counts.get("session_conflicts") or {}),
        "min_example_ok": report.gates["min_example_ok"],
        "redaction_ok": True if report.gates["redaction_ok"] else
        f"False ({report.leaks} post-redaction hits, {report.gates['post_redaction_quarantined']} lines quarantined)",
        "review": f"{counts.get('review_high_entropy_tokens', 0)} random-looking tokens no rule explained (manifest: review)",
        "accounting": "balanced" if report.accounting_ok else "UNBALANCED",
        "time": f"{report.phases.get('total', 0):.1f} s",
    }


def _yield_line(y: dict[str, Any]) -> str:
    """'assistant text 97.1% (lost: outcome_failure 2.9%), 100.0% of kept outcomes, tool calls ...'."""
    parts = []
    for name, label in (("assistant_chars", "assistant text"), ("tool_calls", "tool calls")):
        block = y.get(name) or {}
        if not block.get("read"):
            continue
        lost = sorted(block["lost_by_reason"].items(), key=lambda kv: -kv[1])[:3]
        read = block["read"]
        why = " (lost: " + ", ".join(f"{r} {v / read:.1%}" for r, v in lost) + ")" if lost else ""
        parts.append(f"{label} {block['share']:.1%}{why}, {block['share_of_kept_outcomes'] or 0:.1%} of kept outcomes")
    return ", ".join(parts) or "no real traces read"


def _conflict_line(c: dict[str, Any]) -> str:
    if not c.get("sessions"):
        return "none"
    first = c["examples"][0]
    return (f"{c['sessions']} sessions kept twice with different content (both kept; e.g. {first['session_id']} "
            f"from {', '.join(first['origins'][:2])}; manifest: counts.session_conflicts)")
