"""`tracelora ingest`: see tracelora/ops/ingest/__init__.py and docs/ingest.md."""
import sys

from tracelora.ops.ingest.cli import main

sys.exit(main())
