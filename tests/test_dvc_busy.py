"""While another DVC operation holds the repo (a build running), `daily` and `snapshot create` say
so in one line, naming its pid, instead of failing later with DVC's message hidden or suggesting to
delete a live lock."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run

from tracelora.ops import daily, gitops, snapshot

HOLD = ("import fcntl, sys, time; fh = open(sys.argv[1], 'w'); fcntl.flock(fh.fileno(), fcntl.LOCK_EX); "
        "fh.write(' 4242\\n'); fh.flush(); print('held', flush=True); time.sleep(60)")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    return tmp_path


@pytest.fixture
def held(repo: Path):
    """A process holding DVC's repo lock the way zc.lockfile does (an flock, the pid written inside)."""
    lock = repo / ".dvc/tmp/lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    yield repo
    proc.kill()
    proc.wait()


def test_nobody_holds_a_fresh_repo(repo: Path) -> None:
    assert gitops.dvc_busy(repo) is None
    (repo / ".dvc/tmp").mkdir(parents=True, exist_ok=True)
    (repo / ".dvc/tmp/lock").write_text(" 4242\n")  # left by a finished run: not held
    assert gitops.dvc_busy(repo) is None


def test_daily_says_another_dvc_operation_runs(held: Path, capsys: pytest.CaptureFixture[str],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(held)
    assert daily.main(["--no-ingest"]) == daily.EXIT_LOCKED
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: another DVC operation is running (pid 4242); try again when it ends"]


def test_snapshot_create_says_so_too(held: Path) -> None:
    with pytest.raises(snapshot.SnapshotError, match=r"another DVC operation is running \(pid 4242\)"):
        snapshot.create(held, push=False)


def test_a_live_stage_lock_in_rwlock_is_named_with_its_command(repo: Path) -> None:
    import json
    import os

    (repo / ".dvc/tmp").mkdir(parents=True, exist_ok=True)
    (repo / ".dvc/tmp/rwlock").write_text(json.dumps({"write": {"data/dataset": {"pid": os.getppid(), "cmd": "dvc repro build"}},
                                                      "read": {}}))
    assert gitops.dvc_busy(repo) == f"pid {os.getppid()} (dvc repro build)"
    (repo / ".dvc/tmp/rwlock").write_text(json.dumps({"write": {"x": {"pid": 2 ** 22 + 7, "cmd": "dvc repro"}}}))
    assert gitops.dvc_busy(repo) is None  # a dead holder's leftover is not a live lock
