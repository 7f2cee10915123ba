"""Pure parts of dataset/model snapshots: names, commit messages, summaries and diffs.

A snapshot is a git commit + tag `snapshot/<date>.<n>` holding `dvc.lock`, `params.yaml`, the metrics
files and any `.dvc` files; the data and models those name live in the DVC cache and remote.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any, Iterable

TAG_PREFIX = "snapshot/"
TAG_RE = re.compile(r"^snapshot/(\d{4}-\d{2}-\d{2})\.(\d+)$")
METRIC_FILES = ("metrics/dataset.json", "metrics/train.json", "metrics/eval_results.json", "metrics/gate_decision.json")
# What the seed wrote per run; `restore` brings each back (path in the repo -> name in the restore dir).
SEED_FILES = {
    "data/dataset/train.jsonl": "train.jsonl",
    "data/dataset/val.jsonl": "val.jsonl",
    "data/dataset/dataset_manifest.json": "dataset_manifest.json",
    "metrics/eval_results.json": "eval_results.json",
    "metrics/gate_decision.json": "gate_decision.json",
}


def next_tag(existing: Iterable[str], today: dt.date) -> str:
    """`snapshot/2026-11-24.1`, then `.2`, ... for more snapshots the same day."""
    day = today.isoformat()
    used = [int(m.group(2)) for t in existing if (m := TAG_RE.match(t)) and m.group(1) == day]
    return f"{TAG_PREFIX}{day}.{max(used, default=0) + 1}"


def _get(d: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def summarize(dataset: dict | None, evals: dict | None, gate: dict | None) -> dict[str, Any]:
    """The facts a snapshot line shows, from the metrics files (any of them may be missing)."""
    by_source = _get(dataset, "by_source") or {}
    return {
        "kept": _get(dataset, "kept"), "train": _get(dataset, "train"), "val": _get(dataset, "val"),
        "by_source": {s: sum(v.values()) if isinstance(v, dict) else v for s, v in sorted(by_source.items())},
        "delta": {k: v for k, v in (_get(evals, "delta") or {}).items() if isinstance(v, (int, float))},
        "n_examples": _get(evals, "n_examples"),
        "decision": _get(gate, "decision") or ("promote" if _get(gate, "promote") else "block" if gate else None),
        "reasons": _get(gate, "reasons") or [],
    }


def commit_message(tag: str, s: dict[str, Any]) -> str:
    head = f"Snapshot {tag.removeprefix(TAG_PREFIX)}: {s['decision'] or 'no gate decision'}"
    lines = [head, "", f"dataset: {s['kept']} kept ({s['train']} train, {s['val']} val)"]
    if s["by_source"]:
        lines.append("by source: " + ", ".join(f"{k} {v}" for k, v in s["by_source"].items()))
    if s["delta"]:
        lines.append("eval delta: " + ", ".join(f"{k} {v:+.4f}" for k, v in sorted(s["delta"].items())))
    lines += [f"gate: {r}" for r in s["reasons"]]
    return "\n".join(lines) + "\n"


def example_keys(lines: Iterable[str]) -> Counter:
    """(source, task_category) per example id, from dataset JSONL lines."""
    out: Counter = Counter()
    for line in lines:
        if not line.strip():
            continue
        rec = json.loads(line)
        meta = rec.get("metadata") or {}
        out[(rec.get("id") or json.dumps(rec["messages"], sort_keys=True),
             meta.get("source") or "unknown", meta.get("task_category") or "unknown")] += 1
    return out


def dataset_diff(old: Counter, new: Counter) -> dict[str, Any]:
    """Examples added and removed between two snapshots, by source and by task category."""
    added, removed = new - old, old - new

    def by(idx: int, c: Counter) -> dict[str, int]:
        agg: Counter = Counter()
        for key, n in c.items():
            agg[key[idx]] += n
        return dict(sorted(agg.items()))

    return {"added": sum(added.values()), "removed": sum(removed.values()),
            "unchanged": sum((old & new).values()),
            "added_by_source": by(1, added), "removed_by_source": by(1, removed),
            "added_by_task_category": by(2, added), "removed_by_task_category": by(2, removed)}
