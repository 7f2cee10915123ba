"""Materialize the base model as a safetensors dir (tokenizer and chat template included).

    tracelora base-model --out models/base
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tracelora.common.io import atomic_dir
from tracelora.common.log import get_logger, quiet_libraries, summary
from tracelora.common.params import load_or_exit
from tracelora.common.paths import project_root, resolve
from tracelora.model.source import ModelSourceError, materialize

log = get_logger("base_model")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora base-model", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--params", default="params.yaml")
    args = ap.parse_args(argv)
    params = load_or_exit(args.params).model
    quiet_libraries()
    log.info("materializing base model %r", params.base)
    try:
        with atomic_dir(args.out) as tmp:
            base = params.base if params.base == "embedded" else str(resolve(params.base, project_root(args.params)))
            info = materialize(base, tmp)
            cfg = json.loads((tmp / "config.json").read_text())
            if "quantization_config" in cfg:
                raise ModelSourceError("converted config still carries a quantization_config")
    except ModelSourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    size = sum(p.stat().st_size for p in Path(args.out).iterdir())
    summary("base_model", {"source": info["source"], "out": args.out, "architecture": cfg.get("model_type"),
                           "size_mb": round(size / 2**20, 1)})
    return 0


if __name__ == "__main__":
    from tracelora.common.log import run_main

    run_main(main)
