"""The build's own per-record step (`tracelora.dataset.pipeline.RecordStep`: normalize -> redact ->
quality filters -> content id -> the written line, with its unpaired-surrogate guard -> post-redaction
scan -> split), run on one upload or one generated set in memory. Only what the build does at corpus
level is redone here, in memory: exact dedup across the set, and the counts (the build's `Tally`
and `Accounting`, so `counts()` has the keys of the build manifest's `counts` block). The Space has no
`redaction_ok` gate, so a line the post-redaction scan flags is quarantined instead of kept."""
from __future__ import annotations

import copy
from typing import Any, Optional

from tracelora.common.params import DataParams
from tracelora.dataset.pipeline import EXACT, Accounting, Fate, RecordStep
from tracelora.formats.jsonl import RawLine
from tracelora.formats.tally import BLANK, DUPLICATE, FILTERED, KEPT, QUARANTINED

__all__ = ["BLANK", "DUPLICATE", "FILTERED", "KEPT", "QUARANTINED", "Fate", "RecordPipeline"]


class RecordPipeline:
    """Feed raw lines; every line gets exactly one fate, and `counts()` balances:
    read == kept + quarantined + filtered + duplicates (blank lines are counted apart)."""

    def __init__(self, params: Optional[DataParams] = None) -> None:
        self.params = params or DataParams()
        self.steps: dict[str, RecordStep] = {}  # one per kind: its Tally give read_by_kind
        self.acct = Accounting()  # what the build's phase 2 counts: duplicates, splits, sources, categories
        self.seen: dict[str, str] = {}  # record id -> origin of its first copy

    def _step(self, kind: str) -> RecordStep:
        step = self.steps.get(kind)
        if step is None:
            step = self.steps[kind] = RecordStep(self.params, kind)
        return step

    def add(self, line: RawLine, kind: str = "raw") -> Fate:
        fate = self._step(kind).fate(line)
        if fate.status != KEPT or fate.record is None:
            return fate
        record = fate.record
        first = self.seen.setdefault(record["id"], line.origin)
        if first != line.origin:
            self.acct.duplicates[EXACT] += 1
            return fate._replace(status=DUPLICATE, reason=EXACT, detail=f"same conversation as {first}",
                                 record=None, line=b"")
        meta = record["metadata"]
        self.acct.split[fate.split] += 1
        self.acct.by_source[meta["source"]][fate.split] += 1
        self.acct.by_category[meta["task_category"]][fate.split] += 1
        return fate

    def accounting(self) -> Accounting:
        """The build's Accounting of everything added so far (phase-1 stats per kind plus phase 2)."""
        acct = copy.deepcopy(self.acct)
        for kind, step in self.steps.items():
            acct.add_stats(step.stats, kind)
        return acct

    def counts(self) -> dict[str, Any]:
        """`Accounting.as_dict()`: the same keys as the build manifest's `counts` block."""
        return self.accounting().as_dict()
