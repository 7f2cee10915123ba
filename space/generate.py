"""Options -> dataset: seed templates expanded by tracelora.dataset.synthesis, then the build's own
per-record step (tracelora.dataset.pipeline.RecordStep, via space.pipeline), so a Space export and a
`build` output follow one record contract and one accounting."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from space.options import Catalogue, GenerationOptions, adversarial_templates, synthetic_templates
from space.pipeline import DUPLICATE, KEPT, RecordPipeline
from tracelora.common.params import DataParams
from tracelora.formats.jsonl import RawLine
from tracelora.dataset.synthesis import apply_tool_set, mix


@dataclass
class Dataset:
    options: GenerationOptions
    records: list[dict[str, Any]] = field(default_factory=list)  # kept records, generation order
    splits: list[str] = field(default_factory=list)  # "train" / "val" per record, by content hash
    counts: dict[str, Any] = field(default_factory=dict)  # same keys as the build manifest's counts
    rejected: list[dict[str, str]] = field(default_factory=list)  # quarantined/filtered draws (template bugs)


def generate_dataset(cat: Catalogue, opts: GenerationOptions, params: DataParams | None = None) -> Dataset:
    """Deterministic in (templates, opts): the same choice gives the same records in the same order.
    Duplicates (two draws with the same slot values) are dropped and counted, as in `build`."""
    pipe = RecordPipeline(params)
    out = Dataset(opts)
    rows = mix(synthetic_templates(cat, opts), adversarial_templates(cat, opts), opts.count,
               opts.adversarial_share, opts.seed)
    for kind, i, row in rows:
        origin = f"{kind}:{i}"
        fate = pipe.add(RawLine(origin, row=apply_tool_set(row, opts.tool_set)), kind)
        if fate.status == KEPT and fate.record is not None:
            out.records.append(fate.record)
            out.splits.append(fate.split)
        elif fate.status != DUPLICATE:
            out.rejected.append({"origin": origin, "reason": fate.reason, "detail": fate.detail})
    out.counts = pipe.counts()
    return out
