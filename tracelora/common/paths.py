"""The one path rule: a relative path in params.yaml is relative to the project root, the folder
that holds params.yaml and dvc.yaml (DVC runs every stage there). Paths given on a command line
are relative to the working directory, as with any command."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

_HOME = re.compile(r"(?<![\w/])(/home/|/Users/)(?!user(?:/|\b))[A-Za-z0-9._-]+")
_WIN_HOME = re.compile(r"([A-Za-z]:\\+Users\\+)(?!user\b)[A-Za-z0-9._ -]+")


def project_root(params_path: str | Path) -> Path:
    """The folder of the params file: the root every relative path in it resolves against."""
    return Path(params_path).resolve().parent


def resolve(path: str, root: Path) -> Optional[Path]:
    """`path` from params.yaml as a filesystem path; '' (a switched-off path) gives None. `~` expands."""
    if not path:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else root / p


def collapse_home(text: str) -> str:
    """`/home/<name>`, `/Users/<name>`, `C:\\Users\\<name>` -> the same with `user`: a path shown in a
    report, a summary or a log never names the person (tracelora.cleaning.names does the rest)."""
    if "home/" not in text and "Users" not in text:
        return text
    return _WIN_HOME.sub(r"\1user", _HOME.sub(r"\1user", text))


def shown(path: Path, root: Path) -> str:
    """How a file under the project root is named in reports and origins: relative to the root, so
    metrics and predictions read the same on every machine; a file elsewhere keeps its own path,
    with the home folder's name collapsed."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return collapse_home(path.as_posix())
