"""The downloadable files: the dataset as JSONL (record contract) and a ZIP with the same JSONL,
the train/val split, the OpenClaw sessions and a manifest. Byte-deterministic: fixed entry order,
timestamps and permissions, no wall-clock anywhere."""
from __future__ import annotations

import hashlib
import io
import time
import json
import zipfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from space.generate import Dataset
from tracelora.formats.openclaw_sessions import SESSION_VERSION, export_sessions
from space.options import Catalogue
from tracelora.common.io import atomic_open, dumps_line

MANIFEST_VERSION = 1
ZIP_TIME = (2026, 1, 1, 0, 0, 0)


def jsonl_bytes(records: list[dict[str, Any]]) -> bytes:
    return "".join(dumps_line(r) + "\n" for r in records).encode("utf-8")


def templates_sha256(cat: Catalogue) -> str:
    """Fingerprint of the seed templates the data came from (a changed template changes it)."""
    canon = json.dumps([asdict(t) for t in cat.synthetic + cat.adversarial], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def file_stem(ds: Dataset) -> str:
    """Same options, same name; any other choice, another name (8 hex of the options)."""
    digest = hashlib.sha256(json.dumps(ds.options.as_dict(), sort_keys=True).encode()).hexdigest()[:8]
    return f"openclaw-synthetic-seed{ds.options.seed}-n{ds.options.count}-{digest}"


def bundle_files(ds: Dataset, cat: Catalogue) -> dict[str, bytes]:
    """Every file of the ZIP, manifest last (it lists the others with sha256 and line counts)."""
    files = {"dataset.jsonl": jsonl_bytes(ds.records)}
    for split in ("train", "val"):
        files[f"{split}.jsonl"] = jsonl_bytes([r for r, s in zip(ds.records, ds.splits) if s == split])
    files.update(export_sessions(ds.records))
    manifest = {
        "version": MANIFEST_VERSION,
        "generator": "space (tracelora.dataset.synthesis + tracelora.dataset.pipeline.RecordStep)",
        "options": ds.options.as_dict(),
        "seed_templates": {"synthetic": len(cat.synthetic), "adversarial": len(cat.adversarial),
                           "sha256": templates_sha256(cat)},
        "formats": {"dataset.jsonl": "normalized record contract (TRL conversational + metadata)",
                    "train.jsonl/val.jsonl": "the same records split by content hash, as the build stage does",
                    "openclaw/": f"OpenClaw session transcripts, JSONL tree version {SESSION_VERSION}, "
                                 "with trajectory sidecars holding tool schemas"},
        "counts": ds.counts,
        "files": [{"path": p, "bytes": len(b), "lines": b.count(b"\n"), "sha256": hashlib.sha256(b).hexdigest()}
                  for p, b in files.items()],
    }
    files["manifest.json"] = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
    return files


def zip_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path, data in files.items():
            info = zipfile.ZipInfo(path, date_time=ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data, compresslevel=6)
    return buf.getvalue()


MAX_DOWNLOAD_BYTES = 256 * 2**20  # the download folder of a public Space stays under this
MAX_DOWNLOAD_AGE_S = 3600.0  # and keeps no file longer than this


def write_downloads(ds: Dataset, cat: Catalogue, out_dir: str | Path, max_bytes: int = MAX_DOWNLOAD_BYTES,
                    max_age_s: float = MAX_DOWNLOAD_AGE_S) -> tuple[Path, Path]:
    """Write `<stem>.jsonl` and `<stem>.zip` atomically (two users asking for the same options write
    the same bytes to the same name, never a torn file), then prune the folder (`prune_downloads`)."""
    out_dir = Path(out_dir)
    stem = file_stem(ds)
    files = bundle_files(ds, cat)
    paths = (out_dir / f"{stem}.jsonl", out_dir / f"{stem}.zip")
    for path, data in zip(paths, (files["dataset.jsonl"], zip_bytes(files))):
        with atomic_open(path, "wb") as fh:
            fh.write(data)
    prune_downloads(out_dir, max_bytes, max_age_s, keep=set(paths))
    return paths


def prune_downloads(out_dir: Path, max_bytes: int, max_age_s: float, keep: set[Path], now: float | None = None) -> int:
    """Delete downloads older than `max_age_s`, then the oldest ones until the folder holds at most
    `max_bytes` (the files just written are kept): a public Space must not fill its disk one distinct
    request (~5.6 MB) at a time. Returns how many files were removed."""
    now = time.time() if now is None else now
    files = []
    for p in out_dir.iterdir():
        try:
            st = p.stat()
        except OSError:  # removed by a concurrent request
            continue
        if p.is_file():
            files.append((st.st_mtime, st.st_size, p))
    files.sort()
    total = sum(size for _, size, _ in files)
    removed = 0
    for mtime, size, p in files:
        if p in keep:
            continue
        if now - mtime > max_age_s or total > max_bytes:
            p.unlink(missing_ok=True)
            total -= size
            removed += 1
    return removed
