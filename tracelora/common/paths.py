"""The one path rule: a relative path in params.yaml is relative to the project root, the folder
that holds params.yaml and dvc.yaml (DVC runs every stage there). Paths given on a command line
are relative to the working directory, as with any command."""
from __future__ import annotations

from pathlib import Path
from typing import Optional


def project_root(params_path: str | Path) -> Path:
    """The folder of the params file: the root every relative path in it resolves against."""
    return Path(params_path).resolve().parent


def resolve(path: str, root: Path) -> Optional[Path]:
    """`path` from params.yaml as a filesystem path; '' (a switched-off path) gives None. `~` expands."""
    if not path:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def shown(path: Path, root: Path) -> str:
    """How a file under the project root is named in reports and origins: relative to the root, so
    metrics and predictions read the same on every machine; a file elsewhere keeps its own path."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()
