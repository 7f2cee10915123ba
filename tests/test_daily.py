"""The daily loop in a real git + DVC repo with a local remote: lock, snapshot on promote, interruption."""
from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from conftest import env, make_project, run, set_params, tiny_params, write_jsonl
from tracelora.ops.daily import new_trace_dirs, repro_targets


def test_seed_flags_map_to_partial_repro() -> None:
    assert repro_targets(False, False) == []
    assert repro_targets(True, False) == ["build"]
    assert repro_targets(False, True) == ["train"]


def test_new_trace_dirs_finds_untracked_ingest_output(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "p")
    write_jsonl(proj / "data/raw_traces/openclaw/s1.jsonl", [{"user": "a", "assistant": "b"}])
    write_jsonl(proj / "data/raw_traces/loose.jsonl", [{"user": "a", "assistant": "b"}])
    assert new_trace_dirs(proj, "data/raw_traces") == ["data/raw_traces/openclaw"]


def test_second_concurrent_run_exits_with_a_clear_message(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "p")
    with open(proj / ".daily.lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fh.write("pid 1, started earlier")
        fh.flush()
        proc = run([sys.executable, "-m", "tracelora", "daily", "--no-ingest"], proj, check=False)
    assert proc.returncode == 75
    assert "another daily run is in progress (pid 1, started earlier)" in proc.stderr
    assert not (proj / "logs").exists()  # nothing started: no log, no repro


def daily_project(tmp_path: Path, tiny_model_dir: Path) -> Path:
    proj = make_project(tmp_path / "p", {**tiny_params(tiny_model_dir), "gate.min_delta_exact_match": -1.0,
                                         "gate.min_delta_keyword_recall": -1.0})
    run([sys.executable, "-m", "tracelora", "snapshot", "setup-remote", "--url", str(tmp_path / "remote")], proj)
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "project"], proj)
    return proj


def tags(proj: Path) -> list[str]:
    return run(["git", "tag", "--list", "snapshot/*"], proj).stdout.split()


@pytest.mark.slow
def test_daily_snapshots_on_promote_and_an_interrupted_run_leaves_nothing(tmp_path: Path, tiny_model_dir: Path) -> None:
    proj = daily_project(tmp_path, tiny_model_dir)
    first = run([sys.executable, "-m", "tracelora", "daily", "--no-ingest"], proj)
    assert "gate: promote" in first.stdout and len(tags(proj)) == 1
    logs = list((proj / "logs/daily").glob("*.log"))
    assert len(logs) == 1 and "Running stage 'train'" in logs[0].read_text()
    head = run(["git", "rev-parse", "HEAD"], proj).stdout

    # new traces arrive; the run is killed in the middle of training
    write_jsonl(proj / "data/raw_traces/newagent/day2.jsonl", [
        {"source": "newagent", "messages": [{"role": "user", "content": f"What does flag --x{i} do in the CLI?"},
                                            {"role": "assistant", "content": f"`--x{i}` enables verbose mode {i}."}]}
        for i in range(8)])
    proc = subprocess.Popen([sys.executable, "-m", "tracelora", "daily", "--no-ingest"], cwd=proj, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if "Running stage 'train'" in line:
            children = psutil.Process(proc.pid).children(recursive=True)
            os.killpg(proc.pid, signal.SIGKILL)
            break
    proc.wait(timeout=60)
    psutil.wait_procs(children, timeout=60)  # DVC treats a lock held by a live (or unreaped) pid as busy
    assert proc.returncode == -signal.SIGKILL
    assert len(tags(proj)) == 1 and run(["git", "rev-parse", "HEAD"], proj).stdout == head

    # the lock died with it: the next run goes through and snapshots the new traces (DVC-tracked, not git)
    again = run([sys.executable, "-m", "tracelora", "daily", "--no-ingest"], proj)
    assert "examples since snapshot/" in again.stdout and len(tags(proj)) == 2
    assert "newagent +8" in again.stdout
    assert "data/raw_traces/newagent.dvc" in run(["git", "ls-files"], proj).stdout

    set_params(proj, {"gate.min_delta_exact_match": 2.0})
    run(["git", "commit", "-qam", "stricter gate"], proj)
    write_jsonl(proj / "data/raw_traces/newagent/day3.jsonl", [  # lands in an already DVC-tracked dir
        {"source": "newagent", "messages": [{"role": "user", "content": "Which port does the dev server use?"},
                                            {"role": "assistant", "content": "Port `5173`, set in `vite.config.ts`."}]}])
    blocked = run([sys.executable, "-m", "tracelora", "daily", "--no-ingest"], proj)
    assert "gate: block" in blocked.stdout and "blocked. " in blocked.stdout and len(tags(proj)) == 2
    assert "M data/raw_traces/newagent.dvc" in run(["git", "status", "--porcelain"], proj).stdout
    assert run(["dvc", "status", "data/raw_traces/newagent.dvc"], proj).stdout.strip().startswith("Data and pipelines are up to date")
