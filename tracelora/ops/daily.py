"""The daily loop in one command: ingest yesterday's sessions, reproduce, review, snapshot.

    tracelora daily [--since DATE] [--from AGENT ...] [--skip-train] [--skip-eval] [--no-snapshot]

1. ingest new sessions of the configured agents (`daily.agents`, or --from) into the raw trace dir
   and put them under DVC (`dvc add`), never in git;
2. `dvc repro` (--skip-train: only `build`; --skip-eval: up to `train`);
3. print what changed since the last snapshot: new examples, metric deltas, the gate's reasons;
4. promoted: make a snapshot (commit + tag + dvc push); blocked: collect the adapter's failures into
   data/seeds/counterexamples.jsonl and say what to do next.

Safe under cron: a lock file stops a second concurrent run (exit 75), every run writes its own log
under logs/daily/, and a blocked gate is not an error (exit 0). Exit 1 only when a step fails.
"""
from __future__ import annotations

import argparse
import datetime as dt
import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import IO, Any

from tracelora.common.params import ParamsError, load_params
from tracelora.ops import gitops
from tracelora.ops.gitops import GitError

EXIT_LOCKED = 75  # EX_TEMPFAIL: cron may simply try again later
LOCK_FILE = ".daily.lock"
LOG_DIR = Path("logs/daily")


class StepError(RuntimeError):
    pass


class Tee:
    """Everything the run prints goes to the terminal and to this run's log file."""

    def __init__(self, log: IO[str]) -> None:
        self.log = log

    def say(self, text: str = "") -> None:
        print(text, flush=True)
        self.log.write(text + "\n")
        self.log.flush()

    def step(self, title: str, cmd: list[str], cwd: Path, check: bool = True) -> int:
        self.say(f"\n-- {title}: {' '.join(cmd)}")
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=step_env())
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(line)
            self.log.write(line)
        code = proc.wait()
        self.log.flush()
        if check and code != 0:
            raise StepError(f"{title} failed (exit {code}); see the log above")
        return code


def step_env() -> dict[str, str]:
    """This interpreter's bin dir first on PATH: stage commands (`tracelora ...`, `dvc`) then run in
    the project's venv even from cron's bare environment."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return {**os.environ, "PATH": path, "DVC_NO_ANALYTICS": "1", "PYTHONUNBUFFERED": "1"}


def acquire_lock(root: Path) -> IO[str] | None:
    """An flock on .daily.lock: released by the OS however the holder ends, so no stale locks."""
    fh = open(root / LOCK_FILE, "a+", encoding="utf-8")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        holder = fh.read().strip() or "another process"
        fh.close()
        print(f"another daily run is in progress ({holder}); not starting a second one", file=sys.stderr)
        return None
    fh.seek(0)
    fh.truncate()
    fh.write(f"pid {os.getpid()}, started {dt.datetime.now().isoformat(timespec='seconds')}")
    fh.flush()
    return fh


def last_success(root: Path) -> str | None:
    try:
        return json.loads((root / LOG_DIR / "last_success.json").read_text(encoding="utf-8"))["date"]
    except (OSError, ValueError, KeyError):
        return None


def repro_targets(skip_train: bool, skip_eval: bool) -> list[str]:
    """The seed's flags as partial reproductions of the DVC pipeline."""
    if skip_train:
        return ["build"]
    if skip_eval:
        return ["train"]
    return []


def new_trace_dirs(root: Path, raw_dir: str) -> list[str]:
    """Subdirectories of the raw dir holding files git does not track: ingest output to `dvc add`."""
    out = gitops.git(root, "status", "--porcelain", "--untracked-files=all", "--", raw_dir)
    dirs = set()
    for line in out.splitlines():
        rel = Path(line[3:].strip('"'))
        parts = rel.relative_to(raw_dir).parts if rel.is_relative_to(raw_dir) else ()
        if line.startswith("??") and len(parts) > 1 and not rel.name.endswith((".dvc", ".gitignore")):
            dirs.add((Path(raw_dir) / parts[0]).as_posix())
    return sorted(dirs)


def read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def report_changes(tee: Tee, root: Path) -> dict[str, Any] | None:
    """Metric deltas (with confidence intervals where evaluate wrote them) and the gate's reasons."""
    from tracelora.ops import snapshot

    tags = snapshot.snapshot_tags(root)
    evals = read_json(root / "metrics/eval_results.json") or {}
    gate = read_json(root / "metrics/gate_decision.json")
    tee.say("\n== what changed ==")
    if tags:
        last = tags[-1]
        try:
            ds = snapshot.dataset_diff(snapshot.dataset_keys(root, last), _workspace_keys(root))
            tee.say(f"examples since {last}: +{ds['added']} added, -{ds['removed']} removed"
                    + (" (" + ", ".join(f"{k} +{v}" for k, v in ds["added_by_source"].items()) + ")"
                       if ds["added_by_source"] else ""))
        except snapshot.SnapshotError as exc:
            tee.say(f"examples since {last}: unknown ({exc})")
    else:
        tee.say("no earlier snapshot to compare with")
    ci = evals.get("delta_ci") or evals.get("ci") or {}
    for key, value in sorted((evals.get("delta") or {}).items()):
        if isinstance(value, (int, float)):
            bounds = ci.get(key) if isinstance(ci, dict) else None
            extra = f"  95% CI [{bounds[0]:+.4f}, {bounds[1]:+.4f}]" if isinstance(bounds, list) and len(bounds) == 2 else ""
            tee.say(f"delta {key}: {value:+.4f}{extra}")
    if gate is None:
        tee.say("gate: no decision file (metrics/gate_decision.json)")
        return None
    tee.say(f"gate: {gate.get('decision', 'block')}")
    for reason in gate.get("reasons", []):
        tee.say(f"  - {reason}")
    return gate


