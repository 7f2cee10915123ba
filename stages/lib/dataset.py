"""The build pipeline for one record: normalize -> redact -> filter -> dedup -> split, with
every record accounted for (`read == kept + quarantined + filtered + duplicates`)."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Optional

from stages.common.params import DataParams
from stages.lib.dedup import ExactDedup
from stages.lib.quality import build_filters, check
from stages.lib.reader import RawLine
from stages.lib.records import FormatError, normalize, with_id
from stages.lib.redaction import Redactor, redact_record
from stages.lib.split import assign_split


@dataclass
class Quarantined:
    origin: str
    reason: str
    detail: str

    def row(self) -> dict[str, str]:
        return {"origin": self.origin, "reason": self.reason, "detail": self.detail}

    def message(self) -> str:
        return f"{self.origin}: {self.reason}" + (f": {self.detail}" if self.detail else "")


@dataclass
class Accounting:
    read: Counter[str] = field(default_factory=Counter)  # by source kind (raw, synthetic, adversarial)
    quarantined: Counter[str] = field(default_factory=Counter)
    filtered: Counter[str] = field(default_factory=Counter)
    duplicates: int = 0
    redactions: Counter[str] = field(default_factory=Counter)
    records_redacted: int = 0
    blank_lines: int = 0
    split: Counter[str] = field(default_factory=Counter)
    by_source: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    by_category: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @property
    def kept(self) -> int:
        return sum(self.split.values())

    def balanced(self) -> bool:
        return sum(self.read.values()) == self.kept + sum(self.quarantined.values()) + sum(self.filtered.values()) + self.duplicates

    def as_dict(self) -> dict[str, Any]:
        return {
            "read": sum(self.read.values()),
            "read_by_kind": dict(sorted(self.read.items())),
            "kept": self.kept,
            "train": self.split["train"],
            "val": self.split["val"],
            "quarantined": sum(self.quarantined.values()),
            "quarantined_by_reason": dict(sorted(self.quarantined.items())),
            "filtered": sum(self.filtered.values()),
            "filtered_by_reason": dict(sorted(self.filtered.items())),
            "duplicates": self.duplicates,
            "blank_lines": self.blank_lines,
            "records_redacted": self.records_redacted,
            "redactions": sum(self.redactions.values()),
            "redactions_by_rule": dict(sorted(self.redactions.items())),
            "by_source": {k: dict(sorted(v.items())) for k, v in sorted(self.by_source.items())},
            "by_task_category": {k: dict(sorted(v.items())) for k, v in sorted(self.by_category.items())},
        }


class DatasetBuilder:
    """Feed it raw lines; it returns (split, record) for kept ones and accounts for the rest."""

    def __init__(self, params: DataParams) -> None:
        self.params = params
        self.filters = build_filters(params)
        self.dedup = ExactDedup()
        self.acct = Accounting()
        self.quarantine: list[Quarantined] = []

    def _quarantine(self, origin: str, reason: str, detail: str) -> None:
        # Details are structural (keys, positions) but still go through redaction: nothing secret leaves.
        self.acct.quarantined[reason] += 1
        self.quarantine.append(Quarantined(origin, reason, Redactor().text(detail)))

    def add(self, line: RawLine, kind: str = "raw") -> Optional[tuple[str, dict[str, Any]]]:
        if line.blank:
            self.acct.blank_lines += 1
            return None
        self.acct.read[kind] += 1
        if line.reason:
            self._quarantine(line.origin, line.reason, line.detail)
            return None
        try:
            record = normalize(line.row, line.origin, default_source=kind if kind != "raw" else "raw")
        except FormatError as exc:
            self._quarantine(line.origin, exc.reason, exc.detail)
            return None
        record, hits = redact_record(record)
        if hits:
            self.acct.redactions.update(hits)
            self.acct.records_redacted += 1
        reason = check(record, self.filters)
        if reason:
            self.acct.filtered[reason] += 1
            return None
        record = with_id(record)
        if self.dedup.seen(record["id"], line.origin) is not None:
            self.acct.duplicates += 1
            return None
        split = assign_split(record["id"], self.params.val_fraction)
        meta = record["metadata"]
        self.acct.split[split] += 1
        self.acct.by_source[meta["source"]][split] += 1
        self.acct.by_category[meta["task_category"]][split] += 1
        return split, record
