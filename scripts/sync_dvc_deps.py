"""Rewrite the code deps of every stage in dvc.yaml from the import graph (tracelora.common.codedeps),
keeping its data deps, comments and layout. Run after moving or adding imports:

    python scripts/sync_dvc_deps.py          # rewrites dvc.yaml in place
    python scripts/sync_dvc_deps.py --check  # exit 1 if dvc.yaml is out of date (what the test checks)
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tracelora.common.codedeps import module_files, relative  # noqa: E402

DEP = "      - "


def synced(text: str) -> str:
    out: list[str] = []
    lines = text.split("\n")
    stage, i = None, 0
    while i < len(lines):
        line = lines[i]
        if m := re.match(r"^  (\w+):$", line):
            stage = m.group(1)
        if line.strip() == "deps:" and stage:
            out.append(line)
            i += 1
            while i < len(lines) and lines[i].startswith(DEP):
                if not lines[i][len(DEP):].startswith("tracelora/"):
                    out.append(lines[i])
                i += 1
            out += [DEP + f for f in relative(module_files(f"tracelora.stages.{stage}"))]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def main(argv: list[str]) -> int:
    path = ROOT / "dvc.yaml"
    text = path.read_text()
    new = synced(text)
    if "--check" in argv:
        print("dvc.yaml code deps are in sync" if new == text else "dvc.yaml code deps are out of date")
        return 0 if new == text else 1
    path.write_text(new)
    print("dvc.yaml code deps rewritten" if new != text else "dvc.yaml code deps already in sync")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
