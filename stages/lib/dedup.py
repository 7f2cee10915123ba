"""Exact deduplication on the content id (sha256 of the canonical, redacted conversation)."""
from __future__ import annotations


class ExactDedup:
    """Streaming: keeps one id per kept example, memory grows with the unique count only."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}  # id -> origin of the copy that was kept

    def seen(self, record_id: str, origin: str) -> str | None:
        """Return the origin of an earlier copy, or None (and remember this one) if it is new."""
        first = self._first.get(record_id)
        if first is None:
            self._first[record_id] = origin
        return first
