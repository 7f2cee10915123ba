"""`tracelora check-cache` in a real DVC repo: `dvc repro` exits 0 when an output could not be stored in
the cache (a full disk); the check must not."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import run

from tracelora.ops import cache_check


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    run(["git", "init", "-q"], tmp_path)
    run(["dvc", "init", "-q"], tmp_path)
    run(["dvc", "config", "core.analytics", "false"], tmp_path)
    (tmp_path / "dvc.yaml").write_text(
        "stages:\n  make:\n    cmd: " + sys.executable + " -c \"import os; os.makedirs('out', exist_ok=True); "
        "open('out/a.txt','w').write('alpha'); open('out/b.txt','w').write('beta')\"\n    outs:\n      - out\n")
    run(["dvc", "repro", "-q"], tmp_path)
    return tmp_path


def test_every_output_cached_passes(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cache_check.main(["--repo", str(repo)]) == 0
    assert "every DVC output is in the DVC cache" in capsys.readouterr().out


def test_an_output_missing_from_the_cache_fails_in_one_line(repo: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import hashlib

    digest = hashlib.md5(b"beta").hexdigest()
    obj = repo / ".dvc/cache/files/md5" / digest[:2] / digest[2:]
    assert obj.is_file()
    obj.chmod(0o644)
    obj.unlink()  # what a transfer that failed for lack of space leaves
    assert cache_check.main(["--repo", str(repo)]) == cache_check.NOT_CACHED
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: 1 outputs are not in the DVC cache (out/b.txt)")
