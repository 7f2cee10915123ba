"""Split an agent session longer than `max_length` into training windows at turn boundaries.

Truncation keeps the first `max_length` tokens and silently loses every later turn, usually
including the final answer. Instead a long session becomes several windows, each:

    head (leading system messages + the task, i.e. the first user message, when they fit)
    [context: the tool call (without its prose) whose results open the window, shown without loss]
    a run of consecutive messages that ends with an assistant turn

Cuts fall only between messages, never inside one; a window never starts with a tool result
without the call that produced it; every assistant turn carries loss in exactly one window.
An assistant turn that cannot fit in any window, even with the smallest head, is dropped with
its tool results and counted (`dropped_turns`); a session left with no window at all is counted
by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracelora.formats.chat_format import tokenize_for_training


@dataclass
class Windows:
    encodings: list[dict[str, Any]] = field(default_factory=list)  # tokenize_for_training outputs
    dropped_turns: int = 0  # assistant turns that fit no window


def _head(messages: list[dict[str, Any]]) -> tuple[list[int], list[int]]:
    """(system indices, task index or empty): the context every window of a session repeats."""
    system = []
    i = 0
    while i < len(messages) and messages[i]["role"] == "system":
        system.append(i)
        i += 1
    task = [i] if i < len(messages) and messages[i]["role"] == "user" else []
    return system, task


def _fits(tokenizer: Any, msgs: list[dict[str, Any]], max_length: int, tools: Any) -> dict[str, Any] | None:
    enc = tokenize_for_training(tokenizer, msgs, max_length, tools)
    return None if enc["truncated"] else enc


def split_windows(tokenizer: Any, messages: list[dict[str, Any]], max_length: int,
                  tools: list[dict[str, Any]] | None = None) -> Windows:
    """Windows covering every assistant turn that can fit (see module docstring). A session that
    fits in `max_length` gives exactly one window, identical to tokenizing it whole."""
    out = Windows()
    whole = tokenize_for_training(tokenizer, messages, max_length, tools)
    if not whole["truncated"]:
        out.encodings.append(whole)
        return out
    system, task = _head(messages)
    heads = [system + task, system, []]
    heads = [h for i, h in enumerate(heads) if h not in heads[:i]]
    ends = [i + 1 for i, m in enumerate(messages) if m["role"] == "assistant"]
    start = (task or system or [-1])[-1] + 1
    while True:
        ends_after = [e for e in ends if e > start]
        if not ends_after:
            break
        body_start = start
        context: list[dict[str, Any]] = []
        if messages[start]["role"] == "tool":  # results of a call made in the previous window
            call = max(i for i in range(start) if messages[i]["role"] == "assistant")
            context = [{**messages[call], "content": "", "_context": True}]  # the call alone is the context
        best: tuple[int, dict[str, Any]] | None = None
        for head in heads:
            prefix = [messages[i] for i in head] + context
            if not prefix and messages[body_start]["role"] == "assistant":
                continue  # an assistant turn needs something before it to answer
            for end in ends_after:  # grow the window one assistant turn at a time
                enc = _fits(tokenizer, prefix + messages[body_start:end], max_length, tools)
                if enc is None:
                    break
                best = (end, enc)
            if best:
                break
        if best is None:  # the next assistant turn fits no window: drop it, go on after it
            out.dropped_turns += 1
            start = ends_after[0]
            while start < len(messages) and messages[start]["role"] == "tool":  # its results go with it
                start += 1
        else:
            end, enc = best
            out.encodings.append(enc)
            start = end
        if start >= len(messages):
            break
    return out
