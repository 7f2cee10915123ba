"""Terminal UI for the pipeline and the Hub: `python -m stages.tui [--project DIR]` (docs/tui.md)."""
