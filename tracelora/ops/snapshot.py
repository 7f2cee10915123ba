"""Versioned snapshots of the dataset, adapter and metrics: git commit + tag + DVC push.

    tracelora snapshot setup-remote [--url DIR_OR_URL]   # default DVC remote (once per clone)
    tracelora snapshot create [--no-push]                # refuses unless `dvc status` is clean
    tracelora snapshot list [--json]
    tracelora snapshot show TAG
    tracelora snapshot diff A B [--json]
    tracelora snapshot restore TAG [--to DIR]

A snapshot answers "which traces and params produced this adapter?" from the repository alone:
the tag's `dvc.lock` pins every input and output by hash, and the DVC remote holds the bytes.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from tracelora.ops import gitops
from tracelora.ops.gitops import GitError, busy_message, dvc_busy
from tracelora.ops.snapshot_parts import (METRIC_FILES, SEED_FILES, TAG_PREFIX, commit_message, dataset_diff,
                                  example_keys, next_tag, summarize)

REMOTE_NAME = "local"
# Everything `dvc repro` writes to git (metrics and plots are `cache: false` outs).
SNAPSHOT_FILES = ["dvc.yaml", "dvc.lock", "params.yaml", *METRIC_FILES, "metrics/export.json",
                  "metrics/train_curve.json", "metrics/train_live"]


class SnapshotError(RuntimeError):
    """A refusal or failure, printed as one line."""


# --- remote -------------------------------------------------------------------------------------

def default_remote_url(root: Path) -> Path:
    """A directory beside the repository: outside it (so `git clean` never eats it), per clone."""
    return root.parent / f"{root.name}-dvc-remote"


def configured_remote(root: Path) -> str | None:
    proc = gitops.dvc(root, "remote", "default", check=False)
    name = proc.stdout.strip()
    if proc.returncode != 0 or not name or " " in name:  # "No default remote set"
        return None
    return name


def setup_remote(root: Path, url: str | None = None) -> str:
    """Make sure `dvc push`/`pull` have a default remote. An existing default (S3, GCS, SSH, ...) is
    kept unless a URL is given; the local default goes to `.dvc/config.local` (not committed)."""
    current = configured_remote(root)
    if current and not url:
        return current
    target = url or str(default_remote_url(root))
    if "://" not in target:
        Path(target).mkdir(parents=True, exist_ok=True)
        target = str(Path(target).resolve())
    gitops.dvc(root, "remote", "add", "--local", "--force", "--default", REMOTE_NAME, target)
    return REMOTE_NAME


def _remote_config_file(root: Path, tmp: Path) -> list[str]:
    """`dvc get` reads the target revision's committed config only; hand it our local one too."""
    local = root / ".dvc" / "config.local"
    if not local.exists():
        return []
    copy = tmp / "config.local"
    shutil.copy2(local, copy)
    return ["--config", str(copy)]


# --- reading snapshots --------------------------------------------------------------------------

def _json_at(root: Path, rev: str, path: str) -> dict | None:
    text = gitops.show(root, rev, path)
    if text is None:
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def snapshot_tags(root: Path) -> list[str]:
    return gitops.tags(root, f"{TAG_PREFIX}*")


def resolve(root: Path, name: str) -> str:
    tag = name if name.startswith(TAG_PREFIX) else TAG_PREFIX + name
    if tag not in snapshot_tags(root):
        raise SnapshotError(f"{name}: no such snapshot (see `tracelora snapshot list`)")
    return tag


def snapshot_summary(root: Path, rev: str) -> dict[str, Any]:
    s = summarize(_json_at(root, rev, "metrics/dataset.json"), _json_at(root, rev, "metrics/eval_results.json"),
                  _json_at(root, rev, "metrics/gate_decision.json"))
    s["tag"] = rev
    s["date"] = gitops.commit_date(root, rev)
    return s


def fetch_file(root: Path, rev: str, path: str, dest: Path) -> None:
    """A DVC- or git-tracked path at `rev` into dest, from the local cache or the remote."""
    with tempfile.TemporaryDirectory(prefix="snapshot-get-") as tmp:
        args = ["get", str(root), path, "--rev", rev, "-o", str(dest), "--force", "-q",
                *_remote_config_file(root, Path(tmp))]
        proc = gitops.dvc(root, *args, check=False)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise SnapshotError(f"{rev}:{path}: cannot restore ({last.removeprefix('ERROR: ')})")


def dataset_keys(root: Path, rev: str) -> Any:
    with tempfile.TemporaryDirectory(prefix="snapshot-ds-") as tmp:
        lines: list[str] = []
        for name in ("data/dataset/train.jsonl", "data/dataset/val.jsonl"):
            dest = Path(tmp) / Path(name).name
            fetch_file(root, rev, name, dest)
            lines += dest.read_text(encoding="utf-8").splitlines()
    return example_keys(lines)


