"""The dataset card (README.md with YAML front matter) pushed with train/val, built only from the
build manifest: counts, checks, params. Pure; the output is scrubbed by the redaction rules as a
last guard, and local paths never appear. The model card is tracelora.model.card's (one writer
for the export stage and push-adapter).
"""
from __future__ import annotations

from typing import Any

from tracelora.cleaning.redaction import Redactor
from tracelora.model.card import forced_notice


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.4f}"
    return str(v)


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(_fmt(c) for c in row) + " |" for row in rows]
    return out


def _override(forced: list[str]) -> list[str]:
    if not forced:
        return []
    return ["", forced_notice(forced), ""]


def dataset_card(repo_id: str, manifest: dict[str, Any], forced: list[str]) -> str:
    counts = manifest.get("counts", {})
    gates = manifest.get("gates", {})
    lines = ["---", "pretty_name: " + repo_id.split("/")[-1], "task_categories:", "- text-generation",
             "tags:", "- agent-traces", "- tool-use", "- conversational", "- redacted",
             "configs:", "- config_name: default", "  data_files:", "  - split: train", "    path: train.jsonl",
             "  - split: validation", "    path: val.jsonl", "---", "", f"# {repo_id}", "",
             "Coding-agent traces in TRL's conversational format (`messages` with tool calls, `metadata`), "
             "built by the agent-trace-lora `build` stage: normalized, redacted, filtered, deduplicated and "
             "split by content hash.", *_override(forced), "", "## Counts", ""]
    lines += _table(["what", "n"], [[k, counts.get(k, "")] for k in
                                    ("read", "kept", "train", "val", "quarantined", "filtered", "duplicates", "redactions")])
    for title, key in (("By source", "by_source"), ("By task category", "by_task_category")):
        block = counts.get(key) or {}
        if block:
            lines += ["", f"## {title}", ""]
            lines += _table([key.split("_", 1)[1].replace("_", " "), "train", "val"],
                            [[k, v.get("train", 0), v.get("val", 0)] if isinstance(v, dict) else [k, v, ""]
                             for k, v in sorted(block.items())])
    lines += ["", "## Checks", ""]
    lines += _table(["check", "value"], [["redaction_ok", gates.get("redaction_ok")],
                                         ["post_redaction_hits", gates.get("post_redaction_hits")],
                                         ["min_example_ok", gates.get("min_example_ok")],
                                         ["accounting_ok", manifest.get("accounting_ok")]])
    redacted = counts.get("redactions_by_rule") or {}
    if redacted:
        lines += ["", "Redactions by rule (counts only): " + ", ".join(f"{k} {v}" for k, v in sorted(redacted.items()))]
    params = manifest.get("params") or {}
    if params:
        lines += ["", "## Build params", ""]
        lines += _table(["param", "value"], [[f"data.{k}", v] for k, v in params.items() if k not in ("raw_dir", "seeds_dir")])
    return Redactor().text("\n".join(lines) + "\n")
