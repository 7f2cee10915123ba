"""`python -m stages.ingest`: see stages/ingest/__init__.py and docs/ingest.md."""
import sys

from stages.ingest.cli import main

sys.exit(main())