def _workspace_keys(root: Path) -> Any:
    from tracelora.ops.snapshot_parts import example_keys

    lines: list[str] = []
    for name in ("train.jsonl", "val.jsonl"):
        path = root / "data/dataset" / name
        if path.exists():
            lines += path.read_text(encoding="utf-8").splitlines()
    return example_keys(lines)


def run_daily(root: Path, args: argparse.Namespace, tee: Tee) -> None:
    try:
        params = load_params(root / "params.yaml")
    except ParamsError as exc:
        raise StepError(str(exc)) from None
    raw = params.data.raw_dir
    agents = args.agents or params.daily.agents
    since = args.since or last_success(root) or (dt.date.today() - dt.timedelta(days=1)).isoformat()
    py = sys.executable
    if agents and not args.no_ingest:
        for agent in agents:
            tee.step(f"ingest {agent}", [py, "-m", "tracelora", "ingest", "--from", agent, "--since", since, "--out", raw], root)
    tracked = [p.with_suffix("").relative_to(root).as_posix() for p in sorted((root / raw).glob("*.dvc"))]
    for d in sorted(set(new_trace_dirs(root, raw)) | set(tracked)):  # re-add: today's files join old dirs
        tee.step(f"track {d} with DVC", [py, "-m", "dvc", "add", "-q", d], root)
    tee.step("reproduce", [py, "-m", "dvc", "repro", *repro_targets(args.skip_train, args.skip_eval)], root)
    tee.step("check the DVC cache", [py, "-m", "tracelora", "check-cache"], root)  # repro exits 0 on a full cache
    if args.skip_train or args.skip_eval:
        tee.say("\npartial run (--skip-train/--skip-eval): no gate decision, no snapshot")
        return
    gate = report_changes(tee, root)
    promoted = bool(gate and gate.get("promote") is True)
    if promoted and params.daily.snapshot_on_promote and not args.no_snapshot:
        tee.step("snapshot", [py, "-m", "tracelora", "snapshot", "create"] + ([] if params.daily.push else ["--no-push"]), root)
    elif not promoted:
        code = tee.step("collect counterexamples", [py, "-m", "tracelora", "counterexamples"], root, check=False)
        tee.say("\nblocked. Next: review data/seeds/counterexamples.jsonl (fix or delete wrong references), "
                "add hard counterexamples to data/raw_traces or data/seeds, then run `make daily` again."
                if code == 0 else "\nblocked. Review reports/predictions.jsonl, add hard counterexamples, rerun.")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora daily", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--since", help="ingest sessions from this date (default: the last successful daily run)")
    ap.add_argument("--from", dest="agents", action="append", help="agent to ingest (repeatable; default daily.agents)")
    ap.add_argument("--no-ingest", action="store_true", help="skip ingestion: reproduce what is there")
    ap.add_argument("--skip-train", action="store_true", help="only rebuild the dataset (`dvc repro build`)")
    ap.add_argument("--skip-eval", action="store_true", help="stop after training (`dvc repro train`)")
    ap.add_argument("--no-snapshot", action="store_true", help="do not snapshot even when promoted")
    args = ap.parse_args(argv)
    try:
        root = gitops.repo_root(Path.cwd())
    except GitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    lock = acquire_lock(root)
    if lock is None:
        return EXIT_LOCKED
    busy = gitops.dvc_busy(root)
    if busy:  # say so instead of a DVC step failing later with its message hidden (`dvc add -q`)
        print(f"error: {gitops.busy_message(busy)}", file=sys.stderr)
        lock.close()
        return EXIT_LOCKED
    started = dt.datetime.now()
    log_path = root / LOG_DIR / f"{started:%Y%m%d-%H%M%S}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with lock, open(log_path, "w", encoding="utf-8") as log:
        tee = Tee(log)
        tee.say(f"daily run {started.isoformat(timespec='seconds')} (log: {log_path.relative_to(root)})")
        try:
            run_daily(root, args, tee)
        except (StepError, GitError) as exc:
            tee.say(f"error: {exc}")
            return 1
        (root / LOG_DIR / "last_success.json").write_text(json.dumps({"date": started.date().isoformat()}) + "\n")
        tee.say(f"\ndaily run done in {(dt.datetime.now() - started).total_seconds():.0f} s")
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
