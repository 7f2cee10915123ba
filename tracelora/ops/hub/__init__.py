"""Hugging Face Hub and Jobs helper: `tracelora hub <command>` (see docs/hub.md).

Everything goes through `huggingface_hub`'s Python API (never a CLI binary); the token comes from
its own store or HF_TOKEN and never reaches output, logs, cards or job specs other than as a secret.
"""
