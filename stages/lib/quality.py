"""Quality filters: each returns None to keep a record or a stable reason to drop it."""
from __future__ import annotations

from typing import Any, Callable, Optional

from stages.common.params import DataParams

Filter = Callable[[dict[str, Any]], Optional[str]]


def _conversational(rec: dict[str, Any]) -> list[dict[str, Any]]:
    return [m for m in rec["messages"] if m["role"] != "system"]


def build_filters(p: DataParams) -> list[Filter]:
    """The filter chain, in order; the first failing filter names the drop reason."""

    def too_few_messages(rec: dict[str, Any]) -> Optional[str]:
        return "too_few_messages" if len(_conversational(rec)) < p.min_messages else None

    def too_many_messages(rec: dict[str, Any]) -> Optional[str]:
        return "too_many_messages" if len(_conversational(rec)) > p.max_messages else None

    def no_user_turn(rec: dict[str, Any]) -> Optional[str]:
        return None if any(m["role"] == "user" and m["content"].strip() for m in rec["messages"]) else "no_user_turn"

    def last_turn_not_assistant(rec: dict[str, Any]) -> Optional[str]:
        last = rec["messages"][-1]
        if last["role"] != "assistant":
            return "last_turn_not_assistant"
        return None if (last["content"].strip() or last.get("tool_calls")) else "empty_assistant_turn"

    def length(rec: dict[str, Any]) -> Optional[str]:
        n = sum(len(m["content"]) for m in rec["messages"])
        if n < p.min_chars:
            return "too_short"
        return "too_long" if n > p.max_chars else None

    def outcome(rec: dict[str, Any]) -> Optional[str]:
        o = rec["metadata"]["outcome"]
        return None if o in p.keep_outcomes else f"outcome_{o}"

    return [too_few_messages, too_many_messages, no_user_turn, last_turn_not_assistant, length, outcome]


def check(rec: dict[str, Any], filters: list[Filter]) -> Optional[str]:
    for f in filters:
        reason = f(rec)
        if reason:
            return reason
    return None
