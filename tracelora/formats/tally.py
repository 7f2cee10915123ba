"""The one accounting vocabulary: every unit a reader or a step sees (a line, a row, a record) ends
in exactly one fate, and each drop has a stable reason.

- KEPT: it goes on;
- QUARANTINED (by reason): it could not be read or trusted (bad JSON, wrong schema, a secret left);
- FILTERED (by reason): it was read but is not wanted (a quality filter; ingest calls these
  `skipped`: a row before --since, a branch nobody continued);
- DUPLICATE: a copy of a kept one (decided after the per-record step, corpus-wide);
- BLANK: an empty line, counted apart from what was read.

`Tally` holds the counts of one unit of work (a build chunk, an upload, an imported file, an ingest
source): the build's chunks, the Space, the Hub importer and ingest all count with it, and the
build's corpus-level `Accounting` (tracelora.dataset.pipeline) adds duplicates and splits on top.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

KEPT, QUARANTINED, FILTERED, DUPLICATE, BLANK = "kept", "quarantined", "filtered", "duplicate", "blank"


@dataclass
class Tally:
    """Counts for one unit of work; `kept == read - quarantined - filtered` by construction.
    JSON-serializable (the build cache stores it)."""
    read: int = 0
    blank_lines: int = 0
    lines: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    redactions: Counter[str] = field(default_factory=Counter)
    records_redacted: int = 0
    candidates: int = 0  # build only: kept records that went on to phase 2 (dedup candidates)
    # build only, for the yield block: content of every parsed record (tracelora.cleaning.shaping.Volume
    # field -> characters or calls) and the part of it in records dropped here (reason -> field -> amount)
    volume_read: Counter[str] = field(default_factory=Counter)
    volume_lost: dict[str, Counter[str]] = field(default_factory=dict)
    # build only: post-redaction findings. `leaks` (by rule / `independent:<kind>`) quarantined their
    # lines; `review_*` are random-looking tokens no rule explained, left in place and counted
    leaks: Counter[str] = field(default_factory=Counter)
    review_tokens: int = 0
    review_origins: list[str] = field(default_factory=list)  # the first few, for a person to look at

    def lose(self, reason: str, amounts: dict[str, int]) -> None:
        self.volume_lost.setdefault(reason, Counter()).update(amounts)

    @property
    def kept(self) -> int:
        return self.read - sum(self.quarantined.values()) - sum(self.filtered.values())

    def to_json(self) -> dict[str, Any]:
        return {"read": self.read, "blank_lines": self.blank_lines, "lines": self.lines,
                "quarantined": dict(sorted(self.quarantined.items())), "filtered": dict(sorted(self.filtered.items())),
                "redactions": dict(sorted(self.redactions.items())), "records_redacted": self.records_redacted,
                "candidates": self.candidates, "volume_read": dict(sorted(self.volume_read.items())),
                "volume_lost": {k: dict(sorted(v.items())) for k, v in sorted(self.volume_lost.items())},
                "leaks": dict(sorted(self.leaks.items())), "review_tokens": self.review_tokens,
                "review_origins": self.review_origins}

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Tally":
        return cls(d["read"], d["blank_lines"], d["lines"], Counter(d["quarantined"]), Counter(d["filtered"]),
                   Counter(d["redactions"]), d["records_redacted"], d["candidates"], Counter(d.get("volume_read", {})),
                   {k: Counter(v) for k, v in d.get("volume_lost", {}).items()}, Counter(d.get("leaks", {})),
                   d.get("review_tokens", 0), list(d.get("review_origins", [])))
