"""The model card: one writer for both places a card goes, the merged model's README.md (export
stage, a DVC out) and the adapter's README.md on the Hub (`tracelora hub push-adapter`).

A card is built only from pipeline files (gate decision, eval results, train metrics and params,
dataset counts): counts, params and metrics, never record content. Missing inputs are named, not
guessed, and the finished text goes through the redaction rules as a last guard, so no secret a
gate reason or a metric might carry reaches it.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from tracelora.cleaning.redaction import Redactor

TAGS = "tags: [lora, sft, trl, coding-agent, agent-traces]"
TRAIN_KEYS = ("method", "device", "precision", "steps", "epochs", "train_examples", "val_examples", "final_loss",
              "eval_loss", "split_sessions", "dropped_examples", "tokens_seen", "tokens_per_second", "trainable_params")
COUNT_KEYS = ("read", "kept", "train", "val", "quarantined", "filtered", "duplicates", "redactions",
              "redaction_ok", "min_example_ok")
LOCAL_PARAMS = {"train_files", "val_files", "checkpoint_dir", "accelerate_config"}  # local paths say nothing of the model
FOOTER = "Built by the agent-trace DVC pipeline (`dvc repro`): build -> train -> evaluate -> gate -> export."
ADAPTER_LEAD = ("A LoRA adapter trained by the agent-trace-lora pipeline on redacted coding-agent traces, "
                "promoted only when it beats the base model on held-out examples.")


@dataclass
class CardInputs:
    """What a card reports; None leaves a section out."""

    decision: dict[str, Any] | None = None  # gate_decision.json
    eval_results: dict[str, Any] | None = None  # eval_results.json
    train_metrics: dict[str, Any] | None = None  # train.json
    train_params: dict[str, Any] | None = None  # params.yaml `train`
    counts: dict[str, Any] | None = None  # the manifest's `counts`, or metrics/dataset.json
    problems: list[str] = field(default_factory=list)  # inputs that were missing or unreadable


def table(rows: list[list[Any]], head: list[str]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _num(v: Any) -> str:
    return f"{v:+.4f}" if isinstance(v, float) else str(v)


def front_matter(base_model: str | None, library: str, pipeline_tag: str | None = None) -> list[str]:
    """Hub metadata: base_model (JSON-quoted, valid YAML) when known, the loading library, tags."""
    out = ["---"] + ([f"base_model: {json.dumps(base_model)}"] if base_model else []) + [f"library_name: {library}"]
    return out + ([f"pipeline_tag: {pipeline_tag}"] if pipeline_tag else []) + [TAGS, "---"]


def forced_notice(forced: list[str]) -> str:
    """The quoted block a card carries when a push overrode failed checks with --force."""
    return "> **Pushed with --force.** These checks did not pass at push time: " + "; ".join(forced) + "."


def _sections(c: CardInputs) -> list[str]:
    out: list[str] = []
    if c.decision:
        out += ["## Gate", "", f"Decision: **{c.decision.get('decision', 'unknown')}**", ""]
        checks = c.decision.get("checks") or []
        out += [table([[k.get("name"), "pass" if k.get("passed") else "FAIL", k.get("reason")] for k in checks],
                      ["check", "result", "reason"]), ""]
    if c.eval_results:
        e = c.eval_results
        keys = [k for k, v in (e.get("delta") or {}).items() if isinstance(v, (int, float))]
        rows = [[k, e.get("baseline", {}).get(k), e.get("adapter", {}).get(k), _num(e["delta"][k])] for k in keys]
        out += ["## Evaluation", "", f"{e.get('n_examples', '?')} held-out examples, greedy decoding.", "",
                table(rows, ["metric", "base", "adapter", "delta"]), ""]
    if c.train_metrics:
        out += ["## Training", "", table([[k, c.train_metrics.get(k)] for k in TRAIN_KEYS if k in c.train_metrics],
                                         ["metric", "value"]), ""]
    if c.train_params is not None:
        out += ["### Training parameters", "", table([[k, json.dumps(v)] for k, v in c.train_params.items()
                                                      if k not in LOCAL_PARAMS], ["param", "value"]), ""]
    if c.counts is not None:
        rows = [[k, c.counts.get(k)] for k in COUNT_KEYS if k in c.counts]
        rows += [[f"source: {s}", f"{v.get('train', 0)} train / {v.get('val', 0)} val" if isinstance(v, dict) else v]
                 for s, v in sorted((c.counts.get("by_source") or {}).items())]
        out += ["## Dataset", "", table(rows, ["count", "value"]), ""]
    return out


def render(front: list[str], title: str, lead: str, inputs: CardInputs, notices: list[str] | None = None,
           usage: list[str] | None = None) -> str:
    """The card: front matter, title, lead, notices, missing inputs, usage, then gate, evaluation,
    training, dataset; redacted."""
    out = [*front, "", f"# {title}", "", lead, ""]
    for notice in notices or []:
        out += [notice, ""]
    if inputs.problems:
        out += ["**Missing or unreadable inputs:** " + "; ".join(inputs.problems), ""]
    if usage:
        out += [*usage, ""]
    out += [*_sections(inputs), FOOTER, ""]
    return Redactor().text("\n".join(out))


def _objects(named: dict[str, Any], problems: list[str]) -> tuple[dict[str, dict[str, Any] | None], list[str]]:
    """Inputs that are not JSON objects become None, with a line saying so (fail closed, no crash)."""
    problems = list(problems)
    out: dict[str, dict[str, Any] | None] = {}
    for name, value in named.items():
        if value is not None and not isinstance(value, dict):
            problems.append(f"{name}: not a JSON object")
            value = None
        out[name] = value
    return out, problems


def export_card(*, exported: bool, base_name: str, decision: dict[str, Any] | None, manifest: dict[str, Any] | None,
                train_metrics: dict[str, Any] | None, train_params: dict[str, Any], eval_results: dict[str, Any] | None,
                problems: list[str]) -> str:
    """The merged model's card (models/merged/README.md), promoted or not."""
    got, problems = _objects({"manifest": manifest, "train metrics": train_metrics, "eval results": eval_results},
                             problems)
    manifest = got["manifest"]
    status = ("merged into the base model (`model.safetensors`, loads with plain transformers)" if exported
              else "NOT exported: the gate did not promote this adapter, so no merged weights were written")
    counts = manifest.get("counts", {}) if manifest else None
    if counts is not None and not isinstance(counts, dict):
        counts = {}
    inputs = CardInputs(decision, got["eval results"], got["train metrics"], train_params, counts, problems)
    return render(front_matter(base_name, "transformers"), "Coding-agent adapter", f"**Status:** {status}.", inputs)


def adapter_card(repo_id: str, base_model: str | None, evals: dict[str, Any] | None, gate: dict[str, Any] | None,
                 train: dict[str, Any] | None, dataset: dict[str, Any] | None, forced: list[str],
                 problems: list[str] | None = None) -> str:
    """The adapter's card on the Hub: PEFT metadata, how to load it, and any --force override."""
    got, problems = _objects({"eval results": evals, "train metrics": train, "dataset metrics": dataset},
                             problems or [])
    notices = [forced_notice(forced)] if forced else []
    usage = (["```python", "from peft import AutoPeftModelForCausalLM",
              f"model = AutoPeftModelForCausalLM.from_pretrained({repo_id!r})", "```"] if base_model else [])
    inputs = CardInputs(gate if isinstance(gate, dict) else None, got["eval results"], got["train metrics"], None,
                        got["dataset metrics"], problems)
    return render(front_matter(base_model, "peft", "text-generation"), repo_id, ADAPTER_LEAD, inputs, notices, usage)
