"""Dataset and model cards (README.md with YAML front matter) built only from the pipeline's
metrics files: counts, params, eval and gate results. Pure functions; the output is scrubbed by
the redaction rules as a last guard, and local paths never appear.
"""
from __future__ import annotations

from typing import Any

from stages.lib.redaction import Redactor

EMBEDDED_BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


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
    return ["", "> **Pushed with --force.** These checks did not pass at push time: " + "; ".join(forced) + ".", ""]


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


def model_card(repo_id: str, base_model: str | None, evals: dict[str, Any] | None, gate: dict[str, Any] | None,
               train: dict[str, Any] | None, dataset: dict[str, Any] | None, forced: list[str]) -> str:
    front = ["---", "library_name: peft", "pipeline_tag: text-generation", "tags:", "- lora", "- peft", "- trl",
             "- agent-traces"]
    if base_model:
        front.append(f"base_model: {base_model}")
    lines = [*front, "---", "", f"# {repo_id}", "",
             "A LoRA adapter trained by the agent-trace-lora pipeline on redacted coding-agent traces, "
             "promoted only when it beats the base model on held-out examples.", *_override(forced)]
    if base_model:
        lines += ["", "```python", "from peft import AutoPeftModelForCausalLM",
                  f"model = AutoPeftModelForCausalLM.from_pretrained({repo_id!r})", "```"]
    if evals:
        lines += ["", f"## Evaluation ({evals.get('n_examples', '?')} held-out examples)", ""]
        metrics = sorted(set(evals.get("baseline", {})) | set(evals.get("adapter", {})))
        lines += _table(["metric", "base", "adapter", "delta"],
                        [[m, evals.get("baseline", {}).get(m, ""), evals.get("adapter", {}).get(m, ""),
                          evals.get("delta", {}).get(m, "")] for m in metrics])
    if gate:
        lines += ["", f"## Gate: {str(gate.get('decision', 'promote' if gate.get('promote') else 'block')).upper()}", ""]
        lines += _table(["check", "result", "reason"],
                        [[c.get("name"), "PASS" if c.get("passed") else "FAIL", c.get("reason", "")]
                         for c in gate.get("checks", [])])
    if train:
        lines += ["", "## Training", ""]
        lines += _table(["key", "value"], [[k, train[k]] for k in
                                           ("method", "device", "steps", "final_loss", "eval_loss", "train_examples",
                                            "tokens_per_second") if k in train])
    if dataset:
        lines += ["", "## Dataset", ""]
        lines += _table(["key", "value"], [[k, dataset[k]] for k in
                                           ("kept", "train", "val", "redactions", "redaction_ok", "min_example_ok") if k in dataset])
    return Redactor().text("\n".join(lines) + "\n")
