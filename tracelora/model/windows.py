"""Split an agent session longer than `max_length` into training windows at turn boundaries.

Truncation keeps the first `max_length` tokens and silently loses every later turn, usually
including the final answer. Instead a long session becomes several windows, each:

    head: the leading system messages (when they fit) + the task, i.e. the last user message before
          the window, with `[… N earlier messages elided …]` appended when steps in between are left out
    [context: the tool call (without its prose) whose results open the window, shown without loss]
    a run of consecutive messages that ends with an assistant turn

So every window starts at a user turn (or the system prompt, then a user turn) and the model always
sees what it is working on. Cuts fall only between messages, never inside one; a window never starts
with a tool result without the call that produced it; every assistant turn carries loss in exactly
one window. An assistant turn that cannot fit in any window, even with the task alone, gets a window of its own in which its tool results and the task are
elided (head + tail, `[… N characters elided …]`) to fit (`shrunk`); one that fits not even so is
dropped with its tool results and counted (`dropped_turns`); a session left with no window at all
is counted by the caller.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tracelora.cleaning.shaping import elide
from tracelora.formats.chat_format import tokenize_for_training

# Character budgets tried, in order, for the tool results and the task of a window whose one
# assistant turn fits no window as recorded (a big tool output before it, a long pasted prompt).
SHRINK_BUDGETS = (4000, 2000, 1000, 500, 250, 120)


@dataclass
class Windows:
    encodings: list[dict[str, Any]] = field(default_factory=list)  # tokenize_for_training outputs
    dropped_turns: int = 0  # assistant turns that fit no window, even with its context shrunk
    shrunk: int = 0  # windows whose tool results / task were elided (head + tail) to fit


ELIDED = "[… {n} earlier messages elided …]"


def _system(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for m in messages:
        if m["role"] != "system":
            break
        out.append(m)
    return out


def _heads(messages: list[dict[str, Any]], body_start: int, context: int) -> tuple[list[list[dict[str, Any]]], int]:
    """(heads to try, longest first: system + task, then the task alone; where the body starts).
    `context` messages (the opening call) sit between head and body. A body that opens with a user
    message is its own task: it moves into the head, the marker before it."""
    system = _system(messages)
    if messages[body_start]["role"] == "user":
        task, body_from = body_start, body_start + 1
        elided = body_start - len(system)
        msg = messages[task]
        if elided > 0:
            msg = {**msg, "content": f"{ELIDED.format(n=elided)}\n\n{msg['content']}"}
    else:
        found = [i for i in range(body_start) if messages[i]["role"] == "user"]
        if not found:
            return [], body_start
        task, body_from = found[-1], body_start
        elided = body_start - context - task - 1
        msg = messages[task]
        if elided > 0:
            msg = {**msg, "content": f"{msg['content']}\n\n{ELIDED.format(n=elided)}"}
    return ([[*system, msg], [msg]] if system else [[msg]]), body_from


def _fits(tokenizer: Any, msgs: list[dict[str, Any]], max_length: int, tools: Any) -> dict[str, Any] | None:
    enc = tokenize_for_training(tokenizer, msgs, max_length, tools)
    return None if enc["truncated"] else enc


def _shrunk(tokenizer: Any, heads: list[list[dict[str, Any]]], context: list[dict[str, Any]],
            body: list[dict[str, Any]], end: int, max_length: int, tools: Any) -> tuple[int, dict[str, Any]] | None:
    """One window for the body's single assistant turn, its tool results and the task elided to
    ever smaller character budgets (the learned turn itself is never cut); None when even the
    smallest budget does not fit."""
    if not heads:
        return None
    for budget in SHRINK_BUDGETS:
        def cut(m: dict[str, Any]) -> dict[str, Any]:
            if m["role"] in ("tool", "user") and len(m["content"]) > budget:
                return {**m, "content": elide(m["content"], budget)}
            return m
        for head in (heads[0], heads[-1]):
            enc = _fits(tokenizer, [cut(m) if m["role"] == "user" else m for m in head] + context + [cut(m) for m in body],
                        max_length, tools)
            if enc is not None:
                return end, enc
    return None


def split_windows(tokenizer: Any, messages: list[dict[str, Any]], max_length: int,
                  tools: list[dict[str, Any]] | None = None) -> Windows:
    """Windows covering every assistant turn that can fit (see module docstring). A session that
    fits in `max_length` gives exactly one window, identical to tokenizing it whole."""
    out = Windows()
    whole = tokenize_for_training(tokenizer, messages, max_length, tools)
    if not whole["truncated"]:
        out.encodings.append(whole)
        return out
    ends = [i + 1 for i, m in enumerate(messages) if m["role"] == "assistant"]
    start = len(_system(messages))
    while True:
        ends_after = [e for e in ends if e > start]
        if not ends_after:
            break
        context: list[dict[str, Any]] = []
        if messages[start]["role"] == "tool":  # results of a call made in the previous window
            call = max(i for i in range(start) if messages[i]["role"] == "assistant")
            context = [{**messages[call], "content": "", "_context": True}]  # the call alone is the context
        heads, body_start = _heads(messages, start, len(context))
        best: tuple[int, dict[str, Any]] | None = None
        for head in heads:
            prefix = head + context
            for end in ends_after:  # grow the window one assistant turn at a time
                enc = _fits(tokenizer, prefix + messages[body_start:end], max_length, tools)
                if enc is None:
                    break
                best = (end, enc)
            if best:
                break
        if best is None:  # the next assistant turn alone: with its tool results and task elided to fit
            best = _shrunk(tokenizer, heads, context, messages[body_start:ends_after[0]], ends_after[0], max_length, tools)
            out.shrunk += best is not None
        if best is None:  # it fits no window even so: drop it, go on after it
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
