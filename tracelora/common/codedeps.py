"""Which of this package's source files a module runs: the closure of its `tracelora.*` imports
(module level and inside functions), read from the source with `ast`, never by importing.

The build cache keys its entries on the code of what phase 1 imports, and a test checks each DVC
stage's code deps in dvc.yaml against the same closure, so neither is a hand-kept list that drifts."""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

PACKAGE = "tracelora"
_PKG_DIR = Path(__file__).resolve().parents[1]


def _file_of(module: str) -> Path | None:
    rel = Path(*module.split(".")[1:])
    for cand in (_PKG_DIR / rel.with_suffix(".py"), _PKG_DIR / rel / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _imports(path: Path) -> set[str]:
    """`tracelora.*` modules a file imports; `from tracelora.x import y` counts y when y is a module."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == PACKAGE)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == PACKAGE:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names if _file_of(f"{node.module}.{a.name}"))
    return out


@lru_cache(maxsize=32)
def module_files(module: str) -> tuple[Path, ...]:
    """Every package file `module` may run, itself included, sorted; package `__init__` files of the
    path are left out (they hold docstrings only)."""
    seen: set[Path] = set()
    todo = [module]
    while todo:
        path = _file_of(todo.pop())
        if path is None or path in seen:
            continue
        seen.add(path)
        todo.extend(_imports(path))
    return tuple(sorted(p for p in seen if p.name != "__init__.py" or p == _file_of(module)))


def relative(paths: tuple[Path, ...]) -> list[str]:
    """Paths relative to the repository root (the folder above the package), POSIX style."""
    return [p.relative_to(_PKG_DIR.parent).as_posix() for p in paths]