# --- commands -----------------------------------------------------------------------------------

def pipeline_status(root: Path) -> dict[str, Any]:
    proc = gitops.dvc(root, "status", "--json", check=False)
    if proc.returncode != 0:
        raise SnapshotError(f"`dvc status` failed: {(proc.stderr.strip().splitlines() or [''])[-1]}")
    try:
        return json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        raise SnapshotError("`dvc status` printed something that is not JSON") from None


def describe_status(status: dict[str, Any]) -> str:
    stages = sorted(k.split(":")[-1] for k in status)
    data = [s for s in stages if s.endswith(".dvc")]
    if data:
        return f"tracked data changed ({', '.join(data)}): `dvc add` it again, then `dvc repro`"
    return f"pipeline not reproduced (changed: {', '.join(stages)}); run `dvc repro` first"


def tracked_dvc_files(root: Path) -> list[str]:
    """`.dvc` files of `dvc add`-ed data (user traces) and the .gitignore files beside them."""
    out: list[str] = []
    for f in sorted(root.rglob("*.dvc")):
        rel = f.relative_to(root)
        if rel.parts[0] in (".dvc", ".venv", ".git"):
            continue
        out.append(rel.as_posix())
        ignore = f.parent / ".gitignore"
        if ignore.exists():
            out.append(ignore.relative_to(root).as_posix())
    return sorted(set(out))


def raw_dir(root: Path) -> str:
    try:
        import yaml

        return str(yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["data"]["raw_dir"])
    except Exception:  # no/odd params: the stages report that themselves
        return "data/raw_traces"


def untracked_traces(root: Path, raw: str) -> list[str]:
    """Trace files that neither git (committed) nor DVC (`dvc add`) holds: a snapshot of them could
    not be restored. `.dvc` files and DVC's .gitignore entries are committed by the snapshot itself."""
    out = gitops.git(root, "status", "--porcelain", "--untracked-files=all", "--", raw)
    paths = [line[3:].strip('"') for line in out.splitlines()]
    return [p for p in paths if not (p.endswith(".dvc") or p.endswith(".gitignore"))]


def create(root: Path, push: bool = True, today: dt.date | None = None) -> tuple[str, dict[str, Any]]:
    busy = dvc_busy(root)
    if busy:  # not DVC's "delete .dvc/tmp/rwlock" advice: that lock is live
        raise SnapshotError(busy_message(busy))
    if not (root / "dvc.lock").exists():
        raise SnapshotError("no dvc.lock: run `dvc repro` before making a snapshot")
    loose = untracked_traces(root, raw_dir(root))
    if loose:
        raise SnapshotError(f"{loose[0]}" + (f" and {len(loose) - 1} more" if len(loose) > 1 else "")
                            + ": traces neither committed nor DVC-tracked; `dvc add` their directory (or commit"
                              " a small sample), then `dvc repro`")
    status = pipeline_status(root)
    if status:
        raise SnapshotError(describe_status(status))
    tag = next_tag(snapshot_tags(root), today or dt.date.today())
    s = summarize(*(_read_json(root / f) for f in ("metrics/dataset.json", "metrics/eval_results.json",
                                                   "metrics/gate_decision.json")))
    if push:  # data first: a tag must never point at bytes the remote does not have
        setup_remote(root)
        proc = gitops.dvc(root, "push", "-q", check=False)
        if proc.returncode != 0:
            raise SnapshotError(f"`dvc push` failed: {(proc.stderr.strip().splitlines() or [''])[-1]}")
    gitops.commit_and_tag(root, SNAPSHOT_FILES + tracked_dvc_files(root), commit_message(tag, s), tag)
    return tag, s


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def diff(root: Path, a: str, b: str) -> dict[str, Any]:
    def dvc_json(*args: str) -> dict:
        proc = gitops.dvc(root, *args, "--json", check=False)
        try:
            return json.loads(proc.stdout or "{}") if proc.returncode == 0 else {}
        except json.JSONDecodeError:
            return {}

    params = dvc_json("params", "diff", a, b)
    metrics = dvc_json("metrics", "diff", a, b)
    return {"a": a, "b": b,
            "params": {k: v for f in params.values() for k, v in f.items()},
            "metrics": {f"{f}:{k}": v for f, vals in metrics.items() for k, v in vals.items()},
            "dataset": dataset_diff(dataset_keys(root, a), dataset_keys(root, b))}


