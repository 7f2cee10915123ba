"""One logger setup for every stage, and the end-of-stage summary block."""
from __future__ import annotations

import logging
import re
import sys
from typing import Any, Callable, NoReturn


def get_logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=logging.INFO,
            format="%(asctime)s %(name)s %(levelname)s %(message)s",
            datefmt="%H:%M:%S",
            stream=sys.stderr,
        )
    return logger


def quiet_libraries() -> None:
    """Silence the chatty third-party loggers and progress bars a stage does not own."""
    import os
    import warnings

    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    for name in ("transformers", "peft", "trl", "datasets", "accelerate", "bitsandbytes", "torch"):
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()
    except ImportError:  # pragma: no cover - transformers is a hard requirement of the model stages
        pass


def summary(stage: str, rows: dict[str, Any]) -> None:
    """Print the human-readable block a user reads at the end of each stage."""
    from tracelora.common.paths import collapse_home

    width = max(len(k) for k in rows) if rows else 0
    print(f"\n== {stage} ==", file=sys.stdout)
    for key, value in rows.items():
        if isinstance(value, float):
            value = f"{value:.4g}"
        print(f"  {key.ljust(width)}  {collapse_home(str(value))}", file=sys.stdout)  # paths name no one
    sys.stdout.flush()


_WORD = re.compile(r"[A-Za-z]+(?:[-. ][A-Za-z]+)*")
# how provider tokens start: a word that starts like one is not quoted, even a short one
_TOKEN_STARTS = ("sk", "rk", "gh", "github", "xox", "xapp", "gl", "hf", "api", "npm", "AKIA", "ASIA", "AIza", "SG",
                 "do", "shp", "pypi", "GOCSPX", "eyJ", "whsec", "key")


def quoted(value: object) -> str:
    """An input value named in an error or warning: quoted when it is a short plain word (a typo'd
    role, an unknown entry type such as 'file-history-snapshot'), else only its type and length, so
    a message never carries a piece of a secret that a rule could no longer recognize once cut."""
    v = str(value)
    if len(v) <= 32 and _WORD.fullmatch(v) and not v.startswith(_TOKEN_STARTS):
        return repr(v)
    return f"<{type(value).__name__} of {len(v)} characters>"


def os_error_line(exc: OSError) -> str:
    """`error: <path>: <reason> (ENOSPC)`: what a command prints when the disk is full, a folder is
    read-only or an input vanished mid-run (atomic writes leave the previous outputs intact)."""
    import errno as _errno

    from tracelora.common.paths import collapse_home

    code = _errno.errorcode.get(exc.errno or 0, "")
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    text = f"{where}: " if where else ""
    return collapse_home(f"error: {text}{exc.strerror or exc}" + (f" ({code})" if code else ""))


def guarded(main: Callable[..., int | None], *args: Any) -> int:
    """main(*args) as an exit code; a file-system error (a full disk, a read-only folder, an input
    that vanished) is one line on stderr and exit 4 instead of a traceback."""
    try:
        return int(main(*args) or 0)
    except OSError as exc:
        print(os_error_line(exc), file=sys.stderr)
        return 4


def run_main(main: Callable[[], int | None]) -> NoReturn:
    """`python -m <module>` entry points: the same as through the `tracelora` command."""
    raise SystemExit(guarded(main))
