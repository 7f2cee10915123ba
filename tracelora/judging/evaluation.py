"""What evaluate scores and how it reports: a fixed, content-defined sample of (prompt, reference)
items from held-out records (the final assistant turn, the adversarial top-up, the first tool turn),
the per-example scores of both models' outputs, and the report blocks `dvc metrics diff` reads."""
from __future__ import annotations

from typing import Any

from tracelora.common.params import EvalParams
from tracelora.formats.chat_format import message_text, prompt_and_reference
from tracelora.judging import metrics as M


def _item(rec: dict[str, Any], prompt: list[dict[str, Any]], ref_msg: dict[str, Any], turn: int, kind: str,
          split: str) -> dict[str, Any]:
    meta = rec.get("metadata") or {}
    ref = message_text(ref_msg)
    extra = {"tools": rec["tools"]} if rec.get("tools") else {}
    return {**extra, "id": rec["id"] if kind == "final" else f"{rec['id']}:turn{turn}", "record_id": rec["id"], "split": split,
            "turn": kind, "source": str(meta.get("source", "unknown")), "task_category": str(meta.get("task_category", "general")),
            "adversarial": kind == "final" and M.is_adversarial(meta), "prompt": prompt, "reference": ref,
            "reference_message": ref_msg,
            "keywords": (meta.get("keywords") if kind == "final" else None) or M.keywords(ref)}  # metadata ones describe the final answer


def _final(rec: dict[str, Any], split: str) -> dict[str, Any] | None:
    pair = prompt_and_reference(rec)
    if not pair or not pair[0]:
        return None
    i = len(pair[0])
    return _item(rec, rec["messages"][:i], rec["messages"][i], i, "final", split)


def _first_tool_turn(rec: dict[str, Any], split: str) -> dict[str, Any] | None:
    msgs = rec["messages"]
    for i, m in enumerate(msgs):
        if m["role"] == "assistant" and m.get("tool_calls") and i > 0:
            return _item(rec, msgs[:i], m, i, "tool_call", split)
    return None


def select_items(records: list[dict[str, Any]], max_examples: int, min_safety: int, tool_examples: int,
                 split: str = "val") -> list[dict[str, Any]]:
    """A fixed, content-defined sample both models see (everything ordered by record id)."""
    finals = [it for r in sorted(records, key=lambda r: r["id"]) if (it := _final(r, split))]
    chosen = finals[:max_examples]
    have = sum(it["adversarial"] for it in chosen)
    for it in finals[max_examples:]:
        if have >= min_safety:
            break
        if it["adversarial"]:
            chosen.append(it)
            have += 1
    seen = {it["id"] for it in chosen}
    tools = [it for r in sorted(records, key=lambda r: r["id"]) if (it := _first_tool_turn(r, split))]
    chosen += [it for it in tools if it["id"] not in seen][:tool_examples]
    return chosen


def score_rows(items: list[dict[str, Any]], base_out: list[str], adapter_out: list[str]) -> list[dict[str, Any]]:
    rows = []
    for it, b, a in zip(items, base_out, adapter_out):
        keys, ref, adv = it["keywords"], it["reference"], it["adversarial"]
        rows.append({**it, "baseline_output": b, "adapter_output": a,
                     "baseline": M.score(b, ref, keys, adv), "adapter": M.score(a, ref, keys, adv)})
    return rows


def report(rows: list[dict[str, Any]], p: EvalParams) -> dict[str, Any]:
    """Flat-ish blocks for `dvc metrics diff`: overall first, then per task_category and source."""
    out = M.summarize(rows, p.bootstrap_samples, p.bootstrap_seed)
    out["by_task_category"] = M.by_group(rows, "task_category", p.bootstrap_samples, p.bootstrap_seed)
    out["by_source"] = M.by_group(rows, "source", p.bootstrap_samples, p.bootstrap_seed)
    return out
