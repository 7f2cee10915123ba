"""`tracelora check-cache`: fail when a DVC output is not in the DVC cache.

`dvc repro` exits 0 even when it could not store an output in the cache (a full disk: "failed to
transfer ... No space left on device"); the workspace then holds files that `dvc push`, `dvc checkout`
and every snapshot silently lack. `make run` and `daily` call this right after `dvc repro`.

    tracelora check-cache [--repo .]

Exit 0: every tracked output is cached; 5: some are not (one line naming the first few and what to do).
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

NOT_CACHED = 5
SHOWN = 3


def not_in_cache(repo: Path) -> list[str]:
    """Outputs DVC tracks whose content is not in its cache (`dvc data status --granular`)."""
    proc = subprocess.run([sys.executable, "-m", "dvc", "data", "status", "--granular", "--json"], cwd=repo,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError((proc.stderr or proc.stdout).strip().splitlines()[-1] if (proc.stderr or proc.stdout).strip()
                           else f"dvc data status exited {proc.returncode}")
    out = json.loads(proc.stdout or "{}")
    return sorted(out.get("not_in_cache", []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora check-cache", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", default=".", help="the project (a DVC repo)")
    args = ap.parse_args(argv)
    try:
        missing = not_in_cache(Path(args.repo))
    except (RuntimeError, ValueError) as exc:
        print(f"error: cannot check the DVC cache: {exc}", file=sys.stderr)
        return NOT_CACHED
    if missing:
        more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
        print(f"error: {len(missing)} outputs are not in the DVC cache ({', '.join(missing[:SHOWN])}{more}): "
              "the cache disk may be full; free space, then `dvc commit` (outputs in the workspace are intact)",
              file=sys.stderr)
        return NOT_CACHED
    print("cache: every DVC output is in the DVC cache")
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
