"""Phase-1 jobs of the build and their cache.

An input file is cut at line starts into chunks of about `CHUNK_BYTES`; each chunk is one job that
a worker process runs (`run_job`). A job's result is stored under a key made of the file's sha256,
the byte range, the display path, the phase-1 params and a fingerprint of the code that produced
it, so a daily build re-processes only new or changed files and its outputs stay identical to a full
rebuild (phase 2 always re-reads every entry). Entries are written to a temp dir and renamed: an
interrupted build never leaves a half entry. `(size, mtime_ns)` of files already hashed are
remembered, so unchanged history is not even re-hashed.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional

import numpy as np

from tracelora.common.codedeps import module_files, relative
from tracelora.common.io import write_json
from tracelora.common.params import DataParams
from tracelora.dataset.pipeline import ChunkProcessor, Entry
from tracelora.formats.tally import Tally
from tracelora.formats.jsonl import RawLine, read_lines

CHUNK_BYTES = 16 << 20
# params read only by phase 2 (or not by the build at all): changing them keeps the cache valid
PHASE2_ONLY = {"raw_dir", "seeds_dir", "synthetic_ratio", "adversarial_ratio", "min_examples", "seed", "golden_dir",
               "cache_dir", "num_proc", "near_dedup"}
_PHASE1 = "tracelora.dataset.cache"  # what a phase-1 worker runs: this module and everything it imports


def code_fingerprint() -> str:
    """sha256 over every package file phase 1 runs (path and bytes; tracelora.common.codedeps), so
    changed code never reuses a cache entry."""
    h = hashlib.sha256()
    for path, rel in zip(module_files(_PHASE1), relative(module_files(_PHASE1))):
        h.update(rel.encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def params_fingerprint(p: DataParams) -> str:
    d = {k: v for k, v in p.model_dump().items() if k not in PHASE2_ONLY}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class Job:
    path: str  # filesystem path
    rel: str  # display path used in origins
    sha256: str  # of the whole file
    start: int
    end: int
    first_line: int
    key: str  # cache key of this chunk


@dataclass
class FileInfo:
    rel: str
    sha256: str
    size: int
    lines: int
    jobs: list[Job]


def _scan_file(path: Path, chunk_bytes: int) -> tuple[str, int, list[tuple[int, int, int]]]:
    """sha256, line count and line-aligned chunks (start, end, first_line) in one read."""
    h = hashlib.sha256()
    chunks: list[tuple[int, int, int]] = []
    lines, start, start_line, pos, last = 0, 0, 1, 0, b"\n"
    with open(path, "rb") as fh:
        while True:
            block = fh.read(chunk_bytes)
            if not block:
                break
            h.update(block)
            rest = fh.readline() if not block.endswith(b"\n") else b""  # finish the line the block cut
            h.update(rest)
            block += rest
            last = block[-1:]
            pos += len(block)
            lines += block.count(b"\n")
            chunks.append((start, pos, start_line))
            start, start_line = pos, lines + 1
    if last != b"\n":
        lines += 1  # a last line without a newline is still a line
    return h.hexdigest(), lines, chunks


class BuildCache:
    """The cache dir: `entries/<key>/` per chunk and `files.json` (stat -> sha256 and chunks)."""

    def __init__(self, root: Optional[Path]) -> None:
        self.root = root
        self.used: set[str] = set()
        self._index: dict[str, Any] = {}
        if root is not None:
            (root / "entries").mkdir(parents=True, exist_ok=True)
            try:
                self._index = json.loads((root / "files.json").read_text())
            except (OSError, ValueError):
                self._index = {}
        if root is not None:
            _sweep_scratch(root)
        prefix = f"build-{os.getpid()}-"
        self._tmp = Path(tempfile.mkdtemp(prefix=prefix, dir=root)) if root is not None else Path(tempfile.mkdtemp(prefix=prefix))

    def plan(self, files: Iterable[Path], rel_of: Any, fingerprint: str, chunk_bytes: int = CHUNK_BYTES) -> list[FileInfo]:
        infos = []
        index: dict[str, Any] = {}
        for path in files:
            st = path.stat()
            stamp = [st.st_size, st.st_mtime_ns, chunk_bytes]
            cached = self._index.get(str(path))
            if cached and cached["stamp"] == stamp:
                sha, lines, chunks = cached["sha256"], cached["lines"], [tuple(c) for c in cached["chunks"]]
            else:
                sha, lines, chunks = _scan_file(path, chunk_bytes)
            index[str(path)] = {"stamp": stamp, "sha256": sha, "lines": lines, "chunks": chunks}
            rel = rel_of(path)
            jobs = [Job(str(path), rel, sha, s, e, fl,
                        hashlib.sha256(f"{sha}|{s}|{e}|{fl}|{rel}|{fingerprint}".encode()).hexdigest()[:40])
                    for s, e, fl in chunks]
            infos.append(FileInfo(rel, sha, st.st_size, lines, jobs))
        self._index = index
        return infos

    def entry_dir(self, key: str) -> Path:
        return (self.root / "entries" / key) if self.root is not None else (self._tmp / key)

    def has(self, key: str) -> bool:
        return (self.entry_dir(key) / "done").exists()

    def store(self, key: str, fill: Any) -> Any:
        """Run `fill(dir)` into a temp dir and rename it to the entry for `key` (atomic)."""
        final = self.entry_dir(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(final.name + f".tmp{os.getpid()}")
        shutil.rmtree(tmp, ignore_errors=True)
        res = fill(tmp)
        (tmp / "done").write_text("")
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        return res

    def scratch(self, name: str) -> Path:
        d = self._tmp / name
        d.mkdir(parents=True, exist_ok=True)
        return d

    def finish(self, ok: bool) -> None:
        """Drop the scratch dir; after a complete build, also entries this build did not use."""
        shutil.rmtree(self._tmp, ignore_errors=True)
        if self.root is None or not ok:
            return
        write_json(self.root / "files.json", self._index)
        for d in (self.root / "entries").iterdir():
            if d.name not in self.used:
                shutil.rmtree(d, ignore_errors=True)


def _sweep_scratch(root: Path) -> None:
    """Scratch dirs (`build-<pid>-*`) and half-written entries (`<key>.tmp<pid>`) of builds that were
    killed: removed when their pid no longer runs (a concurrent build's stay)."""
    from tracelora.common.io import pid_alive

    for d in [*root.glob("build-*"), *(root / "entries").glob("*.tmp*")]:
        tag = d.name.split("-")[1] if d.name.startswith("build-") else d.name.rsplit(".tmp", 1)[-1]
        if tag.isdigit() and not pid_alive(int(tag)):
            shutil.rmtree(d, ignore_errors=True)
        elif d.name.startswith("build-") and not tag.isdigit():  # from before pids were in the name
            shutil.rmtree(d, ignore_errors=True)


def process_lines(lines: Iterable[RawLine], params: DataParams, kind: str, out_dir: Path) -> dict[str, Any]:
    """Run phase 1 over `lines` into `out_dir` (records.jsonl, quarantine.jsonl, keys.npz, meta.json)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with open(out_dir / "records.jsonl", "wb", buffering=1 << 20) as rec, \
            open(out_dir / "quarantine.jsonl", "w", encoding="utf-8") as quar:
        proc = ChunkProcessor(params, kind, rec, quar)
        for line in lines:
            proc.add(line)
        keys = proc.finish()
    np.savez(out_dir / "keys.npz", **keys)
    meta = {"stats": proc.stats.to_json(), "kind": kind,
            "labels": [list(k) for k in proc.labels]}
    (out_dir / "meta.json").write_text(json.dumps(meta, sort_keys=True))
    return {"timings": dict(proc.timings)}


def run_job(args: tuple[Job, dict[str, Any], str]) -> dict[str, Any]:
    """Worker entry point: compute one chunk unless its entry exists; returns timings and sizes."""
    job, params_dict, entry = args
    final = Path(entry)
    if (final / "done").exists():
        return {"cached": True, "bytes": job.end - job.start, "timings": {}}
    t = time.perf_counter()
    params = DataParams.model_validate(params_dict)
    tmp = final.with_name(final.name + f".tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    lines = read_lines(Path(job.path), job.rel, job.start, job.end, job.first_line)
    res = process_lines(lines, params, "raw", tmp)
    (tmp / "done").write_text("")
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return {"cached": False, "bytes": job.end - job.start, "timings": res["timings"], "seconds": time.perf_counter() - t}


def load_entry(path: Path) -> Entry:
    meta = json.loads((path / "meta.json").read_text())
    with np.load(path / "keys.npz") as z:
        keys = {k: z[k] for k in z.files}
    return Entry(path / "records.jsonl", path / "quarantine.jsonl", keys, Tally.from_json(meta["stats"]), meta["kind"],
                 [tuple(x) for x in meta["labels"]])
