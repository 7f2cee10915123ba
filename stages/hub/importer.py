"""import-dataset: download a dataset repo and turn its rows into redacted trace files under
data/raw_traces/hf/<owner>__<name>/, one output per input file, through the same normalizer as
`build` (so `build` reads them back unchanged). Bad rows are quarantined with file:row and a
stable reason in a side file outside raw_traces; nothing is silently dropped.
"""
from __future__ import annotations

import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from stages.common.io import atomic_open, dumps_line, write_jsonl
from stages.hub.client import HubError, api, check_repo_id, with_retry
from stages.hub.convert import SUPPORTED_SUFFIXES, iter_rows, split_of
from stages.lib.records import FormatError, normalize, with_id
from stages.lib.redaction import Redactor, redact_record


@dataclass
class FileSummary:
    source: str
    output: str
    rows: int = 0
    converted: int = 0
    blank: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)

    def line(self) -> str:
        q = sum(self.quarantined.values())
        reasons = f" {dict(sorted(self.quarantined.items()))}" if q else ""
        return (f"{self.source}: {self.rows} rows -> {self.converted} records, {q} quarantined{reasons}, "
                f"{sum(self.redactions.values())} redactions -> {self.output}")


@dataclass
class ImportResult:
    repo: str
    out_dir: Path
    quarantine_file: Path
    files: list[FileSummary]
    skipped_files: list[str]

    @property
    def converted(self) -> int:
        return sum(f.converted for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(sum(f.quarantined.values()) for f in self.files)


def slug(repo_id: str) -> str:
    return repo_id.replace("/", "__")


def output_name(rel: str) -> str:
    """`data/train-00000.parquet` -> `data__train-00000.jsonl` (flat, unique, build-readable)."""
    return Path(rel).with_suffix("").as_posix().replace("/", "__") + ".jsonl"


def convert_file(path: Path, rel: str, repo: str, out_path: Path, quarantine: list[dict[str, str]]) -> FileSummary:
    """Normalize + redact every row of one downloaded file into out_path (atomic)."""
    display = f"hf:{repo}/{rel}"
    summary = FileSummary(display, out_path.as_posix())
    redact_detail = Redactor().text
    with atomic_open(out_path) as fh:
        for line in iter_rows(path, display):
            if line.blank:
                summary.blank += 1
                continue
            summary.rows += 1
            reason, detail = line.reason, line.detail
            if not reason:
                try:
                    record = normalize(line.row, line.origin, default_source=f"hf:{repo}")
                except FormatError as exc:
                    reason, detail = exc.reason, exc.detail
                else:
                    record, hits = redact_record(record)
                    summary.redactions.update(hits)
                    fh.write(dumps_line(with_id(record)) + "\n")
                    summary.converted += 1
                    continue
            summary.quarantined[reason] += 1
            quarantine.append({"origin": line.origin, "reason": reason, "detail": redact_detail(detail)})
    return summary


def select_files(files: list[str], splits: list[str] | None) -> tuple[list[str], list[str]]:
    """Data files to convert (supported type, wanted split) and the rest (reported, not converted)."""
    chosen, skipped = [], []
    for rel in sorted(files):
        if Path(rel).suffix.lower() not in SUPPORTED_SUFFIXES or Path(rel).name.startswith("."):
            skipped.append(rel)
        elif splits and split_of(rel) not in splits:
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


def import_dataset(repo_id: str, raw_dir: Path, quarantine_dir: Path, include: list[str] | None = None,
                   splits: list[str] | None = None, revision: str | None = None,
                   on_retry: Callable[[str], None] | None = None) -> ImportResult:
    check_repo_id(repo_id)
    splits = [{"valid": "validation", "val": "validation", "dev": "validation"}.get(s, s) for s in splits or []]
    out_dir = raw_dir / "hf" / slug(repo_id)
    quarantine_file = quarantine_dir / f"{slug(repo_id)}.quarantine.jsonl"
    with tempfile.TemporaryDirectory(prefix="hub-import-") as tmp:
        root = download(repo_id, include, revision, Path(tmp), on_retry)
        files = [p.relative_to(root).as_posix() for p in root.rglob("*")
                 if p.is_file() and ".cache" not in p.relative_to(root).parts]
        chosen, skipped = select_files(files, splits)
        if not chosen:
            wanted = f" for split(s) {', '.join(splits)}" if splits else ""
            raise HubError(f"{repo_id}: no data files ({', '.join(SUPPORTED_SUFFIXES)}){wanted} among "
                           f"{len(files)} downloaded file(s); use --include PATTERN to select them")
        quarantine: list[dict[str, str]] = []
        summaries = [convert_file(root / rel, rel, repo_id, out_dir / output_name(rel), quarantine)
                     for rel in tqdm(chosen, desc="import: files", unit="file", disable=None)]
    write_jsonl(quarantine_file, quarantine)
    return ImportResult(repo_id, out_dir, quarantine_file, summaries, skipped)


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
