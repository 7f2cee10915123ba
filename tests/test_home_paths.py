"""No path a command shows names its user: summaries, the build's manifest and quarantine origins,
ingest errors collapse `/home/<name>`, `/Users/<name>`, `C:\\Users\\<name>` to `user`."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import ROOT, write_jsonl

from tracelora.common.log import summary
from tracelora.common.paths import collapse_home, shown


@pytest.mark.parametrize("text,expected", [
    ("/home/jdoe/src/app", "/home/user/src/app"),
    ("/Users/Jane.Doe/dev", "/Users/user/dev"),
    ("C:\\Users\\jdoe\\Documents", "C:\\Users\\user\\Documents"),
    ("C:\\\\Users\\\\jdoe\\\\x", "C:\\\\Users\\\\user\\\\x"),
    ("error in /home/jdoe/a.jsonl:3 and /Users/mk/b", "error in /home/user/a.jsonl:3 and /Users/user/b"),
    ("/srv/home/jdoe", "/srv/home/jdoe"),  # not a home folder
    ("/home/user/x", "/home/user/x"),
])
def test_collapse_home(text: str, expected: str) -> None:
    assert collapse_home(text) == expected


def test_summaries_and_shown_paths_name_no_one(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    summary("x", {"out": "/home/jdoe/proj/data", "n": 3})
    out = capsys.readouterr().out
    assert "/home/user/proj/data" in out and "jdoe" not in out
    assert shown(Path("/Users/jdoe/elsewhere/f.jsonl"), tmp_path) == "/Users/user/elsewhere/f.jsonl"


def test_build_manifest_and_quarantine_collapse_a_home_in_the_raw_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The raw dir is given as a path through a folder named like a home (`<tmp>/Users/jdoe/...` is
    reached as `/Users/jdoe` by a symlink where the machine allows it, else the test is skipped)."""
    home = Path("/Users/jdoe-tracelora-test")
    made_parent = not home.parent.exists()
    try:
        home.parent.mkdir(exist_ok=True)
        home.symlink_to(tmp_path, target_is_directory=True)
    except OSError:
        pytest.skip("cannot create a /Users/<name> path here")
    try:
        from tracelora.stages import build

        raw = home / "raw"
        write_jsonl(tmp_path / "raw/a.jsonl", [{"messages": [{"role": "user", "content": "Fix the parser please."},
                                                              {"role": "assistant", "content": "Fixed the bound check."}]}])
        with open(tmp_path / "raw/a.jsonl", "a") as fh:
            fh.write("{not json\n")
        (tmp_path / "params.yaml").write_text("data: {min_examples: 1, synthetic_ratio: 0, adversarial_ratio: 0, cache_dir: ''}\n")
        assert build.main(["--raw", str(raw), "--seeds", str(ROOT / "data/seeds"), "--out", str(tmp_path / "out"),
                           "--metrics", str(tmp_path / "m.json"), "--params", str(tmp_path / "params.yaml")]) == 0
        for name in ("dataset_manifest.json", "quarantine.jsonl"):
            text = (tmp_path / "out" / name).read_text()
            assert "jdoe-tracelora-test" not in text and "/Users/user/raw" in text
        assert json.loads((tmp_path / "out/dataset_manifest.json").read_text())["inputs"]["raw_dir"] == "/Users/user/raw"
    finally:
        home.unlink()
        if made_parent:
            home.parent.rmdir()
