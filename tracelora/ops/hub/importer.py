"""import-dataset: THE way a Hugging Face dataset becomes traces. From a Hub repo (downloaded), a
repo already in the local Hub cache (offline), or a local directory (a `save_to_disk` dataset or a
dir of data files), rows become redacted trace files under data/raw_traces/hf/<name>/, one output
per input file (or per split of a saved dataset), through the same normalizer as `build`, so build
reads them like any trace and DVC tracks them. Bad rows are quarantined with origin and a stable
reason in a side file outside raw_traces; nothing is silently dropped.
"""
from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from tqdm import tqdm

from tracelora.cleaning.redaction import Redactor, redact_record
from tracelora.common.io import atomic_open, dumps_line, write_jsonl
from tracelora.formats.hf import (DATA_SUFFIXES, HFDataError, canonical_split, is_data_file, is_saved_dataset,
                                  iter_dataset_rows, iter_file_rows, saved_splits, split_of)
from tracelora.formats.jsonl import RawLine
from tracelora.formats.records import FormatError, normalize, with_id
from tracelora.formats.tally import Tally
from tracelora.ops.hub.client import HubError, api, check_repo_id, offline_mode, sync_environment, with_retry

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass
class FileSummary:
    """One imported file: where it came from, where it went, and its `Tally` (the build's vocabulary)."""
    source: str
    output: str
    tally: Tally = field(default_factory=Tally)

    @property
    def converted(self) -> int:
        return self.tally.kept

    def line(self) -> str:
        quarantined = self.tally.quarantined
        q = sum(quarantined.values())
        reasons = f" {dict(sorted(quarantined.items()))}" if q else ""
        return (f"{self.source}: {self.tally.read} rows -> {self.converted} records, {q} quarantined{reasons}, "
                f"{sum(self.tally.redactions.values())} redactions -> {self.output}")


