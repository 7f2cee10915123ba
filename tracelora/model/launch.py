"""How the train stage starts on more than one process: it re-launches itself under `accelerate
launch` (so the DVC command is the same for every launcher), and every rank agrees on the
checkpoint to resume from. Also: whether bitsandbytes can run here (QLoRA needs it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tracelora.common.log import get_logger
from tracelora.common.params import TrainParams
from tracelora.common.paths import resolve

log = get_logger("train")
CHILD_ENV = "TRACELORA_TRAIN_LAUNCHED"  # set in the re-launched processes, so they train instead of launching again


def relaunch(argv: list[str], p: TrainParams, root: Path) -> int:
    """Run this same stage under `accelerate launch` (the DVC command stays `tracelora train`)."""
    config = resolve(p.accelerate_config, root)
    if config is None or not config.is_file():
        print(f"error: train.accelerate_config: {p.accelerate_config}: file not found", file=sys.stderr)
        return 2
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)]
    if p.num_processes:
        cmd += ["--num_processes", str(p.num_processes)]
    cmd += ["-m", "tracelora", "train", *argv]
    log.info("launching: accelerate launch --config_file %s%s -m tracelora train", p.accelerate_config,
             f" --num_processes {p.num_processes}" if p.num_processes else "")
    return subprocess.call(cmd, env={**os.environ, CHILD_ENV: "1"})


def bnb_available() -> bool:
    try:
        import bitsandbytes  # noqa: F401

        return True
    except Exception:  # bitsandbytes raises more than ImportError when its native lib is missing
        return False


def agree_on_resume(resume: Path | None) -> Path | None:
    """Every rank resumes from rank 0's choice (rank 0 alone may have wiped a stale dir)."""
    import torch.distributed as dist

    if not dist.is_initialized():
        return resume  # the Trainer initialises the group later; all ranks saw the same files
    box = [str(resume) if resume else None]
    dist.broadcast_object_list(box, src=0)
    return Path(box[0]) if box[0] else None
