"""Raw trace rows -> normalized records (TRL's conversational format plus metadata).

Accepted row shapes (auto-detected per row):
- seed contract: `messages` or `conversation` of `{role, content}`, or `user` + `assistant` strings;
- OpenAI chat fine-tuning rows: `messages` with assistant `tool_calls`, `tool` messages, optional `tools`;
- ShareGPT: `conversations` of `{from, value}` (human/gpt/system/function_call/observation), with
  optional top-level `system` and `tools` (LLaMA-Factory stores `tools` as a JSON string);
- instruction/response pairs: Alpaca `instruction` (+ `input`) / `output`, Dolly `instruction`
  (+ `context`) / `response`, `prompt` / `response` or `completion` strings, `question` / `answer`.
OpenAI's per-message `weight` (0 or 1, assistant turns) is kept on the message.
Optional row keys `source`, `task_category`, `outcome`, `keywords` go to metadata.

Tool-call arguments are stored as a JSON *string* (OpenAI's contract): heterogeneous argument
objects break Arrow schema inference when `datasets` loads the JSONL, a string never does.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

from tracelora.common.log import quoted
from tracelora.common.io import dumps_canonical

ROLES = ("system", "user", "assistant", "tool")
SHAREGPT_ROLES = {
    "human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "chatgpt": "assistant",
    "system": "system", "function_call": "assistant", "observation": "tool", "tool": "tool", "function": "tool",
}
OUTCOMES = ("success", "failure", "aborted", "unknown")
_OUTCOME_ALIASES = {"ok": "success", "completed": "success", "pass": "success", "passed": "success",
                    "fail": "failure", "failed": "failure", "error": "failure", "cancelled": "aborted",
                    "canceled": "aborted", "interrupted": "aborted"}

Record = dict[str, Any]
# Provenance written by `tracelora.ops.ingest` that travels into the dataset (scalars / small objects only).
PROVENANCE_KEYS = ("session_id", "timestamp", "model", "agent", "parent_session_id", "subagent", "branch",
                   "segment", "origin_last", "tool_calls", "tool_errors", "usage")


_PROVENANCE = frozenset(PROVENANCE_KEYS)
# `json.dumps(x, ensure_ascii=False)` builds a new encoder per call; the build calls it per tool call
_ARGS_ENCODER = json.JSONEncoder(ensure_ascii=False)


def dumps_arguments(args: Any) -> str:
    """Tool-call arguments in their stored form: `json.dumps(args, ensure_ascii=False)`."""
    return _ARGS_ENCODER.encode(args)


class FormatError(ValueError):
    """A row that cannot be normalized; `reason` is a stable key counted in the manifest."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


def _text(content: Any, where: str) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # multimodal / content-parts form: keep the text parts
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, dict) and isinstance(part.get("text"), str):
                parts.append(part["text"])
            elif isinstance(part, dict) and part.get("type") in ("image", "image_url"):
                parts.append("[image]")
            else:
                raise FormatError("bad_content", f"{where}: unsupported content part")
        return "".join(parts)
    raise FormatError("bad_content", f"{where}: content must be a string or a list of parts, got {type(content).__name__}")


def _arguments(args: Any, where: str, j: int) -> str:
    if isinstance(args, dict):
        return dumps_arguments(args)
    if isinstance(args, str):
        try:
            parsed = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            raise FormatError("bad_tool_call", f"{where}.tool_calls[{j}]: arguments are not valid JSON") from None
        if not isinstance(parsed, dict):
            raise FormatError("bad_tool_call", f"{where}.tool_calls[{j}]: arguments must be a JSON object")
        return dumps_arguments(parsed)
    if args is None:
        return "{}"
    raise FormatError("bad_tool_call", f"{where}.tool_calls[{j}]: arguments must be an object or a JSON string")


