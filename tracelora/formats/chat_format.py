"""How a normalized record becomes model text, shared by `train` and `evaluate`.

Tool calls are rendered into the assistant content in one documented text format (Hermes-style,
which small chat models' templates can carry even when they have no `tools` support):

    <optional assistant text>
    <tool_call>
    {"name": "read", "arguments": {"path": "src/app.py"}}
    </tool_call>

Tool results stay `tool` messages. The tokenizer's own chat template then renders the turns,
falling back to ChatML when a tokenizer has none.

Native tool templates: when a tokenizer's chat template handles `tool_calls` itself AND renders
them in this same `<tool_call>` format (Qwen2.5, Hermes and similar), the structured messages
(and the record's `tools`) go to the template as they are, so the model sees exactly the format it
was pre-trained on. Any other template gets the text format above: `evaluate` parses tool calls in
that format, so a template that writes calls differently (e.g. Llama 3.1 JSON) is not used natively.

An assistant message with `"_context": True` is shown but carries no loss: long-session windows
(tracelora.model.windows) repeat the tool call whose results open a window that way. OpenAI's
`"weight": 0` on an assistant message means the same (shown as context, not learned).
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


def to_native_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Structured messages for a template with its own tool support (arguments as objects, the HF convention)."""
    out = []
    for m in messages:
        msg = {k: v for k, v in m.items() if not k.startswith("_")}
        msg["content"] = msg.get("content") or ""
        if m.get("tool_calls"):
            calls = []
            for c in m["tool_calls"]:
                fn = c["function"]
                try:
                    args = json.loads(fn["arguments"]) if isinstance(fn["arguments"], str) else fn["arguments"]
                except json.JSONDecodeError:
                    args = fn["arguments"]
                calls.append({"type": "function", "function": {"name": fn["name"], "arguments": args}})
            msg["tool_calls"] = calls
        out.append(msg)
    return out


_PROBE = [{"role": "user", "content": "Read a.py"},
          {"role": "assistant", "content": "", "tool_calls": [
              {"type": "function", "function": {"name": "probe_read", "arguments": '{"path": "a.py"}'}}]},
          {"role": "tool", "name": "probe_read", "content": "x = 1"},
          {"role": "assistant", "content": "done"}]


_NATIVE: dict[str, bool] = {}


def uses_native_tools(tokenizer: Any) -> bool:
    """True when the tokenizer's template renders tool calls itself, in the shared `<tool_call>`
    format and prefix-stably (checked once per template on a probe conversation)."""
    template = tokenizer.chat_template
    if not template or "tool_calls" not in template:
        return False
    if template not in _NATIVE:
        try:
            msgs = to_native_messages(_PROBE)
            full = tokenizer.apply_chat_template(msgs, tokenize=False)
            head = tokenizer.apply_chat_template(msgs[:1], tokenize=False, add_generation_prompt=True)
            _NATIVE[template] = TOOL_CALL_OPEN in full and '"probe_read"' in full and full.startswith(head)
        except Exception:  # any template error means: use the text format, which always renders
            _NATIVE[template] = False
    return _NATIVE[template]


def render(tokenizer: Any, messages: list[dict[str, Any]], add_generation_prompt: bool = False,
           tools: list[dict[str, Any]] | None = None) -> str:
    """Chat text for `messages`. `tools` (the record's tool schemas) reach only native tool templates."""
    if uses_native_tools(tokenizer):
        return tokenizer.apply_chat_template(to_native_messages(messages), tools=tools or None, tokenize=False,
                                             add_generation_prompt=add_generation_prompt)
    template = tokenizer.chat_template or CHATML
    return tokenizer.apply_chat_template(to_text_messages(messages), chat_template=template, tokenize=False,
                                         add_generation_prompt=add_generation_prompt)


def assistant_spans(tokenizer: Any, messages: list[dict[str, Any]],
                    tools: list[dict[str, Any]] | None = None) -> tuple[str, list[tuple[int, int]]]:
    """Full rendered text and the character spans of every assistant turn (its end-of-turn
    token included), found by rendering each prefix: works for any prefix-stable template.
    Assistant turns marked `_context` or with OpenAI `weight: 0` are left out (shown, not learned)."""
    full = render(tokenizer, messages, tools=tools)
    spans = []
    for i, msg in enumerate(messages):
        if msg["role"] != "assistant" or msg.get("_context") or msg.get("weight") == 0:
            continue
        prompt = render(tokenizer, messages[:i], add_generation_prompt=True, tools=tools)
        upto = render(tokenizer, messages[: i + 1], tools=tools)
        if not (upto.startswith(prompt) and full.startswith(upto)):
            raise ValueError("chat template is not prefix-stable; cannot locate assistant turns")
        spans.append((len(prompt), len(upto)))
    return full, spans


def tokenize_for_training(tokenizer: Any, messages: list[dict[str, Any]], max_length: int,
                          tools: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """input_ids plus an assistant mask (1 = token is part of an assistant turn and carries loss)."""
    text, spans = assistant_spans(tokenizer, messages, tools)
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
