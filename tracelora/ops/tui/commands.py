"""The command lines behind each TUI action (pure, so tests can read them). Every action is the
same command a user would type, run as a child process: the TUI adds no behaviour of its own."""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

PY = sys.executable


def is_dvc_project(project: Path) -> bool:
    return (project / ".dvc").is_dir() and (project / "dvc.yaml").is_file()


def hub(*args: str) -> list[str]:
    return [PY, "-m", "tracelora", "hub", *args]


def dvc(*args: str) -> list[str]:
    return [PY, "-m", "dvc", *args]


def build(project: Path) -> list[str]:
    """`dvc repro build` in a DVC project (records the lock), else the stage itself with params paths."""
    if is_dvc_project(project):
        return dvc("repro", "build")
    from tracelora.common.params import load_params

    data = load_params(project / "params.yaml").data
    return [PY, "-m", "tracelora", "build", "--raw", data.raw_dir, "--seeds", data.seeds_dir, "--out", "data/dataset",
            "--metrics", "metrics/dataset.json"]


def import_dataset(repo: str, split: str = "", include: str = "") -> list[str]:
    argv = hub("import-dataset", repo.strip())
    for s in split.replace(",", " ").split():
        argv += ["--split", s]
    for pattern in include.replace(",", " ").split():
        argv += ["--include", pattern]
    return argv


def pull_model(repo: str, revision: str = "", out: str = "") -> list[str]:
    argv = hub("pull-model", repo.strip())
    if revision.strip():
        argv += ["--revision", revision.strip()]
    if out.strip():
        argv += ["--out", out.strip()]
    return argv


def job_run(image: str, command: str, flavor: str) -> list[str]:
    return hub("jobs", "run", "--detach", "--flavor", flavor.strip() or "cpu-basic", image.strip(), "--",
               *shlex.split(command))


def display(argv: list[str]) -> str:
    """A short human form: `tracelora hub ...` instead of the interpreter's full path."""
    shown = ["python" if a == PY else a for a in argv]
    return shlex.join(shown)
