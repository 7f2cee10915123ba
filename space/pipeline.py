"""The build stage's per-record steps, one record at a time: normalize (stages.lib.records) ->
redact (stages.lib.redaction) -> quality filters (stages.lib.quality) -> content id -> exact dedup
-> content-hash split (stages.lib.split). The Space composes these library functions itself rather
than the build's corpus-level driver (stages.lib.dataset writes chunk files and runs corpus-wide
near-dedup), so one generated set or one upload is checked in memory, line by line."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

from stages.common.params import DataParams
from stages.lib.quality import build_filters, check
from stages.lib.reader import RawLine
from stages.lib.records import FormatError, normalize, with_id
from stages.lib.redaction import Redactor, redact_record
from stages.lib.split import assign_split

KEPT, QUARANTINED, FILTERED, DUPLICATE, BLANK = "kept", "quarantined", "filtered", "duplicate", "blank"


@dataclass
class Fate:
    """What happened to one raw line; `detail` is structural and already redacted."""

    status: str
    reason: str = ""
    detail: str = ""
    record: Optional[dict[str, Any]] = None
    split: str = ""
    redactions: Counter[str] = field(default_factory=Counter)


class RecordPipeline:
    """Feed raw lines; every line gets exactly one fate, and `counts()` balances:
    read == kept + quarantined + filtered + duplicates (blank lines are counted apart)."""

    def __init__(self, params: Optional[DataParams] = None) -> None:
        self.params = params or DataParams()
        self.filters = build_filters(self.params)
        self.seen: dict[str, str] = {}  # record id -> origin of its first copy
        self.read: Counter[str] = Counter()
        self.fates: Counter[str] = Counter()
        self.quarantined: Counter[str] = Counter()
        self.filtered: Counter[str] = Counter()
        self.redactions: Counter[str] = Counter()
        self.records_redacted = 0
        self.splits: Counter[str] = Counter()
        self.by_source: dict[str, Counter[str]] = defaultdict(Counter)
        self.by_category: dict[str, Counter[str]] = defaultdict(Counter)

    def _count(self, fate: Fate) -> Fate:
        self.fates[fate.status] += 1
        if fate.status == QUARANTINED:
            self.quarantined[fate.reason] += 1
        elif fate.status == FILTERED:
            self.filtered[fate.reason] += 1
        return fate

    def add(self, line: RawLine, kind: str = "raw") -> Fate:
        if line.blank:
            return self._count(Fate(BLANK))
        self.read[kind] += 1
        if line.reason:
            return self._count(Fate(QUARANTINED, line.reason, Redactor().text(line.detail)))
        try:
            record = normalize(line.row, line.origin, default_source=kind)
        except FormatError as exc:
            return self._count(Fate(QUARANTINED, exc.reason, Redactor().text(exc.detail)))
        record, hits = redact_record(record)
        if hits:
            self.redactions.update(hits)
            self.records_redacted += 1
        reason = check(record, self.filters)
        if reason:
            return self._count(Fate(FILTERED, reason, "dropped by a quality filter of the build stage", redactions=hits))
        record = with_id(record)
        first = self.seen.setdefault(record["id"], line.origin)
        if first != line.origin:
            return self._count(Fate(DUPLICATE, "duplicate", f"same conversation as {first}", redactions=hits))
        split = assign_split(record["id"], self.params.val_fraction)
        meta = record["metadata"]
        self.splits[split] += 1
        self.by_source[meta["source"]][split] += 1
        self.by_category[meta["task_category"]][split] += 1
        return self._count(Fate(KEPT, record=record, split=split, redactions=hits))

    def counts(self) -> dict[str, Any]:
        """The same keys as the build manifest's `counts` block."""
        return {
            "read": sum(self.read.values()),
            "read_by_kind": dict(sorted(self.read.items())),
            "kept": self.fates[KEPT],
            "train": self.splits["train"],
            "val": self.splits["val"],
            "quarantined": self.fates[QUARANTINED],
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "filtered": self.fates[FILTERED],
            "filtered_by_reason": dict(sorted(self.filtered.items())),
            "duplicates": self.fates[DUPLICATE],
            "blank_lines": self.fates[BLANK],
            "records_redacted": self.records_redacted,
            "redactions": sum(self.redactions.values()),
            "redactions_by_rule": dict(sorted(self.redactions.items())),
            "by_source": {k: dict(sorted(v.items())) for k, v in sorted(self.by_source.items())},
            "by_task_category": {k: dict(sorted(v.items())) for k, v in sorted(self.by_category.items())},
        }
