"""Terminal UI for the pipeline and the Hub: `tracelora tui [--project DIR]` (docs/tui.md)."""
