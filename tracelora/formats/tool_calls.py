"""Parse tool calls out of model text in the format `tracelora.formats.chat_format` renders:

    <optional assistant text>
    <tool_call>
    {"name": "read", "arguments": {"path": "src/app.py"}}
    </tool_call>

Evaluation needs this to score tool-using turns: did the model emit a well-formed call, the
right tool, the right (JSON-equal) arguments. Pure functions; never raises on model output.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tracelora.formats.chat_format import TOOL_CALL_CLOSE, TOOL_CALL_OPEN

_BLOCK = re.compile(re.escape(TOOL_CALL_OPEN) + r"(.*?)" + re.escape(TOOL_CALL_CLOSE), re.DOTALL)


@dataclass(frozen=True)
class ToolCall:
    name: str
    arguments: Any  # the decoded JSON value (an object for well-formed calls)


@dataclass(frozen=True)
class Parsed:
    """Every `<tool_call>` block found, in order; `valid` is False when any block (or a dangling
    open/close tag) does not parse into `{"name": str, "arguments": object}`."""
    calls: list[ToolCall] = field(default_factory=list)
    valid: bool = True
    errors: list[str] = field(default_factory=list)

    @property
    def present(self) -> bool:
        return bool(self.calls) or not self.valid


def decode_arguments(value: Any) -> Any:
    """Arguments may be an object or (OpenAI style) a JSON string holding one: compare decoded."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def parse(text: str) -> Parsed:
    calls: list[ToolCall] = []
    errors: list[str] = []
    for i, m in enumerate(_BLOCK.finditer(text or ""), start=1):
        body = m.group(1).strip()
        try:
            obj = json.loads(body)
        except json.JSONDecodeError as exc:
            errors.append(f"call {i}: not JSON ({exc.msg})")
            continue
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"].strip():
            errors.append(f"call {i}: no string 'name'")
            continue
        args = decode_arguments(obj.get("arguments", {}))
        if not isinstance(args, dict):
            errors.append(f"call {i}: 'arguments' is not a JSON object")
            continue
        calls.append(ToolCall(obj["name"].strip(), args))
    rest = _BLOCK.sub("", text or "")
    if TOOL_CALL_OPEN in rest or TOOL_CALL_CLOSE in rest:
        errors.append("unbalanced <tool_call> tags (truncated or malformed call)")
    return Parsed(calls, not errors, errors)


def has_tool_call(text: str) -> bool:
    """The reference turn uses tools (what makes an example a tool-using turn)."""
    return TOOL_CALL_OPEN in (text or "")


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers compare by value (1 == 1.0), booleans are not numbers, key order is
    irrelevant, list order matters."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


def _per_position(pred: list[ToolCall], ref: list[ToolCall], same: Any) -> float:
    if not ref:
        return float(not pred)
    return sum(1 for i, r in enumerate(ref) if i < len(pred) and same(pred[i], r)) / len(ref)


def score(pred_text: str, ref_text: str) -> dict[str, float]:
    """Tool metrics for one tool-using turn (empty dict when the reference calls no tool).

    - tool_call_valid: 1 when the prediction holds at least one call and every block parses;
    - tool_name_accuracy: share of reference calls whose name matches the prediction's call at
      the same position;
    - tool_args_match: share of reference calls matched by name AND JSON-equal arguments.
    """
    ref = parse(ref_text)
    if not ref.calls:
        return {}
    pred = parse(pred_text)
    return {
        "tool_call_valid": float(bool(pred.calls) and pred.valid),
        "tool_name_accuracy": _per_position(pred.calls, ref.calls, lambda p, r: p.name == r.name),
        "tool_args_match": _per_position(pred.calls, ref.calls,
                                         lambda p, r: p.name == r.name and json_equal(p.arguments, r.arguments)),
    }