@dataclass
class ImportResult:
    name: str  # what `hf:` names in every record: OWNER/NAME, or the local dir's name
    out_dir: Path
    quarantine_file: Path
    files: list[FileSummary]
    skipped_files: list[str]

    @property
    def converted(self) -> int:
        return sum(f.converted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(sum(f.tally.quarantined.values()) for f in self.files)


def slug(name: str) -> str:
    return name.replace("/", "__")


def output_name(rel: str) -> str:
    """`data/train-00000.parquet` -> `data__train-00000.jsonl` (flat, unique, build-readable)."""
    return Path(rel).with_suffix("").as_posix().replace("/", "__") + ".jsonl"


def convert_rows(rows: Iterator[RawLine], display: str, source: str, out_path: Path,
                 quarantine: list[dict[str, str]]) -> FileSummary:
    """Normalize + redact every row into out_path (atomic); failures go to `quarantine`."""
    summary = FileSummary(display, out_path.as_posix())
    tally = summary.tally
    redact_detail = Redactor().text
    with atomic_open(out_path) as fh:
        for line in rows:
            tally.lines += 1
            if line.blank:
                tally.blank_lines += 1
                continue
            tally.read += 1
            reason, detail = line.reason, line.detail
            if not reason:
                try:
                    record = normalize(line.row, line.origin, default_source=source)
                except FormatError as exc:
                    reason, detail = exc.reason, exc.detail
                else:
                    record, hits = redact_record(record)
                    if hits:
                        tally.redactions.update(hits)
                        tally.records_redacted += 1
                    fh.write(dumps_line(with_id(record)) + "\n")
                    continue
            tally.quarantined[reason] += 1
            quarantine.append({"origin": line.origin, "reason": reason, "detail": redact_detail(detail)})
    return summary


def list_files(root: Path) -> list[str]:
    """Files under root, relative, hidden parts (.git, .cache, .gitattributes) left out."""
    rels = (p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    return sorted(rel for rel in rels if not any(part.startswith(".") for part in rel.split("/")))


def select_files(files: list[str], splits: list[str] | None,
                 include: list[str] | None = None) -> tuple[list[str], list[str]]:
    """Data files to convert (readable type, matching --include, wanted split) and the rest
    (reported, not converted)."""
    from huggingface_hub.utils import filter_repo_objects

    wanted = set(filter_repo_objects(files, allow_patterns=include)) if include else set(files)
    chosen, skipped = [], []
    for rel in sorted(files):
        if rel not in wanted or not is_data_file(rel) or (splits and split_of(rel) not in splits):
            skipped.append(rel)
        else:
            chosen.append(rel)
    return chosen, skipped


def download(repo_id: str, include: list[str] | None, revision: str | None, dest: Path,
             on_retry: Callable[[str], None] | None = None) -> Path:
    from huggingface_hub import snapshot_download

    client = api()
    return Path(with_retry(snapshot_download, repo_id, repo_type="dataset", revision=revision,
                           allow_patterns=include or None, local_dir=dest, endpoint=client.endpoint,
                           token=client.token, on_retry=on_retry))


def cached(repo_id: str, revision: str | None, cache_dir: Path | None = None) -> Path:
    """The repo's snapshot in the local Hub cache, without any request."""
    from huggingface_hub import constants, snapshot_download

    sync_environment()
    try:
        return Path(snapshot_download(repo_id, repo_type="dataset", revision=revision, local_files_only=True,
                                      cache_dir=cache_dir))
    except Exception:  # noqa: BLE001 - LocalEntryNotFoundError, or a broken cache entry
        at = revision or "main"
        raise HubError(f"{repo_id}@{at}: not in the local Hub cache ({cache_dir or constants.HF_HUB_CACHE}); "
                       f"fetch it once with `hf download --repo-type dataset {repo_id}`, or import it online") from None


@contextmanager
def _snapshot(source: str, include: list[str] | None, revision: str | None, offline: bool, cache_dir: Path | None,
              on_retry: Callable[[str], None] | None) -> Iterator[tuple[str, Path]]:
    """(name, local root) for a source: a local dir as it is, a cached repo in place, else a download
    into a temp dir that is gone after the block."""
    local = Path(source).expanduser()
    if local.exists():
        if not local.is_dir():
            raise HubError(f"{source}: not a directory (pass a save_to_disk dataset dir or a dir of data files; "
                           "a single chat file goes through `tracelora ingest --from chat`)")
        if revision:
            raise HubError(f"--revision {revision}: {source} is a local directory, not a Hub repo")
        yield re.sub(r"[^A-Za-z0-9._-]", "_", local.resolve().name).lstrip("._-") or "dataset", local
        return
    try:
        check_repo_id(source)
    except HubError as exc:
        looks_local = source.startswith((".", "/", "~")) or source.count("/") > 1 or "\\" in source
        raise HubError(f"{source}: no such directory" if looks_local else f"{exc} (and no such local directory)") from None
    if offline:
        yield source, cached(source, revision, cache_dir)
        return
    with tempfile.TemporaryDirectory(prefix="hub-import-") as tmp:
        yield source, download(source, include, revision, Path(tmp), on_retry)


def _convert_saved(root: Path, name: str, out_dir: Path, splits: list[str], include: list[str] | None,
                   quarantine: list[dict[str, str]]) -> tuple[list[FileSummary], list[str]]:
    if include:
        raise HubError(f"{name}: a saved dataset (save_to_disk) has no data files to --include; use --split")
    try:
        loaded = saved_splits(root)
    except HFDataError as exc:
        raise HubError(str(exc)) from None
    chosen = [s for s in sorted(loaded) if not splits or canonical_split(s) in splits]
    if not chosen:
        raise HubError(f"{name}: no split {', '.join(splits)} in the saved dataset (it has {', '.join(sorted(loaded))})")
    summaries = [convert_rows(iter_dataset_rows(loaded[s], f"hf:{name}/{s}"), f"hf:{name}/{s}", f"hf:{name}",
                              out_dir / f"{s}.jsonl", quarantine)
                 for s in tqdm(chosen, desc="import: splits", unit="split", disable=None)]
    return summaries, [s for s in sorted(loaded) if s not in chosen]


def _convert_files(root: Path, name: str, out_dir: Path, splits: list[str], include: list[str] | None,
                   quarantine: list[dict[str, str]]) -> tuple[list[FileSummary], list[str]]:
    files = list_files(root)
    chosen, skipped = select_files(files, splits, include)
    if not chosen:
        wanted = f" for split(s) {', '.join(splits)}" if splits else ""
        raise HubError(f"{name}: no data files ({', '.join(DATA_SUFFIXES)}){wanted} among "
                       f"{len(files)} file(s); use --include PATTERN to select them")
    summaries = [convert_rows(iter_file_rows(root / rel, f"hf:{name}/{rel}"), f"hf:{name}/{rel}", f"hf:{name}",
                              out_dir / output_name(rel), quarantine)
                 for rel in tqdm(chosen, desc="import: files", unit="file", disable=None)]
    return summaries, skipped


def import_dataset(source: str, raw_dir: Path, quarantine_dir: Path, include: list[str] | None = None,
                   splits: list[str] | None = None, revision: str | None = None, offline: bool = False,
                   name: str | None = None, cache_dir: Path | None = None,
                   on_retry: Callable[[str], None] | None = None) -> ImportResult:
    """Convert a dataset (OWNER/NAME or a local dir) into RAW_DIR/hf/<name>/*.jsonl. `offline` (or
    HF_HUB_OFFLINE) reads a repo from the local Hub cache instead of downloading it; `name`
    overrides the output name (default: OWNER__NAME, or the local dir's name)."""
    if name is not None and not _NAME.fullmatch(name):
        raise HubError(f"--name {name!r}: letters, digits, '.', '_', '-' only")
    wanted = [canonical_split(s) for s in splits or []]
    with _snapshot(source, include, revision, offline or offline_mode(), cache_dir, on_retry) as (label, root):
        label = name or label
        out_dir = raw_dir / "hf" / slug(label)
        quarantine: list[dict[str, str]] = []
        convert = _convert_saved if is_saved_dataset(root) else _convert_files
        summaries, skipped = convert(root, label, out_dir, wanted, include, quarantine)
    quarantine_file = quarantine_dir / f"{slug(label)}.quarantine.jsonl"
    write_jsonl(quarantine_file, quarantine)
    return ImportResult(label, out_dir, quarantine_file, summaries, skipped)


def dvc_guidance(out_dir: Path) -> list[str]:
    d = out_dir.as_posix()
    return [f"dvc add {d}", f"git add {d}.dvc {out_dir.parent.as_posix()}/.gitignore",
            f"git commit -m 'data: import {out_dir.name}'", "dvc repro build"]


def dvc_add(out_dir: Path, cwd: Path) -> str:
    """Track the imported snapshot with DVC (same interpreter's dvc, no PATH assumptions)."""
    proc = subprocess.run([sys.executable, "-m", "dvc", "add", str(out_dir)], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr or proc.stdout).strip().splitlines()
        raise HubError(f"dvc add {out_dir} failed: {last[-1] if last else proc.returncode}")
    return f"tracked with DVC: {out_dir}.dvc (commit it with git)"
