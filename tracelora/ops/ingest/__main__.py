"""`tracelora ingest`: see tracelora/ops/ingest/__init__.py and docs/ingest.md."""
from tracelora.common.log import run_main
from tracelora.ops.ingest.cli import main

run_main(main)
