"""Snapshots in a real git + DVC repo with a real local remote (both in tmp dirs)."""
from __future__ import annotations

import datetime as dt
import filecmp
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from conftest import make_project, run, tiny_params, write_jsonl
from tracelora.ops import gitops
from tracelora.ops.snapshot_parts import dataset_diff, next_tag, summarize


def new_rows(n: int) -> list[dict]:
    return [{"source": "newagent", "task_category": "testing", "messages": [
        {"role": "user", "content": f"Run the tests for module number {i} and tell me the result."},
        {"role": "assistant", "content": f"`pytest -q tests/test_module_{i}.py`: {i + 3} passed."}]}
        for i in range(n)]


def test_next_tag_counts_per_day() -> None:
    day = dt.date(2026, 11, 24)
    assert next_tag([], day) == "snapshot/2026-11-24.1"
    assert next_tag(["snapshot/2026-11-24.1", "snapshot/2026-11-24.2", "snapshot/2026-11-23.7"], day) \
        == "snapshot/2026-11-24.3"


def test_dataset_diff_by_source_and_category() -> None:
    old = Counter({("a", "raw", "git"): 1, ("b", "raw", "bugfix"): 1})
    new = Counter({("a", "raw", "git"): 1, ("c", "newagent", "testing"): 1})
    d = dataset_diff(old, new)
    assert (d["added"], d["removed"], d["unchanged"]) == (1, 1, 1)
    assert d["added_by_source"] == {"newagent": 1} and d["removed_by_task_category"] == {"bugfix": 1}


def test_summarize_tolerates_missing_files() -> None:
    s = summarize(None, None, None)
    assert s["decision"] is None and s["by_source"] == {} and s["delta"] == {}


def test_commit_and_tag_leaves_other_work_alone(tmp_path: Path) -> None:
    repo = tmp_path / "r"
    repo.mkdir()
    run(["git", "init", "-q"], repo)
    run(["git", "config", "user.email", "t@localhost"], repo)
    run(["git", "config", "user.name", "t"], repo)
    (repo / "a.txt").write_text("one\n")
    (repo / "wip.txt").write_text("staged work\n")
    run(["git", "add", "wip.txt"], repo)
    gitops.commit_and_tag(repo, ["a.txt"], "snap\n", "snapshot/2026-01-01.1")
    assert run(["git", "show", "snapshot/2026-01-01.1:a.txt"], repo).stdout == "one\n"
    status = run(["git", "status", "--porcelain"], repo).stdout.splitlines()
    assert status == ["A  wip.txt"]  # the user's staged file is still staged, a.txt is clean
    with pytest.raises(gitops.GitError):  # the tag exists: the whole transaction fails, branch unmoved
        before = gitops.head(repo)
        (repo / "a.txt").write_text("two\n")
        gitops.commit_and_tag(repo, ["a.txt"], "again\n", "snapshot/2026-01-01.1")
    assert gitops.head(repo) == before


@pytest.mark.slow
def test_two_snapshots_list_diff_and_restore_from_remote(tmp_path: Path, tiny_model_dir: Path) -> None:
    proj = make_project(tmp_path / "p", tiny_params(tiny_model_dir))
    remote = tmp_path / "remote"
    snap = ["python", "-m", "tracelora", "snapshot"]
    run(snap + ["setup-remote", "--url", str(remote)], proj)
    run(["git", "add", "-A"], proj)
    run(["git", "commit", "-qm", "project"], proj)

    refused = run(snap + ["create"], proj, check=False)
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1 and "dvc repro" in refused.stderr

    run(["dvc", "repro"], proj)
    first = run(snap + ["create"], proj).stdout
    tag1 = first.split()[1].rstrip(":")
    keep = tmp_path / "first"
    keep.mkdir()
    for f in ("data/dataset/train.jsonl", "data/dataset/val.jsonl", "data/dataset/dataset_manifest.json"):
        shutil.copy2(proj / f, keep / Path(f).name)
    shutil.copytree(proj / "models/adapter", keep / "adapter")

    write_jsonl(proj / "data/raw_traces/newagent/day1.jsonl", new_rows(12))
    refused = run(snap + ["create"], proj, check=False)
    assert refused.returncode == 1 and "newagent/day1.jsonl" in refused.stderr and "dvc add" in refused.stderr
    run(["dvc", "add", "-q", "data/raw_traces/newagent"], proj)  # user traces live in DVC, not git
    refused = run(snap + ["create"], proj, check=False)
    assert refused.returncode == 1 and "build" in refused.stderr and refused.stderr.count("\n") == 1
    run(["dvc", "repro"], proj)
    tag2 = run(snap + ["create"], proj).stdout.split()[1].rstrip(":")
    assert tag1 != tag2 and run(["git", "status", "--porcelain"], proj).stdout == ""
    assert run(["git", "show", f"{tag2}:data/raw_traces/newagent.dvc"], proj).stdout.count("- md5: ") == 1
    assert "day1.jsonl" not in run(["git", "ls-files"], proj).stdout

    rows = json.loads(run(snap + ["list", "--json"], proj).stdout)
    assert [r["tag"] for r in rows] == [tag1, tag2]
    assert rows[1]["by_source"]["newagent"] == 12 and "newagent" not in rows[0]["by_source"]
    assert rows[1]["kept"] > rows[0]["kept"] and rows[0]["decision"] in ("promote", "block")

    d = json.loads(run(snap + ["diff", tag1, tag2, "--json"], proj).stdout)
    assert d["dataset"]["added_by_source"]["newagent"] == 12 and d["dataset"]["removed"] == 0
    assert d["dataset"]["added_by_task_category"]["testing"] >= 12
    assert any(k.endswith(":kept") for k in d["metrics"])
    text = run(snap + ["diff", tag1, tag2], proj).stdout
    assert "newagent 12" in text

    # lose the workspace outputs and the local cache: restore must come from the remote
    shutil.rmtree(proj / "data/dataset")
    shutil.rmtree(proj / "models/adapter")
    shutil.rmtree(proj / ".dvc/cache")
    out = tmp_path / "restored"
    run(snap + ["restore", tag1, "--to", str(out)], proj)
    for name in ("train.jsonl", "val.jsonl", "dataset_manifest.json"):
        assert filecmp.cmp(keep / name, out / name, shallow=False), name
    for f in (keep / "adapter").iterdir():
        assert filecmp.cmp(f, out / "adapter" / f.name, shallow=False), f.name
    assert json.loads((out / "gate_decision.json").read_text())["decision"] == rows[0]["decision"]
    again = run(snap + ["restore", tag1, "--to", str(out)], proj, check=False)
    assert again.returncode == 1 and "not empty" in again.stderr


def test_default_remote_is_beside_the_repo_and_an_existing_one_is_kept(tmp_path: Path) -> None:
    from tracelora.ops.snapshot import setup_remote

    proj = make_project(tmp_path / "proj")
    assert setup_remote(proj) == "local"
    assert (tmp_path / "proj-dvc-remote").is_dir()
    assert str(tmp_path / "proj-dvc-remote") in (proj / ".dvc/config.local").read_text()
    assert ".dvc/config.local" not in run(["git", "status", "--porcelain"], proj).stdout  # never committed
    other = make_project(tmp_path / "other")
    run(["dvc", "remote", "add", "-d", "team", "s3://bucket/path"], other)
    assert setup_remote(other) == "team"  # a remote the team committed is not replaced
    assert not (other / ".dvc/config.local").exists() and not (tmp_path / "other-dvc-remote").exists()
