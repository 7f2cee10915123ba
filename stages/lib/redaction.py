"""Deterministic redaction of secrets and PII: a table of named rules, applied everywhere a
secret can hide (message content, tool-call arguments, tool results, metadata).

Replacements are typed and numbered per record (`<SECRET_AWS_ACCESS_KEY_1>`; the same value gets
the same placeholder), so the model still learns where a key goes without ever seeing one.
Counts are kept per rule name, never per value.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterator


@dataclass(frozen=True)
class Rule:
    name: str  # stable key for the manifest
    label: str  # placeholder stem, e.g. SECRET_AWS_ACCESS_KEY
    pattern: re.Pattern[str]
    group: int | str = 0  # which group is the secret (the rest of the match is kept)
    accept: Callable[[str], bool] | None = None  # extra check on the secret (e.g. not a placeholder)


def _not_placeholder(value: str) -> bool:
    """Values such as `${API_KEY}`, `<token>`, `os.environ[...]`, `xxxx` or `changeme` are not secrets."""
    v = value.strip("'\"")
    if v.startswith(("$", "<", "{", "os.", "process.env", "env(", "getenv")) or "environ" in v:
        return False
    if len(set(v.lower())) <= 2 or v.lower() in {"changeme", "password", "example", "redacted", "secret", "none", "null", "true", "false"}:
        return False
    return True


def _compile(p: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(p, flags)


# Order matters: specific formats first, so a key is labeled by its provider, not by a generic rule.
RULES: tuple[Rule, ...] = (
    Rule("private_key", "SECRET_PRIVATE_KEY",
         _compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)")),
    Rule("aws_access_key", "SECRET_AWS_ACCESS_KEY", _compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b")),
    Rule("aws_secret_key", "SECRET_AWS_SECRET_KEY",
         _compile(r"(?i)aws_?secret_?(?:access_?)?key[\"']?\s*[=:]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"), 1),
    Rule("github_token", "SECRET_GITHUB_TOKEN", _compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b")),
    Rule("anthropic_key", "SECRET_ANTHROPIC_KEY", _compile(r"\bsk-ant-[A-Za-z0-9_-]{20,}")),
    Rule("openai_key", "SECRET_OPENAI_KEY", _compile(r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}")),
    Rule("huggingface_token", "SECRET_HF_TOKEN", _compile(r"\bhf_[A-Za-z0-9]{30,}\b")),
    Rule("slack_token", "SECRET_SLACK_TOKEN", _compile(r"\bxox[abposre]-[A-Za-z0-9-]{10,}")),
    Rule("stripe_key", "SECRET_STRIPE_KEY", _compile(r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}\b")),
    Rule("google_api_key", "SECRET_GOOGLE_API_KEY", _compile(r"\bAIza[0-9A-Za-z_-]{35}\b")),
    Rule("jwt", "SECRET_JWT", _compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}")),
    Rule("bearer_token", "SECRET_BEARER_TOKEN", _compile(r"(?i)\bbearer\s+([A-Za-z0-9._~+/-]{16,}=*)"), 1, _not_placeholder),
    Rule("url_password", "SECRET_URL_PASSWORD",
         _compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@'\"]+:([^\s@/'\"]+)@"), 1, _not_placeholder),
    Rule("secret_assignment", "SECRET_VALUE",
         _compile(r"(?i)\b[A-Z0-9_.-]*(?:PASSWORD|PASSWD|PWD|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)"
                  r"[\"']?\s*[=:]\s*[\"']?([^\s\"',;]{8,})"), 1, _not_placeholder),
    Rule("email", "EMAIL",
         _compile(r"\b[A-Za-z0-9._%+-]+@(?:[A-Za-z0-9-]+\.)+[A-Za-z]{2,}\b"), 0,
         lambda v: not v.lower().startswith(("git@", "noreply@", "no-reply@"))),
    Rule("phone", "PHONE", _compile(r"(?<![\w+])\+\d{1,3}[ .-]?\(?\d{2,4}\)?[ .-]?\d{3,4}[ .-]?\d{3,4}\b")),
)
RULE_NAMES: tuple[str, ...] = tuple(r.name for r in RULES)


class Redactor:
    """Redacts one record at a time; placeholders are numbered per record and per label."""

    def __init__(self, rules: tuple[Rule, ...] = RULES) -> None:
        self.rules = rules
        self.counts: Counter[str] = Counter()
        self._seen: dict[tuple[str, str], str] = {}
        self._per_label: Counter[str] = Counter()

    def _placeholder(self, rule: Rule, value: str) -> str:
        key = (rule.label, value)
        if key not in self._seen:
            self._per_label[rule.label] += 1
            self._seen[key] = f"<{rule.label}_{self._per_label[rule.label]}>"
        return self._seen[key]

    def text(self, s: str) -> str:
        for rule in self.rules:
            if not rule.pattern.search(s):
                continue

            def sub(m: re.Match[str], rule: Rule = rule) -> str:
                value = m.group(rule.group)
                if not value or (rule.accept and not rule.accept(value)):
                    return m.group(0)
                self.counts[rule.name] += 1
                start, end = m.span(rule.group)
                base = m.start(0)
                whole = m.group(0)
                return whole[: start - base] + self._placeholder(rule, value) + whole[end - base:]

            s = rule.pattern.sub(sub, s)
        return s

    def value(self, v: Any) -> Any:
        """Redact any JSON value; a string holding a JSON object (tool arguments) stays valid JSON."""
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {k: self.value(x) for k, x in v.items()}
        return v

    def arguments(self, args: str) -> str:
        try:
            parsed = json.loads(args)
        except json.JSONDecodeError:
            return self.text(args)
        return json.dumps(self.value(parsed), ensure_ascii=False)


def redact_record(record: dict[str, Any]) -> tuple[dict[str, Any], Counter[str]]:
    """Return a redacted copy of a normalized record and the hit count per rule."""
    r = Redactor()
    messages = []
    for msg in record["messages"]:
        out = {**msg, "content": r.text(msg["content"])}
        if "tool_calls" in msg:
            out["tool_calls"] = [
                {**c, "function": {"name": c["function"]["name"], "arguments": r.arguments(c["function"]["arguments"])}}
                for c in msg["tool_calls"]
            ]
        messages.append(out)
    red = {**record, "messages": messages, "metadata": r.value(record.get("metadata", {}))}
    if "tools" in record:
        red["tools"] = r.value(record["tools"])
    return red, r.counts


def iter_strings(obj: Any, keys: bool = False) -> Iterator[str]:
    """Every string inside a JSON value (and its dict keys when asked), depth first."""
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, list):
        for x in obj:
            yield from iter_strings(x, keys)
    elif isinstance(obj, dict):
        for k, x in obj.items():
            if keys:
                yield k
            yield from iter_strings(x, keys)


def scan_text(s: str) -> Counter[str]:
    """Count rule hits in already-written text; anything found after redaction fails `redaction_ok`."""
    hits: Counter[str] = Counter()
    for rule in RULES:
        for m in rule.pattern.finditer(s):
            value = m.group(rule.group)
            if value and (rule.accept is None or rule.accept(value)) and not value.startswith("<"):
                hits[rule.name] += 1
    return hits
