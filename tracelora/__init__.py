"""tracelora: coding-agent sessions -> a redacted dataset -> a LoRA/QLoRA adapter, as a DVC pipeline.

One command line (`tracelora <command>`, tracelora.cli); the folders are the architecture (the map
opens DESIGN_NOTES.md): common (plumbing) <- formats <- cleaning <- dataset; formats <- model,
judging; stages (the DVC stages, thin) and ops (tools beside the DAG) on top.
"""
__version__ = "0.5.0"
