"""Faults end in one clear line, lose nothing and leave nothing behind: a full disk, a read-only
output folder, an input that vanishes mid-run, a missing seeds folder, a duplicate params key, and
the temp files of a killed run."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from conftest import ROOT, write_jsonl
from test_build import trace

from tracelora import cli
from tracelora.common import io as tio
from tracelora.dataset import cache as tcache

PARAMS = "data: {min_examples: 1, synthetic_ratio: 0.5, adversarial_ratio: 0.2}\n"
DEAD_PID = 2 ** 22 + 12345  # above the default pid_max: never a running process


def build(tmp: Path, seeds: Path = ROOT / "data/seeds") -> int:
    return cli.main(["build", "--raw", str(tmp / "raw"), "--seeds", str(seeds), "--out", str(tmp / "out"),
                     "--metrics", str(tmp / "metrics.json"), "--params", str(tmp / "params.yaml")])


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_jsonl(tmp_path / "raw/a.jsonl", [trace(i) for i in range(30)])
    (tmp_path / "params.yaml").write_text(PARAMS)
    assert build(tmp_path) == 0
    return tmp_path


def snapshot(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def one_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert "Traceback" not in err[0]
    return err[0]


@pytest.mark.parametrize("code,name,where", [(errno.ENOSPC, "No space left on device", "fsync"),
                                             (errno.EROFS, "Read-only file system", "mkstemp")])
def test_a_full_disk_or_read_only_folder_is_one_line_and_keeps_the_outputs(
        project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        code: int, name: str, where: str) -> None:
    before = snapshot(project / "out")
    capsys.readouterr()
    write_jsonl(project / "raw/b.jsonl", [trace(i) for i in range(100, 110)])  # something new to write

    def fail(*args, **kwargs):
        raise OSError(code, name, str(project / "out"))

    if where == "fsync":
        monkeypatch.setattr(tio.os, "fsync", fail)
    else:
        monkeypatch.setattr(tio.tempfile, "mkstemp", fail)
    assert build(project) == 4
    line = one_line(capsys)
    assert line == f"error: {project / 'out'}: {name} ({errno.errorcode[code]})"
    assert snapshot(project / "out") == before  # the previous outputs are intact, no temp file is left


def test_an_input_that_vanishes_mid_run_is_one_line(project: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    before = snapshot(project / "out")
    capsys.readouterr()
    write_jsonl(project / "raw/b.jsonl", [trace(i) for i in range(100, 110)])
    gone = project / "raw/b.jsonl"

    def vanished(path, *args, **kwargs):
        raise FileNotFoundError(errno.ENOENT, "No such file or directory", str(gone))

    monkeypatch.setattr(tcache, "read_lines", vanished)
    (project / "params.yaml").write_text(PARAMS.replace("}", ", cache_dir: ''}"))  # nothing cached: every chunk is read
    assert build(project) == 4
    assert one_line(capsys) == f"error: {gone}: No such file or directory (ENOENT)"
    assert snapshot(project / "out") == before


def test_a_missing_seeds_folder_is_one_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert build(project, seeds=project / "no-seeds") == 4
    assert one_line(capsys) == f"error: {project / 'no-seeds/synthetic.jsonl'}: No such file or directory (ENOENT)"


def test_a_duplicate_params_key_is_refused_with_its_line(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    (project / "params.yaml").write_text("data:\n  min_examples: 1\n  seed: 1\n  seed: 2\n")
    with pytest.raises(SystemExit) as stop:
        build(project)
    assert stop.value.code == 2
    assert one_line(capsys) == f"error: {project / 'params.yaml'}:4: duplicate key 'seed' (DVC refuses the file too; keep one)"


def test_a_killed_run_leaves_nothing_the_next_run_keeps(project: Path) -> None:
    out, cache = project / "out", project / ".cache/build"
    dead = [out / f".train.jsonl.{DEAD_PID}.abcd.tmp", out / f".val.jsonl.{DEAD_PID}.efgh.tmp"]
    live = out / f".train.jsonl.{os.getppid()}.ijkl.tmp"  # a writer that still runs: left alone
    for p in (*dead, live):
        p.write_bytes(b"half a file")
    scratch = cache / f"build-{DEAD_PID}-xyz"
    half_entry = cache / "entries" / f"{'0' * 40}.tmp{DEAD_PID}"
    for d in (scratch, half_entry):
        d.mkdir(parents=True)
        (d / "records.jsonl").write_bytes(b"x")
    assert build(project) == 0
    assert not any(p.exists() for p in dead) and live.exists()
    assert not scratch.exists() and not half_entry.exists()
    assert not list(cache.glob("build-*"))  # this run's own scratch dir is gone too
