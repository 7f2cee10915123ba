"""The one command line: `tracelora <command> [args]`, one subcommand per stage and tool.

Each subcommand is the `main(argv)` of one module, imported only when it runs, so `tracelora gate`
never loads torch. The same modules also run as `python -m <module>`; `python -m tracelora` is
this entry point.
"""
from __future__ import annotations

import importlib
import sys
from typing import NamedTuple


class Command(NamedTuple):
    module: str
    help: str


# The order is the order of the protocol: what a user reads top to bottom in `tracelora --help`.
COMMANDS: dict[str, Command] = {
    "ingest": Command("tracelora.ops.ingest.cli", "pull sessions from an agent's store or an export into data/raw_traces/"),
    "build": Command("tracelora.stages.build", "DVC stage: raw traces -> redacted, filtered, deduplicated train/val"),
    "base-model": Command("tracelora.stages.base_model", "DVC stage: materialize the base model (embedded SmolLM2 or a dir)"),
    "train": Command("tracelora.stages.train", "DVC stage: LoRA (CPU) / QLoRA (CUDA) adapter with TRL"),
    "evaluate": Command("tracelora.stages.evaluate", "DVC stage: base vs adapter on val, paired bootstrap CIs"),
    "gate": Command("tracelora.stages.gate", "DVC stage: promote only when every check passes (fails closed)"),
    "export": Command("tracelora.stages.export", "DVC stage: merge a promoted adapter, write the model card"),
    "check-cache": Command("tracelora.ops.cache_check", "fail when a DVC output is not in the DVC cache (a full cache disk)"),
    "snapshot": Command("tracelora.ops.snapshot", "dataset/model snapshots: git commit + tag + dvc push, list, diff, restore"),
    "daily": Command("tracelora.ops.daily", "the cron-safe daily loop: ingest, repro, review, snapshot"),
    "counterexamples": Command("tracelora.ops.counterexamples", "collect the val examples the adapter failed, for review"),
    "hub": Command("tracelora.ops.hub.cli", "Hugging Face Hub and Jobs: push, import, pull-model, jobs"),
    "tui": Command("tracelora.ops.tui.app", "terminal UI for the pipeline, the Hub and Jobs"),
}


def usage() -> str:
    width = max(len(n) for n in COMMANDS)
    rows = "\n".join(f"  {name.ljust(width)}  {cmd.help}" for name, cmd in COMMANDS.items())
    return (f"usage: tracelora <command> [args]   (tracelora <command> --help for its args)\n\ncommands:\n{rows}\n\n"
            "Day to day the DVC stages run through `dvc repro`; see README.md.")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] in ("-V", "--version"):
        from tracelora import __version__

        print(f"tracelora {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    cmd = COMMANDS.get(name) or COMMANDS.get(name.replace("_", "-"))
    if cmd is None:
        print(f"error: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(cmd.module)
    from tracelora.common.log import guarded

    return guarded(module.main, rest)  # a full disk, a read-only folder, an input that vanished: one line


if __name__ == "__main__":
    sys.exit(main())
