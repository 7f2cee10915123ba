"""The layout's contracts: one command line, stages whose code deps in dvc.yaml are exactly what
they import, a library that never imports the ops wing, one set of param defaults, and Python
caches that never make a stage look changed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, env, make_project, run
from tracelora.cli import COMMANDS, main
from tracelora.common.codedeps import module_files, relative
from tracelora.common.params import Params, load_params

STAGE_MODULES = {"build": "build", "base_model": "base_model", "train": "train", "evaluate": "evaluate",
                 "gate": "gate", "export": "export"}
LIBRARY = ("common", "formats", "cleaning", "dataset", "model", "judging")


def test_dvc_yaml_code_deps_are_the_stage_import_closure() -> None:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert set(stages) == set(STAGE_MODULES)
    for name, module in STAGE_MODULES.items():
        declared = {d for d in stages[name]["deps"] if d.startswith("tracelora/")}
        imported = set(relative(module_files(f"tracelora.stages.{module}")))
        assert declared == imported, (f"dvc.yaml stage {name!r}: missing {sorted(imported - declared)}, "
                                      f"stale {sorted(declared - imported)} (run: python scripts/sync_dvc_deps.py)")
        assert f"tracelora {name.replace('_', '-')} " in stages[name]["cmd"] + " ", stages[name]["cmd"]


def test_build_cache_fingerprint_covers_what_phase_1_imports() -> None:
    from tracelora.dataset import cache

    files = set(relative(module_files("tracelora.dataset.cache")))
    assert {"tracelora/dataset/pipeline.py", "tracelora/cleaning/redaction.py", "tracelora/formats/jsonl.py",
            "tracelora/formats/records.py", "tracelora/common/io.py"} <= files
    assert set(relative(module_files("tracelora.stages.build"))) >= files
    assert cache.PHASE2_ONLY <= set(Params.model_fields["data"].default_factory().model_dump())


def test_the_library_never_imports_stages_or_ops() -> None:
    for folder in LIBRARY:
        for path in sorted((ROOT / "tracelora" / folder).glob("*.py")):
            module = f"tracelora.{folder}.{path.stem}" if path.stem != "__init__" else f"tracelora.{folder}"
            bad = [f for f in relative(module_files(module)) if f.startswith(("tracelora/ops/", "tracelora/stages/"))]
            assert bad == [], f"{module} imports {bad}"


def test_params_defaults_live_in_the_schema_and_params_yaml_spells_them_out() -> None:
    shipped = load_params(ROOT / "params.yaml").model_dump()
    assert Params().model_dump() == shipped
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in shipped.items():  # every default is written out for the user to edit
        assert set(raw[section]) == set(values), section


def test_one_command_line_with_every_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2 and "usage: tracelora <command>" in capsys.readouterr().out
    assert main(["no-such-command"]) == 2 and "unknown command 'no-such-command'" in capsys.readouterr().err
    for name, cmd in COMMANDS.items():
        mod = __import__(cmd.module, fromlist=["main"])
        assert callable(mod.main), name
    with pytest.raises(SystemExit) as exc:
        main(["gate", "--help"])
    assert exc.value.code == 0 and "usage: tracelora gate" in capsys.readouterr().out
    # the console script and `python -m tracelora` are the same entry point
    proc = subprocess.run([str(Path(sys.executable).parent / "tracelora"), "--help"], capture_output=True, text=True, env=env())
    assert proc.returncode == 0 and all(n in proc.stdout for n in COMMANDS)
    proc = subprocess.run([sys.executable, "-m", "tracelora", "build", "--help"], capture_output=True, text=True, env=env())
    assert proc.returncode == 0 and "usage: tracelora build" in proc.stdout


def test_dvc_status_stays_clean_after_the_code_is_imported(tmp_path: Path) -> None:
    proj = make_project(tmp_path / "p")
    run(["dvc", "repro", "build"], proj)
    assert "up to date" in run(["dvc", "status", "build"], proj).stdout
    # what a test run or an editor leaves behind in the code folders and the data dirs
    run([sys.executable, "-m", "compileall", "-q", "tracelora/common", "tracelora/formats", "tracelora/cleaning",
         "tracelora/dataset", "tracelora/stages"], proj)
    (proj / "data/raw_traces/__pycache__").mkdir(exist_ok=True)
    (proj / "data/raw_traces/__pycache__/x.cpython-311.pyc").write_bytes(b"\0")
    assert list((proj / "tracelora/dataset").glob("__pycache__/*.pyc"))
    out = run(["dvc", "status", "build"], proj).stdout
    assert "up to date" in out, out


def test_params_paths_resolve_against_the_project_root(tmp_path: Path) -> None:
    """Run from another directory: `data.cache_dir` lands under the project (params.yaml's folder),
    not under the working directory; command-line paths stay relative to the working directory."""
    proj = make_project(tmp_path / "p")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run([str(Path(sys.executable).parent / "tracelora"), "build", "--raw", str(proj / "data/raw_traces"),
         "--seeds", str(proj / "data/seeds"), "--out", "out", "--metrics", "m.json", "--params", str(proj / "params.yaml")],
        elsewhere)
    assert (proj / ".cache/build/files.json").is_file() and not (elsewhere / ".cache").exists()
    assert (elsewhere / "out/train.jsonl").is_file() and (elsewhere / "m.json").is_file()
