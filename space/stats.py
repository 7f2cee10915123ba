"""Summary statistics of a record list: counts by task category, source and split, and a histogram
of approximate token lengths. Tokens are word pieces (`\\w+` runs and single punctuation marks): the
Space has no model tokenizer, and this count tracks BPE lengths closely enough to compare datasets."""
from __future__ import annotations

import re
from collections import Counter
from typing import Any

_TOKEN = re.compile(r"\w+|[^\w\s]")


def approx_tokens(record: dict[str, Any]) -> int:
    n = 0
    for msg in record["messages"]:
        n += len(_TOKEN.findall(msg.get("content") or ""))
        for call in msg.get("tool_calls") or []:
            n += len(_TOKEN.findall(call["function"]["name"])) + len(_TOKEN.findall(str(call["function"].get("arguments", ""))))
    return n


def counts_by(records: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    """[{key, count}] sorted by key, for a bar plot."""
    c = Counter(str(r.get("metadata", {}).get(key, "unknown")) for r in records)
    return [{key: k, "count": c[k]} for k in sorted(c)]


def token_histogram(lengths: list[int], bins: int = 10) -> list[dict[str, Any]]:
    """Equal-width bins over [0, max], in order; labels like "40-59" so the plot reads without a scale."""
    if not lengths:
        return []
    top = max(lengths)
    width = max(1, -(-(top + 1) // bins))
    counts = Counter(min(n // width, bins - 1) for n in lengths)
    return [{"tokens": f"{b * width}-{(b + 1) * width - 1}", "examples": counts.get(b, 0)}
            for b in range(bins) if b * width <= top]


def summary(records: list[dict[str, Any]], splits: list[str] | None = None) -> dict[str, Any]:
    lengths = sorted(approx_tokens(r) for r in records)
    out: dict[str, Any] = {
        "examples": len(records),
        "by_task_category": {d["task_category"]: d["count"] for d in counts_by(records, "task_category")},
        "by_source": {d["source"]: d["count"] for d in counts_by(records, "source")},
        "with_tool_calls": sum(1 for r in records if any(m.get("tool_calls") for m in r["messages"])),
        "tokens": {"min": lengths[0], "median": lengths[len(lengths) // 2], "max": lengths[-1],
                   "total": sum(lengths)} if lengths else {},
    }
    if splits is not None:
        out["by_split"] = dict(sorted(Counter(splits).items()))
    return out
