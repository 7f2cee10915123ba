"""How a normalized record becomes model text, shared by `train` and `evaluate`.

Tool calls are rendered into the assistant content in one documented text format (Hermes-style,
which small chat models' templates can carry even when they have no `tools` support):

    <optional assistant text>
    <tool_call>
    {"name": "read", "arguments": {"path": "src/app.py"}}
    </tool_call>

Tool results stay `tool` messages. The tokenizer's own chat template then renders the turns,
falling back to ChatML when a tokenizer has none.
"""
from __future__ import annotations

import json
from typing import Any

TOOL_CALL_OPEN, TOOL_CALL_CLOSE = "<tool_call>", "</tool_call>"
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def render_tool_call(call: dict[str, Any]) -> str:
    fn = call["function"]
    try:
        args = json.loads(fn["arguments"]) if isinstance(fn["arguments"], str) else fn["arguments"]
    except json.JSONDecodeError:
        args = fn["arguments"]
    body = json.dumps({"name": fn["name"], "arguments": args}, ensure_ascii=False)
    return f"{TOOL_CALL_OPEN}\n{body}\n{TOOL_CALL_CLOSE}"


def message_text(msg: dict[str, Any]) -> str:
    """The text a model sees (and must produce) for one message."""
    parts = [msg.get("content") or ""]
    parts += [render_tool_call(c) for c in msg.get("tool_calls", []) or []]
    return "\n".join(p for p in parts if p)


def to_text_messages(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"role": m["role"], "content": message_text(m)} for m in messages]


def render(tokenizer: Any, messages: list[dict[str, Any]], add_generation_prompt: bool = False) -> str:
    template = tokenizer.chat_template or CHATML
    return tokenizer.apply_chat_template(to_text_messages(messages), chat_template=template, tokenize=False,
                                         add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, Any]]) -> tuple[str, list[tuple[int, int]]]:
    """Full rendered text and the character spans of every assistant turn (its end-of-turn
    token included), found by rendering each prefix: works for any prefix-stable template."""
    full = render(tokenizer, messages)
    spans = []
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant":
            continue
        prompt = render(tokenizer, messages[:i], add_generation_prompt=True)
        upto = render(tokenizer, messages[: i + 1])
        if not (upto.startswith(prompt) and full.startswith(upto)):
            raise ValueError("chat template is not prefix-stable; cannot locate assistant turns")
        spans.append((len(prompt), len(upto)))
    return full, spans


def tokenize_for_training(tokenizer: Any, messages: list[dict[str, Any]], max_length: int) -> dict[str, Any]:
    """input_ids plus an assistant mask (1 = token is part of an assistant turn and carries loss)."""
    text, spans = assistant_spans(tokenizer, messages)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    mask = []
    for start, end in enc["offset_mapping"]:
        mask.append(int(any(s <= start < e for s, e in spans) and end > start))
    ids = enc["input_ids"]
    truncated = len(ids) > max_length
    return {"input_ids": ids[:max_length], "assistant_masks": mask[:max_length], "truncated": truncated}


def prompt_and_reference(record: dict[str, Any]) -> tuple[list[dict[str, Any]], str] | None:
    """Evaluation pair: the conversation before the last assistant turn, and that turn's text."""
    msgs = record["messages"]
    for i in range(len(msgs) - 1, -1, -1):
        if msgs[i]["role"] == "assistant":
            return msgs[:i], message_text(msgs[i])
    return None
