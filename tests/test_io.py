"""Atomic writes: a failure leaves the old output untouched; outputs get normal (umask) permissions."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tracelora.common.io import atomic_dir, atomic_open, write_json


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "m.json"
    write_json(out, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(out) as fh:
            fh.write('{"half": ')
            raise RuntimeError("crash mid-write")
    assert out.read_text() == '{\n  "a": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["m.json"]


def test_outputs_are_readable_like_files_open_would_create(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_json(tmp_path / "m.json", {})
        with atomic_dir(tmp_path / "d") as d:
            (d / "x").write_text("x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "m.json").stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "d").stat().st_mode) == 0o755
