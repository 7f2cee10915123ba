"""The pipeline in real git + DVC repos in tmp dirs."""
from __future__ import annotations

import json
import re
from pathlib import Path


from conftest import make_project, run, set_params, tiny_params


def stages_run(out: str) -> list[str]:
    return [line.split("'")[1] for line in out.splitlines() if line.startswith("Running stage")]


def test_dag_has_the_six_stages(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "p")
    out = run(["dvc", "dag", "--md"], proj).stdout
    names = dict(re.findall(r'(node\d+)\["?([a-z_]+)"?\]', out))
    edges = {(names[a], names[b]) for a, b in re.findall(r"(node\d+)\s*-->\s*(node\d+)", out)}
    assert set(names.values()) == {"build", "base_model", "train", "evaluate", "gate", "export"}
    assert {("build", "train"), ("base_model", "train"), ("train", "evaluate"), ("evaluate", "gate"),
            ("build", "gate"), ("gate", "export"), ("train", "export")} <= edges


def test_repro_is_incremental_with_tiny_model(tmp_path: Path, tiny_model_dir: Path) -> None:
    proj = make_project(tmp_path / "p", tiny_params(tiny_model_dir))
    first = run(["dvc", "repro"], proj)
    assert stages_run(first.stdout) == ["build", "base_model", "train", "evaluate", "gate", "export"]
    decision = json.loads((proj / "metrics/gate_decision.json").read_text())
    assert isinstance(decision["promote"], bool) and decision["checks"]
    exported = json.loads((proj / "metrics/export.json").read_text())
    assert exported["exported"] is decision["promote"]
    assert (proj / "models/merged/README.md").is_file()
    assert (proj / "models/merged/model.safetensors").is_file() is decision["promote"]
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "first run"], proj)

    again = run(["dvc", "repro"], proj)
    assert stages_run(again.stdout) == []

    set_params(proj, {"train.lora_r": 4})
    third = stages_run(run(["dvc", "repro"], proj).stdout)
    # gate re-runs only if the eval results changed; build and base_model never do
    assert third[:2] == ["train", "evaluate"] and "build" not in third and "base_model" not in third
    params_diff = run(["dvc", "params", "diff"], proj).stdout
    assert "train.lora_r" in params_diff
    metrics_diff = run(["dvc", "metrics", "diff", "--all"], proj).stdout
    assert "metrics/train.json" in metrics_diff
    # every top-level metric, delta and CI bound of the evaluation is listed
    for key in ("baseline.exact_match", "adapter.keyword_recall", "delta.exact_match", "delta_ci.keyword_recall.low"):
        assert key in metrics_diff, key
    # DVCLive curves are declared plots: loss and learning rate, x = step
    plots = json.loads(run(["dvc", "plots", "show", "--json"], proj).stdout)
    live = [k for k in plots["data"] if "train_live" in k]
    assert any(k.endswith("train/loss.tsv") for k in live) and any(k.endswith("train/learning_rate.tsv") for k in live)

    exp = run(["dvc", "exp", "run", "-S", "train.lora_r=2"], proj)
    assert "train" in exp.stdout
    assert "lora_r: 2" in (proj / "params.yaml").read_text()
