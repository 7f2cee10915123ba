"""What users run beside the DAG: ingest adapters, the Hub/Jobs helper, the TUI, snapshots, the daily
loop and counterexamples. May import every library folder; nothing in the library imports ops."""
