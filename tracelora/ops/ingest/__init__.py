"""Ingest agent sessions and chat datasets into normalized, redacted traces under data/raw_traces/.

    tracelora ingest --from openclaw|opencode|claude-code|codex|chat|auto [--path P ...]
                            [--since DATE] [--out data/raw_traces] [--dry-run]

Every adapter module has the same small interface: NAME, default_roots(), discover(root) -> units,
detect(path) -> bool (by content), iter_sessions(unit, ledger, display) -> Sessions, and
to_records(session, ledger) -> normalized records; the ledger accounts for every line/row.
"""
from __future__ import annotations

from tracelora.ops.ingest import chat, claude_code, codex, openclaw, opencode

ADAPTERS = {m.NAME: m for m in (openclaw, opencode, claude_code, codex, chat)}
# Most specific first: chat rows are the loosest shape, so it decides last.
AUTO_ORDER = ["openclaw", "opencode", "claude-code", "codex", "chat"]
# Hugging Face datasets have one way in, `tracelora hub import-dataset`; the old adapter name says so.
REMOVED = {"hf": "Hugging Face datasets are imported with `tracelora hub import-dataset OWNER/NAME|DIR` "
                 "(Hub repo, Hub cache with --offline, save_to_disk dir or dir of data files)"}
