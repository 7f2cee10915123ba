"""Deterministic synthetic and adversarial examples from templates in `data/seeds/`.

A seed file is JSONL; each line is a template:
`{"template_id", "task_category", "slots": {name: [values]}, "messages": [...], "attack"?}`
with `{slot}` placeholders in message contents and tool-call argument values.
Example i of a kind depends only on (seed, kind, i): raising a ratio appends new examples and
leaves the earlier ones byte-identical, so their split never moves.
"""
from __future__ import annotations

import random
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from tracelora.cleaning.redaction import iter_strings
from tracelora.formats.jsonl import JsonlError, read_rows

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
    """The templates of one seed file in file order (none if it is absent); decoding is
    formats.jsonl's, so a bad line is the SeedError "path:line: <reason> (<detail>)"."""
    path = Path(path)
    if not path.exists():
        return []
    try:
        return [parse_template(row, origin) for origin, row in read_rows(path)]
    except JsonlError as exc:
        raise SeedError(str(exc)) from None


def _fill(obj: Any, values: dict[str, str]) -> Any:
    t = type(obj)
    if t is str:  # a string without braces formats to itself: skip the parse (most strings)
        return obj.format_map(values) if "{" in obj or "}" in obj else obj
    if t is list:
        return [_fill(x, values) for x in obj]
    if t is dict:
        return {k: _fill(v, values) for k, v in obj.items()}
    return obj  # templates are parsed JSON: no str/list/dict subclasses


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


def generate(templates: list[Template], kind: str, count: int, seed: int, start: int = 0) -> Iterator[dict[str, Any]]:
    """Yield rows `start` .. `count - 1` (seed-contract shape) for `kind`; row i depends only on
    (seed, kind, i), so any range can be made without the rows before it."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    if not templates or count <= 0:
        return
    for i in range(start, count):
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


# ---------------------------------------------------------------- selection, mixing and tool sets
# Used by the Space (space/): the build stage calls only `generate`, whose output these never change.

TOOL_SETS = ("seed", "openclaw", "opencode")


def template_tools(template: Template) -> frozenset[str]:
    """Names of the tools a template calls (empty for a plain question/answer or a refusal)."""
    return frozenset(call["function"]["name"] for msg in template.messages
                     for call in msg.get("tool_calls", []) or [])


def select(templates: list[Template], categories: list[str] | None = None, tools: list[str] | None = None,
           attacks: list[str] | None = None) -> list[Template]:
    """The templates in the given task categories / attack kinds that call only allowed tools.
    None means no restriction; an empty `tools` list keeps only templates that call no tool."""
    return [t for t in templates
            if (categories is None or t.task_category in categories)
            and (attacks is None or t.attack is None or t.attack in attacks)
            and (tools is None or template_tools(t) <= set(tools))]


def mix(synthetic: list[Template], adversarial: list[Template], count: int, adversarial_share: float,
        seed: int) -> Iterator[tuple[str, int, dict[str, Any]]]:
    """`count` rows as (kind, index within kind, row): round(count x share) adversarial, the rest
    synthetic, interleaved by a seeded shuffle. Row i of a kind is `generate`'s row i, so a Space
    export with the seed tool set holds the very examples `build` would make with the same seed."""
    if not 0 <= adversarial_share <= 1:
        raise ValueError("adversarial_share must be between 0 and 1")
    n_adv = round(count * adversarial_share) if adversarial else 0
    n_syn = max(count - n_adv, 0) if synthetic else 0
    order = ["synthetic"] * n_syn + ["adversarial"] * n_adv
    random.Random(f"{seed}:mix").shuffle(order)
    streams = {"synthetic": generate(synthetic, "synthetic", n_syn, seed),
               "adversarial": generate(adversarial, "adversarial", n_adv, seed)}
    index = {"synthetic": 0, "adversarial": 0}
    for kind in order:
        yield kind, index[kind], next(streams[kind])
        index[kind] += 1


def _grep_as_exec(args: dict[str, Any]) -> dict[str, Any]:
    pattern = str(args.get("pattern", "")).replace("'", "'\\''")
    return {"command": f"grep -rn '{pattern}' {args.get('path') or '.'}"}


def _schema(description: str, **props: str) -> dict[str, Any]:
    required = [k for k in props if not k.endswith("?")]
    properties = {k.rstrip("?"): {"type": "string", "description": v} for k, v in props.items()}
    return {"description": description, "parameters": {"type": "object", "properties": properties, "required": required}}


# Seed tool -> (harness tool name, argument renames or a converter), and each harness's schemas.
# Names and parameters: /work/shared/reference/trace_formats.md 1.5 (OpenClaw) and 2.4 (OpenCode).
_RENAMES: dict[str, dict[str, tuple[str, Any]]] = {
    "openclaw": {"read": ("read", {"path": "path"}), "write": ("write", {"path": "path", "content": "content"}),
                 "edit": ("edit", {"path": "path", "old": "oldText", "new": "newText"}),
                 "bash": ("exec", {"command": "command"}), "grep": ("exec", _grep_as_exec)},
    "opencode": {"read": ("read", {"path": "filePath"}), "write": ("write", {"path": "filePath", "content": "content"}),
                 "edit": ("edit", {"path": "filePath", "old": "oldString", "new": "newString"}),
                 "bash": ("bash", {"command": "command"}), "grep": ("grep", {"pattern": "pattern", "path": "path"})},
}
_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "openclaw": {
        "read": _schema("Read a file from the workspace", path="File path"),
        "write": _schema("Create or overwrite a file", path="File path", content="Full file content"),
        "edit": _schema("Replace exact text in a file", path="File path", oldText="Text to find", newText="Replacement"),
        "exec": _schema("Run a shell command", command="Command line", **{"workdir?": "Working directory"}),
    },
    "opencode": {
        "read": _schema("Read a file", filePath="Absolute or relative file path"),
        "write": _schema("Write a file", filePath="File path", content="Full file content"),
        "edit": _schema("Replace a string in a file", filePath="File path", oldString="Text to find",
                        newString="Replacement"),
        "bash": _schema("Run a shell command", command="Command line", **{"description?": "What it does"}),
        "grep": _schema("Search file contents with a regular expression", pattern="Regex", **{"path?": "Directory"}),
    },
}


def apply_tool_set(row: dict[str, Any], tool_set: str) -> dict[str, Any]:
    """A copy of a generated row in a harness's tool dialect (names, argument keys) with that
    harness's schemas for the tools it calls as `tools`. "seed" returns the row unchanged."""
    if tool_set not in TOOL_SETS:
        raise ValueError(f"tool_set must be one of {TOOL_SETS}")
    if tool_set == "seed":
        return row
    renames, used = _RENAMES[tool_set], []
    messages = []
    for msg in row["messages"]:
        msg = dict(msg)
        if msg.get("tool_calls"):
            calls = []
            for call in msg["tool_calls"]:
                name, conv = renames.get(call["function"]["name"], (call["function"]["name"], None))
                args = call["function"].get("arguments") or {}
                args = conv(args) if callable(conv) else {conv.get(k, k): v for k, v in args.items()} if conv else args
                calls.append({**call, "function": {**call["function"], "name": name, "arguments": args}})
                used.append(name)
            msg["tool_calls"] = calls
        if msg.get("role") == "tool" and msg.get("name") in renames:
            msg["name"] = renames[msg["name"]][0]
        messages.append(msg)
    out = {**row, "messages": messages}
    schemas = _SCHEMAS[tool_set]
    tools = [{"type": "function", "function": {"name": n, **schemas[n]}} for n in sorted(set(used)) if n in schemas]
    if tools:
        out["tools"] = tools
    return out
