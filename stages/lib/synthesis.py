"""Deterministic synthetic and adversarial examples from templates in `data/seeds/`.

A seed file is JSONL; each line is a template:
`{"template_id", "task_category", "slots": {name: [values]}, "messages": [...], "attack"?}`
with `{slot}` placeholders in message contents and tool-call argument values.
Example i of a kind depends only on (seed, kind, i): raising a ratio appends new examples and
leaves the earlier ones byte-identical, so their split never moves.
"""
from __future__ import annotations

import json
import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from stages.lib.redaction import iter_strings

KINDS = ("synthetic", "adversarial")


class SeedError(ValueError):
    """A broken template file: the message names file:line."""


@dataclass(frozen=True)
class Template:
    template_id: str
    task_category: str
    slots: dict[str, list[str]]
    messages: list[dict[str, Any]]
    attack: str | None = None


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def parse_template(row: Any, where: str) -> Template:
    if not isinstance(row, dict):
        raise SeedError(f"{where}: template must be a JSON object")
    for key in ("template_id", "task_category", "slots", "messages"):
        if key not in row:
            raise SeedError(f"{where}: missing key {key!r}")
    slots = row["slots"]
    if not isinstance(slots, dict) or not all(isinstance(v, list) and v and all(isinstance(s, str) for s in v) for v in slots.values()):
        raise SeedError(f"{where}: slots must map names to non-empty lists of strings")
    if not isinstance(row["messages"], list) or not row["messages"]:
        raise SeedError(f"{where}: messages must be a non-empty list")
    try:
        used = set().union(*(_placeholders(s) for s in iter_strings(row["messages"])))
    except ValueError as exc:
        raise SeedError(f"{where}: bad placeholder syntax ({exc})") from None
    missing = used - set(slots)
    if missing:
        raise SeedError(f"{where}: placeholder(s) without slot values: {', '.join(sorted(missing))}")
    return Template(str(row["template_id"]), str(row["task_category"]), slots, row["messages"], row.get("attack"))


def load_templates(path: str | Path) -> list[Template]:
    path = Path(path)
    if not path.exists():
        return []
    out = []
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SeedError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from None
            out.append(parse_template(row, f"{path}:{lineno}"))
    return out


def _fill(obj: Any, values: dict[str, str]) -> Any:
    if isinstance(obj, str):
        return obj.format(**values)
    if isinstance(obj, list):
        return [_fill(x, values) for x in obj]
    if isinstance(obj, dict):
        return {k: _fill(v, values) for k, v in obj.items()}
    return obj


def render(template: Template, rng: random.Random) -> list[dict[str, Any]]:
    values = {name: rng.choice(options) for name, options in sorted(template.slots.items())}
    messages = _fill(template.messages, values)
    n = 0
    for msg in messages:  # give tool calls stable ids and link results to them, as real traces do
        for call in msg.get("tool_calls", []) or []:
            n += 1
            call.setdefault("id", f"call_{n}")
        if msg.get("role") == "tool" and "tool_call_id" not in msg and n:
            msg["tool_call_id"] = f"call_{n}"
    return messages


def generate(templates: list[Template], kind: str, count: int, seed: int) -> Iterator[dict[str, Any]]:
    """Yield `count` raw rows (seed-contract shape) for `kind`; row i depends only on (seed, kind, i)."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not templates or count <= 0:
        return
    for i in range(count):
        rng = random.Random(f"{seed}:{kind}:{i}")
        t = templates[rng.randrange(len(templates))]
        row: dict[str, Any] = {
            "messages": render(t, rng),
            "source": kind,
            "task_category": t.task_category,
            "outcome": "success",
            "template_id": t.template_id,
        }
        if t.attack:
            row["attack"] = t.attack
        yield row
