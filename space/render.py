"""Readable HTML previews of records: one card per conversation, a labelled row per message, tool
calls with their arguments and tool results in monospace. Every string is HTML-escaped: uploaded
traces are untrusted and must not inject markup or script into the page."""
from __future__ import annotations

import json
from html import escape
from typing import Any

MAX_CHARS = 1500  # per message: a preview, not a dump

_ROLE_COLORS = {"system": "#6b7280", "user": "#2563eb", "assistant": "#059669", "tool": "#b45309"}


def _clip(text: str) -> str:
    if len(text) <= MAX_CHARS:
        return text
    return f"{text[:MAX_CHARS]}\n… ({len(text) - MAX_CHARS} more characters)"


def _args(raw: Any) -> str:
    try:
        return json.dumps(json.loads(raw) if isinstance(raw, str) else raw, indent=2, ensure_ascii=False)
    except (json.JSONDecodeError, TypeError):
        return str(raw)


def _message(msg: dict[str, Any]) -> str:
    role = msg.get("role", "?")
    color = _ROLE_COLORS.get(role, "#374151")
    label = role if role != "tool" else f"tool result · {msg.get('name') or msg.get('tool_call_id') or ''}".rstrip(" ·")
    parts = [f'<div class="msg msg-{escape(role)}" style="border-left:4px solid {color};padding:4px 8px;margin:6px 0">',
             f'<div class="role" style="font-weight:600;color:{color}">{escape(label)}</div>']
    content = msg.get("content") or ""
    if content:
        tag = "pre" if role == "tool" else "div"
        style = "white-space:pre-wrap;margin:2px 0" + (";font-family:monospace;font-size:0.9em" if role == "tool" else "")
        parts.append(f'<{tag} class="content" style="{style}">{escape(_clip(content))}</{tag}>')
    for call in msg.get("tool_calls") or []:
        fn = call.get("function", {})
        parts.append(f'<div class="tool-call" style="margin:2px 0">tool call <code>{escape(str(fn.get("name")))}</code>'
                     f'<pre style="white-space:pre-wrap;font-size:0.9em;margin:2px 0">{escape(_clip(_args(fn.get("arguments"))))}</pre></div>')
    parts.append("</div>")
    return "".join(parts)


def record_html(record: dict[str, Any], title: str = "") -> str:
    meta = record.get("metadata", {})
    facts = " · ".join(f"{k}: {meta[k]}" for k in ("task_category", "source", "outcome", "attack", "template_id", "origin")
                       if meta.get(k))
    head = f'<div class="facts" style="font-size:0.85em;color:#6b7280">{escape(title + (" — " if title and facts else "") + facts)}</div>'
    body = "".join(_message(m) for m in record.get("messages", []))
    return f'<div class="conversation" style="border:1px solid #d1d5db;border-radius:8px;padding:8px;margin:8px 0">{head}{body}</div>'


def preview_html(records: list[dict[str, Any]], limit: int = 5) -> str:
    if not records:
        return '<div class="conversation-empty">No conversations to show.</div>'
    cards = [record_html(r, f"#{i + 1}") for i, r in enumerate(records[:limit])]
    more = len(records) - limit
    tail = f'<div style="color:#6b7280">… and {more} more in the download.</div>' if more > 0 else ""
    return f'<div id="preview-cards">{"".join(cards)}{tail}</div>'