def restore(root: Path, tag: str, dest: Path) -> list[Path]:
    """The seed's per-run files plus the adapter, into dest (never over the workspace)."""
    if dest.exists() and any(dest.iterdir()):
        raise SnapshotError(f"{dest}: exists and is not empty; choose another --to")
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for path, name in SEED_FILES.items():
        fetch_file(root, tag, path, dest / name)
        written.append(dest / name)
    fetch_file(root, tag, "models/adapter", dest / "adapter")
    written.append(dest / "adapter")
    for extra in ("params.yaml", "dvc.lock", "metrics/dataset.json", "metrics/train.json"):
        text = gitops.show(root, tag, extra)
        if text is not None:
            (dest / Path(extra).name).write_text(text, encoding="utf-8")
    return written


# --- printing -----------------------------------------------------------------------------------

def _fmt_delta(delta: dict[str, float]) -> str:
    keys = [k for k in ("exact_match", "keyword_recall") if k in delta] or sorted(delta)[:2]
    return " ".join(f"{k}={delta[k]:+.3f}" for k in keys) or "-"


def print_list(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("no snapshots yet: `tracelora snapshot create` makes one after `dvc repro`")
        return
    print(f"{'tag':<26} {'date':<10} {'kept':>6}  {'decision':<8}  eval delta / by source")
    for r in rows:
        src = ", ".join(f"{k} {v}" for k, v in r["by_source"].items())
        print(f"{r['tag']:<26} {r['date'][:10]:<10} {r['kept'] if r['kept'] is not None else '-':>6}  "
              f"{r['decision'] or '-':<8}  {_fmt_delta(r['delta'])}  [{src}]")


def print_diff(d: dict[str, Any]) -> None:
    print(f"== {d['a']} -> {d['b']} ==")
    print("params:" if d["params"] else "params: unchanged")
    for k, v in d["params"].items():
        print(f"  {k}: {v.get('old')} -> {v.get('new')}")
    print("metrics:" if d["metrics"] else "metrics: unchanged")
    for k, v in d["metrics"].items():
        change = v.get("diff")
        print(f"  {k}: {v.get('old')} -> {v.get('new')}" + (f" ({change:+.4g})" if isinstance(change, (int, float)) else ""))
    ds = d["dataset"]
    print(f"dataset: +{ds['added']} added, -{ds['removed']} removed, {ds['unchanged']} unchanged")
    for label in ("added_by_source", "removed_by_source", "added_by_task_category", "removed_by_task_category"):
        if ds[label]:
            print(f"  {label.replace('_', ' ')}: " + ", ".join(f"{k} {v}" for k, v in ds[label].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora snapshot", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("setup-remote", help="configure the default DVC remote (a local dir unless --url)")
    p.add_argument("--url", help="directory or DVC URL (s3://, gs://, azure://, ssh://); default: beside the repo")
    p = sub.add_parser("create", help="commit + tag + push the reproduced pipeline state")
    p.add_argument("--no-push", action="store_true", help="do not `dvc push` (offline)")
    p = sub.add_parser("list", help="every snapshot: date, counts by source, eval deltas, decision")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("show", help="one snapshot's summary and commit message")
    p.add_argument("tag")
    p = sub.add_parser("diff", help="params, metrics and dataset changes between two snapshots")
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--json", action="store_true")
    p = sub.add_parser("restore", help="bring back a snapshot's dataset, adapter and metrics into a directory")
    p.add_argument("tag")
    p.add_argument("--to", help="target directory (default: restored/<tag>)")
    args = ap.parse_args(argv)
    try:
        root = gitops.repo_root(Path.cwd())
        if args.cmd == "setup-remote":
            name = setup_remote(root, args.url)
            url = gitops.dvc(root, "remote", "list").stdout.strip()
            print(f"default DVC remote: {name} ({url})")
        elif args.cmd == "create":
            tag, s = create(root, push=not args.no_push)
            print(f"created {tag}: {s['kept']} examples, gate {s['decision']}, {_fmt_delta(s['delta'])}"
                  + ("" if args.no_push else "; data pushed to the DVC remote"))
        elif args.cmd == "list":
            rows = [snapshot_summary(root, t) for t in snapshot_tags(root)]
            print(json.dumps(rows, indent=2)) if args.json else print_list(rows)
        elif args.cmd == "show":
            tag = resolve(root, args.tag)
            print(json.dumps(snapshot_summary(root, tag), indent=2))
            print(gitops.git(root, "log", "-1", "--format=%B", tag).strip())
        elif args.cmd == "diff":
            d = diff(root, resolve(root, args.a), resolve(root, args.b))
            print(json.dumps(d, indent=2)) if args.json else print_diff(d)
        elif args.cmd == "restore":
            tag = resolve(root, args.tag)
            dest = Path(args.to) if args.to else root / "restored" / tag.removeprefix(TAG_PREFIX)
            written = restore(root, tag, dest)
            print(f"restored {tag} into {dest}: " + ", ".join(p.name for p in written))
    except (SnapshotError, GitError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
