"""Record shaping between redaction and the quality filters: what a long real session needs so that it
can be learned from instead of dropped (docs/build.md, "Long sessions").

- `trim_tail`: a session that ends on a tool call's result (exported mid-run, the terminal closed)
  is kept up to its last assistant turn; that turn keeps its calls, which are what the model learns.
- `cap_tool_results`: a tool result longer than the cap keeps its head and tail around an explicit
  `[… N characters elided …]` marker, so a 200k-character log costs a few thousand characters.
- `Volume`: the content a record carries (assistant text and calls, tool output), for the manifest's
  yield block (`volume` measures one record on its own).

All pure: each returns a new record (or the same object when nothing changes).
"""
from __future__ import annotations

from typing import Any, NamedTuple

ELIDED = "[… {n} characters elided …]"
_NEWLINE_SLACK = 200  # cut at a line break when one is this close to the cut point


class Volume(NamedTuple):
    """What the yield block measures, in characters (the build measures the redacted record in the
    quality filter's pass: tracelora.cleaning.quality.measured_quality_filter)."""
    assistant_chars: int  # assistant text + tool-call names and arguments: what the model learns to write
    tool_calls: int
    tool_result_chars: int


def volume(record: dict[str, Any]) -> Volume:
    chars = calls = tool = 0
    for m in record["messages"]:
        role = m["role"]
        if role == "assistant":
            chars += len(m["content"])
            for c in m.get("tool_calls", ()):
                fn = c["function"]
                chars += len(fn["name"]) + len(fn["arguments"])
                calls += 1
        elif role == "tool":
            tool += len(m["content"])
    return Volume(chars, calls, tool)


def trim_tail(record: dict[str, Any]) -> dict[str, Any]:
    """Drop the tool results after the last assistant turn (none: unchanged)."""
    messages = record["messages"]
    end = len(messages)
    while end and messages[end - 1]["role"] == "tool":
        end -= 1
    if end == len(messages) or not end or messages[end - 1]["role"] != "assistant":
        return record
    return {**record, "messages": messages[:end]}


def elide(text: str, max_chars: int) -> str:
    """`text` when it fits, else two thirds of the budget from its head and one third from its tail
    around the marker; cuts move to a nearby line break so lines stay whole."""
    if len(text) <= max_chars:
        return text
    head_n = max_chars * 2 // 3
    tail_n = max_chars - head_n
    cut = text.rfind("\n", head_n - _NEWLINE_SLACK, head_n)
    head_end = cut + 1 if cut > 0 else head_n
    start = len(text) - tail_n
    nl = text.find("\n", start, start + _NEWLINE_SLACK)
    tail_start = nl + 1 if nl >= 0 else start
    return f"{text[:head_end]}{ELIDED.format(n=f'{tail_start - head_end:,}')}\n{text[tail_start:]}"


def cap_tool_results(record: dict[str, Any], max_chars: int) -> tuple[dict[str, Any], int]:
    """(record with every tool result capped at about `max_chars`, characters elided); 0 = no cap."""
    if max_chars <= 0:
        return record, 0
    messages = record["messages"]
    if not any(m["role"] == "tool" and len(m["content"]) > max_chars for m in messages):
        return record, 0
    out, elided = [], 0
    for m in messages:
        if m["role"] == "tool" and len(m["content"]) > max_chars:
            short = elide(m["content"], max_chars)
            elided += len(m["content"]) - len(short)
            m = {**m, "content": short}
        out.append(m)
    return {**record, "messages": out}, elided


def shape(record: dict[str, Any], max_tool_chars: int) -> tuple[dict[str, Any], int, int]:
    """trim_tail then cap_tool_results: (record, tool characters trimmed, tool characters elided).
    The build's hot path: a record that ends on an assistant turn and has no oversized tool result
    (most) costs one loop over its messages."""
    messages = record["messages"]
    if messages and messages[-1]["role"] != "tool":
        if max_tool_chars <= 0:
            return record, 0, 0
        for m in messages:
            if m["role"] == "tool" and len(m["content"]) > max_tool_chars:
                break
        else:
            return record, 0, 0
    trimmed = trim_tail(record)
    cut = sum(len(m["content"]) for m in messages[len(trimmed["messages"]):])
    capped, elided = cap_tool_results(trimmed, max_tool_chars)
    return capped, cut, elided