def _tool_calls(calls: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(calls, list):
        raise FormatError("bad_tool_call", f"{where}: tool_calls must be a list")
    out = []
    for j, call in enumerate(calls):
        if not isinstance(call, dict):
            raise FormatError("bad_tool_call", f"{where}.tool_calls[{j}]: must be an object")
        fn = call.get("function", call)  # accept the flat {name, arguments} shape too
        name = fn.get("name") if isinstance(fn, dict) else None
        if not isinstance(name, str) or not name:
            raise FormatError("bad_tool_call", f"{where}.tool_calls[{j}]: missing function name")
        item: dict[str, Any] = {"type": "function", "function": {"name": name, "arguments": _arguments(fn.get("arguments"), where, j)}}
        if isinstance(call.get("id"), str):
            item["id"] = call["id"]
        out.append(item)
    return out


def _message(msg: Any, i: int) -> dict[str, Any]:
    # location strings ("messages[3]") are built only on the error paths: this runs for every message
    if not isinstance(msg, dict):
        raise FormatError("bad_message", f"messages[{i}]: must be an object")
    if "role" not in msg:
        raise FormatError("missing_role", f"messages[{i}]")
    role = msg["role"]
    if role == "function":
        role = "tool"
    if role not in ROLES:
        raise FormatError("bad_role", f"messages[{i}]: unknown role {quoted(role)}")
    content = msg.get("content")
    out: dict[str, Any] = {"role": role, "content": content if type(content) is str else _text(content, f"messages[{i}]")}
    if role == "assistant" and msg.get("tool_calls"):
        out["tool_calls"] = _tool_calls(msg["tool_calls"], f"messages[{i}]")
    if role == "assistant" and msg.get("weight") is not None:
        if msg["weight"] not in (0, 1) or isinstance(msg["weight"], bool):
            raise FormatError("bad_message", f"messages[{i}]: weight must be 0 or 1")
        out["weight"] = int(msg["weight"])
    if role == "tool":
        for key in ("tool_call_id", "name"):
            if isinstance(msg.get(key), str):
                out[key] = msg[key]
    return out


def _sharegpt(turns: Any) -> list[dict[str, Any]]:
    if not isinstance(turns, list):
        raise FormatError("bad_messages", "conversations must be a list")
    msgs = []
    for i, turn in enumerate(turns):
        if not isinstance(turn, dict) or "from" not in turn:
            raise FormatError("missing_role", f"conversations[{i}]: missing 'from'")
        role = SHAREGPT_ROLES.get(str(turn["from"]).lower())
        if role is None:
            raise FormatError("bad_role", f"conversations[{i}]: unknown 'from' {quoted(turn['from'])}")
        value = _text(turn.get("value"), f"conversations[{i}]")
        if turn["from"] == "function_call":
            try:
                call = json.loads(value)
            except json.JSONDecodeError:
                raise FormatError("bad_tool_call", f"conversations[{i}]: function_call value is not JSON") from None
            msgs.append({"role": "assistant", "content": "", "tool_calls": _tool_calls([call], f"conversations[{i}]")})
        else:
            msgs.append({"role": role, "content": value})
    return msgs


_PAIR_KEYS = (("instruction", "output", "input"), ("instruction", "response", "context"),
              ("prompt", "response", None), ("prompt", "completion", None), ("question", "answer", None))


def _pair(row: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Instruction/response datasets (Alpaca, Dolly, prompt/completion): the prompt and the optional
    context/input become the user turn, the answer the assistant turn. None when no pair matches."""
    for ask, answer, extra in _PAIR_KEYS:
        if isinstance(row.get(ask), str) and isinstance(row.get(answer), str):
            prompt = row[ask]
            if extra and isinstance(row.get(extra), str) and row[extra].strip():
                prompt = f"{prompt}\n\n{row[extra]}"
            return [{"role": "user", "content": prompt}, {"role": "assistant", "content": row[answer]}]
    return None


def _tools(value: Any) -> list[Any] | None:
    """`tools` as a list, or a JSON string of one (LLaMA-Factory ShareGPT, datasets < 4.7 exports)."""
    if isinstance(value, str) and value.strip():
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise FormatError("bad_tools", "tools is a string but not JSON") from None
    return value if isinstance(value, list) and value else None


def _outcome(value: Any) -> str:
    if value is None:
        return "unknown"
    v = str(value).strip().lower()
    v = _OUTCOME_ALIASES.get(v, v)
    if v not in OUTCOMES:
        raise FormatError("bad_metadata", f"outcome {quoted(value)} is not one of {', '.join(OUTCOMES)}")
    return v


def normalize(row: Any, origin: str, default_source: str = "raw") -> Record:
    """Return the normalized record for one raw row, or raise FormatError with a stable reason."""
    if not isinstance(row, dict):
        raise FormatError("not_an_object", f"row is a JSON {type(row).__name__}")
    if "messages" in row or "conversation" in row:
        key = "messages" if "messages" in row else "conversation"
        raw_msgs = row[key]
        if not isinstance(raw_msgs, list):
            raise FormatError("bad_messages", f"{key} must be a list, got {type(raw_msgs).__name__}")
        messages = [_message(m, i) for i, m in enumerate(raw_msgs)]
    elif "conversations" in row:
        messages = _sharegpt(row["conversations"])
    elif "user" in row and "assistant" in row:
        messages = [{"role": "user", "content": _text(row["user"], "user")},
                    {"role": "assistant", "content": _text(row["assistant"], "assistant")}]
    elif (pair := _pair(row)) is not None:
        messages = pair
    else:
        keys = ", ".join(sorted(map(str, row))[:6]) or "none"
        raise FormatError("unknown_schema", f"no messages/conversation/conversations/user+assistant (keys: {keys})")
    if not messages:
        raise FormatError("bad_messages", "conversation is empty")
    if isinstance(row.get("system"), str) and row["system"] and messages[0]["role"] != "system":
        messages.insert(0, {"role": "system", "content": row["system"]})

    record: Record = {"id": "", "messages": messages}
    tools = _tools(row.get("tools"))
    if tools:
        record["tools"] = tools
    # Top-level keys (seed contract) or a `metadata` block (already-normalized records, e.g. shards).
    given = row.get("metadata") if isinstance(row.get("metadata"), dict) else {}

    def field(key: str) -> Any:
        return row.get(key) if row.get(key) is not None else given.get(key)

    meta: dict[str, Any] = {
        "source": str(field("source") or default_source),
        "task_category": str(field("task_category") or "general"),
        "outcome": _outcome(field("outcome")),
        "origin": str(given.get("origin") or origin),
    }
    if isinstance(field("keywords"), list):
        meta["keywords"] = [str(k) for k in field("keywords")]
    for key in ("attack", "template_id"):
        if isinstance(field(key), str):
            meta[key] = field(key)
    if not (_PROVENANCE.isdisjoint(row) and _PROVENANCE.isdisjoint(given)):  # skip the loop for plain rows
        for key in PROVENANCE_KEYS:
            value = field(key)
            if isinstance(value, (str, int, float, bool)) or (isinstance(value, dict) and len(value) <= 16):
                meta[key] = value
    record["metadata"] = meta
    if isinstance(row.get("id"), str):
        record["id"] = row["id"]
    return record


def content_id(record: Record) -> str:
    """sha256 of the canonical conversation (messages + tools), ignoring metadata, so exact
    duplicates from different files or sources collapse to one id."""
    return hashlib.sha256(dumps_canonical({"messages": record["messages"], "tools": record.get("tools", [])})).hexdigest()


def with_id(record: Record) -> Record:
    return {**record, "id": content_id(record)}
