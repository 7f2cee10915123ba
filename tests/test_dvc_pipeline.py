"""The pipeline in real git + DVC repos in tmp dirs."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import make_project, run, set_params, tiny_params


def stages_run(out: str) -> list[str]:
    return [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")]


def test_dag_has_the_five_stages(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "p")
    out = run(["dvc", "dag", "--md"], proj).stdout
    for stage in ("build", "base_model", "train", "evaluate", "gate"):
        assert stage in out
    assert "build --> train" in out.replace('"', "") and "evaluate --> gate" in out.replace('"', "")


def test_repro_is_incremental_with_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    proj = make_project(tmp_path / "p", tiny_params(tiny_model_dir))
    first = run(["dvc", "repro"], proj)
    assert stages_run(first.stdout) == ["build", "base_model", "train", "evaluate", "gate"]
    decision = json.loads((proj / "metrics/gate_decision.json").read_text())
    assert isinstance(decision["promote"], bool) and decision["checks"]
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "first run"], proj)

    again = run(["dvc", "repro"], proj)
    assert stages_run(again.stdout) == []

    set_params(proj, {"train.lora_r": 4})
    third = run(["dvc", "repro"], proj)
    assert stages_run(third.stdout) == ["train", "evaluate", "gate"]
    params_diff = run(["dvc", "params", "diff"], proj).stdout
    assert "train.lora_r" in params_diff
    metrics_diff = run(["dvc", "metrics", "diff", "--all"], proj).stdout
    assert "metrics/train.json" in metrics_diff

    exp = run(["dvc", "exp", "run", "-S", "train.lora_r=2"], proj)
    assert "train" in exp.stdout
    assert "lora_r: 2" in (proj / "params.yaml").read_text()
