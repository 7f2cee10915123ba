"""Pure data transforms shared by the stages, the Space app, the TUI and the Hub helper."""
