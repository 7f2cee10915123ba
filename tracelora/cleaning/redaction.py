"""Deterministic redaction of secrets and PII, driven by the rule table in `redaction_rules`,
applied everywhere a secret can hide (message content, tool-call arguments, tool results, metadata).

Replacements are typed and numbered per record (`<SECRET_AWS_ACCESS_KEY_1>`; the same value gets
the same placeholder), so the model still learns where a key goes without ever seeing one.
Counts are kept per rule name, never per value.

Engines: with `google-re2` installed, one RE2 `Set` over all rules finds in a single linear pass
which rules can match a record at all (most records: none), and only those rules run. Without it
(or with engine="re") every rule runs with stdlib `re` in ASCII mode: the reference behaviour,
same table, same results, several times slower.
"""
from __future__ import annotations

import base64
import binascii
import codecs
from bisect import bisect_right
import json
import math
import re
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Optional

from tracelora.common.io import dumps_line
from tracelora.formats.records import dumps_arguments
from tracelora.cleaning.redaction_rules import RULE_TABLE

try:  # the fast engine; the table is written so that both engines agree
    import re2 as _re2
except ImportError:  # pragma: no cover - exercised only where the wheel is missing
    _re2 = None


# ---- validators (by name in the table) -------------------------------------------------------
_PLACEHOLDER_WORDS = {"changeme", "password", "example", "redacted", "secret", "none", "null", "true", "false",
                      "undefined", "your_token", "your-token", "yourtoken", "placeholder", "xxxxxx", "dummy",
                      "required", "optional", "string", "notset", "not_set", "todo", "tbd", "masked"}
_ID_LIKE = re.compile(r"[A-Za-z_][A-Za-z_.]*(?:\(|\[|$)")  # attribute access / call: settings.SECRET_KEY, getpass(
_FILE_TLDS = {"png", "jpg", "jpeg", "gif", "svg", "webp", "ico", "js", "mjs", "cjs", "ts", "tsx", "jsx", "py", "rb", "go",
              "rs", "json", "css", "scss", "html", "md", "txt", "lock", "yaml", "yml", "toml", "map", "sh", "cfg", "ini"}
_GENERIC_USERS = {"runner", "ubuntu", "root", "user", "username", "me", "you", "ec2-user", "vagrant", "circleci",
                  "travis", "jenkins", "node", "app", "shared", "public", "default", "runneradmin", "linuxbrew",
                  "your-user", "your_user", "yourname", "name", "someone", "guest", "all users", "default user"}
_NINO_PREFIX_BLOCK = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}


def _is_placeholder(v: str) -> bool:
    """`${API_KEY}`, `<token>`, `os.environ[...]`, `xxxx`, `changeme`, `***`: references, not secrets."""
    v = v.strip("'\"")
    low = v.lower()
    if not v or v.startswith(("$", "<", "{", "%", "[", "(", "*", "os.", "process.env", "env(", "env.", "getenv", "secrets.",
                              "vault:", "op://", "arn:")):
        return True
    if "environ" in low or "getenv" in low or low in _PLACEHOLDER_WORDS or len(set(low)) <= 2:
        return True
    return low.startswith(("your", "my-", "my_", "example", "test-", "dummy", "fake", "placeholder", "redacted", "xxx"))


def _entropy(v: str) -> float:
    counts = Counter(v)
    return -sum(c / len(v) * math.log2(c / len(v)) for c in counts.values())


def _classes(v: str) -> int:
    return sum((any(c.islower() for c in v), any(c.isupper() for c in v), any(c.isdigit() for c in v)))


def _looks_random(v: str, min_len: int = 16) -> bool:
    """A random token, not a word, identifier, path or URL: long, mixed classes, high entropy."""
    if len(v) < min_len or "/" in v and "://" in v or v.startswith(("/", "./", "~/", "http")):
        return False
    return _classes(v) >= 2 and _entropy(v) >= 3.0 and any(c.isdigit() for c in v)


def _check_mixed(v: str, ctx: str) -> bool:
    """Provider prefixes that also start ordinary words (`sk-learn-...`): require a random tail."""
    return _classes(v) >= 2 and any(c.isdigit() for c in v)


def _check_strong(v: str, ctx: str) -> bool:
    """Lower case, upper case and digits all present: a random key, not a word glued to a prefix."""
    return _classes(v) == 3


def _check_token(v: str, ctx: str) -> bool:
    return not _is_placeholder(v) and (any(c.isdigit() for c in v) or len(v) >= 32) and _classes(v) >= 2


def _check_password(v: str, ctx: str) -> bool:
    return not _is_placeholder(v) and not _ID_LIKE.fullmatch(v.split("=")[0]) and not v.startswith(("/", "./", "~/"))


def _check_assignment(v: str, ctx: str) -> bool:
    """`*_PASSWORD`/`*_SECRET` names: any real-looking value; `*_TOKEN`/`*_KEY`: a random-looking one."""
    v = v.rstrip(".)]}>")
    if _is_placeholder(v) or "://" in v or v.startswith(("/", "./", "~/", "-")) or "(" in v or "[" in v:
        return False
    name = re.split(r"[\"'\s=:]", ctx, maxsplit=1)[0].lower()
    if any(w in name for w in ("password", "passwd", "pwd", "secret")) and not name.endswith(("_key", "key")):
        return not _ID_LIKE.fullmatch(v) and not v.isdigit()
    if name.endswith(("secret_key", "secretkey")) and not _ID_LIKE.fullmatch(v) and len(v) >= 12:
        return True
    return _looks_random(v)


def _check_email(v: str, ctx: str) -> bool:
    low = v.lower()
    tld = low.rsplit(".", 1)[-1]
    return not low.startswith(("git@", "noreply@", "no-reply@")) and tld not in _FILE_TLDS


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _check_luhn(v: str, ctx: str) -> bool:
    """Payment card numbers: 13-19 digits, a card-network prefix, consistent grouping, Luhn-valid."""
    digits = v.replace(" ", "").replace("-", "")
    if not 13 <= len(digits) <= 19 or len(set(digits)) < 2 or not _luhn_ok(digits):
        return False
    if " " in v and "-" in v:
        return False
    p2, p4 = int(digits[:2]), int(digits[:4])
    return (digits[0] == "4" or 51 <= p2 <= 55 or 2221 <= p4 <= 2720 or p2 in (34, 37) or digits.startswith(("6011", "65"))
            or 3528 <= p4 <= 3589 or p2 in (36, 38) or 300 <= int(digits[:3]) <= 305 or digits.startswith("62"))


def _check_national_id(v: str, ctx: str) -> bool:
    if "-" in v:  # US SSN: no 000/666/9xx area, no 00 group, no 0000 serial
        area, group, serial = v.split("-")
        return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"
    return v[:2] not in _NINO_PREFIX_BLOCK  # UK National Insurance number


def _check_basic_auth(v: str, ctx: str) -> bool:
    try:
        raw = base64.b64decode(v + "=" * (-len(v) % 4), validate=True)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return False
    return ":" in text and text.isprintable()


def _check_home_user(v: str, ctx: str) -> bool:
    return v.lower() not in _GENERIC_USERS and not v.startswith(".")


_PRINTABLE = set(range(0x20, 0x7F)) | {0x09, 0x0A, 0x0D}


def _check_base64_secret(v: str, ctx: str) -> bool:
    """A base64 or base64url run (a Kubernetes Secret's `data:`, a pasted `.env`, a docker `auth`)
    whose decoded text, mostly printable, holds a secret by the rules (decoded runs are scanned the
    same way, so base64 inside base64 is seen too)."""
    body = v.rstrip("=")
    if not 16 <= len(body) <= 65536:
        return False
    for alt in (None, b"-_"):
        try:
            raw = base64.b64decode(body + "=" * (-len(body) % 4), altchars=alt, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) < 8 or sum(b in _PRINTABLE for b in raw) < 0.9 * len(raw):
            continue
        hits = scan_text(raw.decode("utf-8", "replace"))
        if any(RULE_KINDS.get(name) == "secret" for name in hits):
            return True
    return False


CHECKS: dict[str, Callable[[str, str], bool]] = {
    "": lambda v, ctx: True, "mixed": _check_mixed, "strong": _check_strong, "token": _check_token, "password": _check_password,
    "assignment": _check_assignment, "email": _check_email, "luhn": _check_luhn, "national_id": _check_national_id,
    "basic_auth": _check_basic_auth, "home_user": _check_home_user, "base64_secret": _check_base64_secret,
}


# ---- compiled rules --------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    name: str  # stable key for the manifest
    label: str  # placeholder stem, e.g. SECRET_AWS_ACCESS_KEY
    kind: str  # "secret" | "pii"
    source: str  # the pattern text from the table
    pattern: Any  # compiled by the engine (re.Pattern or re2 regexp)
    group: int
    check: Callable[[str, str], bool]
    order: int  # position in the table: rules always run in this order

    def accept(self, value: str, context: str) -> bool:
        return bool(value) and not value.startswith("<") and self.check(value, context)


class Engine:
    """The rule table compiled for one regex engine ("re2" or "re")."""

    def __init__(self, name: str = "auto") -> None:
        if name == "auto":
            name = "re2" if _re2 is not None else "re"
        if name == "re2" and _re2 is None:
            raise RuntimeError("engine re2 requested but google-re2 is not installed")
        self.name = name
        self.rules: tuple[Rule, ...] = tuple(
            Rule(n, label, kind, pat, self._compile(pat), group, CHECKS[check], i)
            for i, (n, label, kind, pat, group, check) in enumerate(RULE_TABLE))
        self._set = None
        if name == "re2":
            opts = _re2.Options()
            opts.max_mem = 64 << 20  # room for the multi-pattern DFA: otherwise RE2 falls back to the slow NFA
            self._set = _re2.Set.SearchSet(opts)
            for rule in self.rules:
                self._set.Add(rule.source)
            self._set.Compile()

    def _compile(self, pattern: str) -> Any:
        if self.name == "re2":
            opts = _re2.Options()
            opts.max_mem = 16 << 20
            return _re2.compile(pattern, opts)
        return re.compile(pattern, re.ASCII)

    def candidates(self, text: str) -> Optional[list[Rule]]:
        """Rules that may match somewhere in `text` (a superset), or None when every rule must run."""
        if self._set is None:
            return None
        hits = self._set.Match(text)
        return [self.rules[i] for i in sorted(hits)] if hits else []


_ENGINES: dict[str, Engine] = {}


def get_engine(name: str = "auto") -> Engine:
    """Compiled engines are cached per process (compiling the table costs ~50 ms)."""
    if name not in _ENGINES:
        _ENGINES[name] = Engine(name)
    return _ENGINES[name]


def _spans(rule: Rule, s: str) -> Iterator[tuple[int, int, int, int]]:
    """(start, end) of each match of `rule` in `s` and of its secret group ((-1, -1) when the group
    did not take part). google-re2's str API re-encodes the text and maps byte offsets back to
    characters on every match; on ASCII text (`isascii` is O(1)) the offsets agree, so the bytes
    API is used: 2.7x less overhead per match, same matches."""
    text: Any = s.encode("ascii") if s.isascii() and not isinstance(rule.pattern, re.Pattern) else s
    g = rule.group
    for m in rule.pattern.finditer(text):
        a, b = m.span(0)
        c, d = m.span(g) if g else (a, b)
        yield a, b, c, d


RULES: tuple[Rule, ...] = get_engine("re").rules  # the table as stdlib patterns (for callers that introspect it)
RULE_NAMES: tuple[str, ...] = tuple(r.name for r in RULES)
RULE_KINDS: dict[str, str] = {r.name: r.kind for r in RULES}
_SEP = "\n\x00\n"  # joins a record's strings for the one-pass candidate scan
_PCT = re.compile(r"%[0-9A-Fa-f]{2}")
_PCT_B = re.compile(rb"%[0-9A-Fa-f]{2}")
_PCT_SEPARATORS = {"3D": "=", "3A": ":", "26": "&", "2F": "/", "3F": "?", "22": '"', "27": "'", "2C": ",", "3B": ";",
                   "5B": "[", "5D": "]", "7B": "{", "7D": "}", "23": "#"}


def _pct_sub(m: re.Match[str]) -> str:
    return "  " + _PCT_SEPARATORS.get(m.group(0)[1:].upper(), " ")


def percent_view(s: str) -> Optional[str]:
    """`s` with each percent escape replaced by two spaces and the separator it encodes (`%3D` ->
    `  =`; other escapes -> three spaces), or None without escapes. Same length as `s`, so a match
    in the view is a span of `s`: a token after `token%3D` or before `%26` is bounded as in plain
    text, and `key%3Dvalue` reads as an assignment. `%40` stays opaque: in a URL's user info it is
    part of the password."""
    if "%" not in s or not _PCT.search(s):
        return None
    return _PCT.sub(_pct_sub, s)
_SEP_BYTES = _SEP.encode()


def _union(a: Optional[list[Rule]], b: Optional[list[Rule]]) -> Optional[list[Rule]]:
    """Candidate lists merged in table order (None, "every rule", wins)."""
    if a is None or b is None:
        return None
    if not b:
        return a
    return sorted({r.order: r for r in (*a, *b)}.values(), key=lambda r: r.order)


def _candidates(engine: "Engine", text: str) -> Optional[list[Rule]]:
    """The engine's candidate rules for `text` and for its percent view."""
    view = percent_view(text)
    return engine.candidates(text) if view is None else _union(engine.candidates(text), engine.candidates(view))


class Redactor:
    """Redacts one record at a time; placeholders are numbered per record and per label."""

    def __init__(self, rules: Optional[tuple[Rule, ...]] = None, engine: str = "auto") -> None:
        self.engine = get_engine(engine)
        self.rules = rules if rules is not None else self.engine.rules
        self.counts: Counter[str] = Counter()
        self._seen: dict[tuple[str, str], str] = {}
        self._per_label: Counter[str] = Counter()

    def _placeholder(self, rule: Rule, value: str) -> str:
        key = (rule.label, value)
        if key not in self._seen:
            self._per_label[rule.label] += 1
            self._seen[key] = f"<{rule.label}_{self._per_label[rule.label]}>"
        return self._seen[key]

    def text(self, s: str, rules: Optional[list[Rule]] = None) -> str:
        """Redact `s` with `rules` (already known to match near `s`: applied without a search
        first) or, when None, with the engine's candidates for `s` and its percent view; then once
        more over the percent view (`percent_view`) where `s` has escapes."""
        searched = rules is None
        if rules is None:
            cands = _union(self.engine.candidates(s), self.engine.candidates(percent_view(s) or ""))
            if cands is None:
                rules = list(self.rules)
            elif self.rules is self.engine.rules:
                rules = cands
            else:
                rules = [r for r in cands if any(r.name == x.name for x in self.rules)]
        s = self._apply(s, rules, searched, False)
        if "%" in s:
            s = self._apply(s, rules, True, True)
        return s

    def _apply(self, s: str, rules: list[Rule], searched: bool, view: bool) -> str:
        for rule in rules:
            v = (percent_view(s) or "") if view else s
            if not v or (searched and not rule.pattern.search(v)):
                continue
            pieces: list[str] = []
            last = 0
            for a, b, c, d in _spans(rule, v):
                value = v[c:d] if c >= 0 else ""
                if not value or not rule.accept(value, v[a:b]):
                    continue
                self.counts[rule.name] += 1
                pieces.append(s[last:c])
                pieces.append(self._placeholder(rule, value))
                last = d
            if pieces:
                pieces.append(s[last:])
                s = "".join(pieces)
        return s

    def value(self, v: Any, rules: Optional[list[Rule]] = None) -> Any:
        """Redact any JSON value, dict keys included (a header name, an MCP server's key map, a
        `usage` key can be a token)."""
        if isinstance(v, str):
            return self.text(v, rules)
        if isinstance(v, list):
            return [self.value(x, rules) for x in v]
        if isinstance(v, dict):
            return {self.text(k, rules): self.value(x, rules) for k, x in v.items()}
        return v

    def arguments(self, args: str, rules: Optional[list[Rule]] = None) -> str:
        """Tool-call arguments are a JSON string: redact the decoded values, so the result stays valid
        JSON and a secret split by an escape (`\\u0041KIA...`) is still seen."""
        try:
            parsed = json.loads(args)
        except json.JSONDecodeError:
            return self.text(args, rules)
        return dumps_arguments(self.value(parsed, rules))


def iter_strings(obj: Any, keys: bool = False) -> Iterator[str]:
    """Every string inside a JSON value (and its dict keys when asked), depth first, in document order."""
    stack = [obj]
    pop, push = stack.pop, stack.extend
    while stack:
        x = pop()
        if isinstance(x, str):
            yield x
        elif isinstance(x, dict):
            if keys:
                items: list[Any] = []
                for k, v in x.items():
                    items.append(k)
                    items.append(v)
                push(reversed(items))
            else:
                push(reversed(list(x.values())))
        elif isinstance(x, list):
            push(reversed(x))


def _message_ids(msg: dict[str, Any]) -> list[str]:
    """A tool message's `tool_call_id` and `name` (strings a record holds outside its content)."""
    if msg["role"] != "tool":
        return []
    return [msg[k] for k in ("tool_call_id", "name") if isinstance(msg.get(k), str)]


def _record_strings(record: dict[str, Any]) -> tuple[list[str], list[Any]]:
    """All strings a record can hide a secret in, in rebuild order (content; each call's id, name
    and argument keys and values; a tool message's call id and name; metadata and tool schemas,
    keys included), and the decoded tool arguments (None where they are not JSON and are redacted
    as plain text)."""
    strings: list[str] = []
    parsed: list[Any] = []
    for msg in record["messages"]:
        strings.append(msg["content"])
        for call in msg.get("tool_calls", ()):
            if isinstance(call.get("id"), str):
                strings.append(call["id"])
            strings.append(call["function"]["name"])
            args = call["function"]["arguments"]
            try:
                value = json.loads(args)
            except json.JSONDecodeError:
                value = None
                strings.append(args)
            else:
                strings.extend(iter_strings(value, keys=True))
            parsed.append(value)
        strings.extend(_message_ids(msg))
    strings.extend(iter_strings(record.get("metadata", {}), keys=True))
    strings.extend(iter_strings(record.get("tools", []), keys=True))
    return strings, parsed


def _quick_text(record: dict[str, Any]) -> Optional[str]:
    """A text that holds every string of `_record_strings` verbatim, each between quotes or
    separators, built without decoding: tool arguments and metadata as their JSON text. Every rule
    accepts a quote where it accepts a string's start or end, so no candidate here means none in
    the decoded strings either (most records). None where an escape could hide a value."""
    parts: list[str] = []
    encoded: list[str] = []  # JSON texts: usable only without escapes
    for msg in record["messages"]:
        parts.append(msg["content"])
        for call in msg.get("tool_calls", ()):
            if isinstance(call.get("id"), str):
                parts.append(call["id"])
            parts.append(call["function"]["name"])
            encoded.append(call["function"]["arguments"])
        parts.extend(_message_ids(msg))
    encoded.append(dumps_line(record.get("metadata", {})))
    if "tools" in record:
        encoded.append(dumps_line(record["tools"]))
    if any("\\" in e for e in encoded):
        return None
    return _SEP.join(parts + encoded)


def _dirty(engine: Engine, strings: list[str], cands: list[Rule]) -> dict[int, list[Rule]]:
    """Which strings each candidate rule may match in, found by one search per rule over the joined
    strings (a match there overlaps every string that has a match of its own)."""
    joined = _SEP.join(strings)
    starts, pos = [], 0
    for t in strings:
        starts.append(pos)
        pos += len(t) + len(_SEP)
    dirty: dict[int, list[Rule]] = {}
    view = percent_view(joined)
    texts = (joined,) if view is None else (joined, view)  # same length: a span is a span of both
    for rule, text in ((r, t) for r in cands for t in texts):
        for a, b, _, _ in _spans(rule, text):
            first = bisect_right(starts, a) - 1
            last = bisect_right(starts, max(b - 1, a)) - 1
            for i in range(first, last + 1):
                rules = dirty.setdefault(i, [])
                if not rules or rules[-1] is not rule:
                    rules.append(rule)
    return dirty


class _Rebuild:
    """Walks a record in `_record_strings` order, redacting only the strings marked dirty."""

    def __init__(self, r: Redactor, dirty: Optional[dict[int, list[Rule]]]) -> None:
        self.r, self.dirty, self.i = r, dirty, 0

    def text(self, s: str) -> str:
        i, self.i = self.i, self.i + 1
        if self.dirty is None:
            return self.r.text(s)
        rules = self.dirty.get(i)
        return self.r.text(s, rules) if rules else s

    def value(self, v: Any) -> Any:
        if isinstance(v, str):
            return self.text(v)
        if isinstance(v, list):
            return [self.value(x) for x in v]
        if isinstance(v, dict):
            return {self.text(k): self.value(x) for k, x in v.items()}
        return v

    def arguments(self, args: str, parsed: Any) -> str:
        if parsed is None:
            return self.text(args)
        first = self.i
        value = self.value(parsed)
        if self.dirty is not None and not any(i in self.dirty for i in range(first, self.i)):
            return args  # untouched: keep the normalized string as is (it is this same dump)
        return dumps_arguments(value)


def redact_record(record: dict[str, Any], engine: str = "auto") -> tuple[dict[str, Any], Counter[str]]:
    """Return a redacted copy of a normalized record and the hit count per rule.

    One candidate scan over all of the record's strings picks the rules that can match (a record
    with none, the common case, is returned as a shallow copy); one search per candidate rule then
    picks the strings to redact. The reference engine runs every rule on every string instead."""
    r = Redactor(engine=engine)
    quick = _quick_text(record) if r.engine.name == "re2" else None
    cands = _candidates(r.engine, quick) if quick is not None else None  # a superset of the rules below
    if cands == []:
        return {**record}, r.counts
    strings, parsed = _record_strings(record)
    if quick is None:
        cands = _candidates(r.engine, _SEP.join(strings))
        if cands == []:
            return {**record}, r.counts
    walk = _Rebuild(r, None if cands is None else _dirty(r.engine, strings, cands))
    args = iter(parsed)
    messages = []
    for msg in record["messages"]:
        out = {**msg, "content": walk.text(msg["content"])}
        if "tool_calls" in msg:
            calls = []
            for c in msg["tool_calls"]:
                call = {**c}
                if isinstance(c.get("id"), str):  # the same placeholder as its result's tool_call_id
                    call["id"] = walk.text(c["id"])
                name = walk.text(c["function"]["name"])
                call["function"] = {"name": name, "arguments": walk.arguments(c["function"]["arguments"], next(args))}
                calls.append(call)
            out["tool_calls"] = calls
        for key in ("tool_call_id", "name"):
            if isinstance(msg.get(key), str):
                out[key] = walk.text(msg[key])
        messages.append(out)
    red = {**record, "messages": messages, "metadata": walk.value(record.get("metadata", {}))}
    if "tools" in record:
        red["tools"] = walk.value(record["tools"])
    if r.counts.get("home_dir_user"):
        red = _sweep_names(red, r)
    return red, r.counts


def _sweep_names(record: dict[str, Any], r: Redactor) -> dict[str, Any]:
    """A user name a home path gave away is replaced everywhere else in the record too (slugs, `ls -l`
    owners, git authors, prose; tracelora.cleaning.names), by the same placeholder, counted under
    `home_dir_user`. Most records name the user only in the home paths just redacted: one substring
    check over the redacted text settles those."""
    from tracelora.cleaning import names as N

    placeholders = {value.lower(): ph for (label, value), ph in r._seen.items() if label == "USER" and N.usable(value)}
    if not placeholders:
        return record
    parts = [m["content"] for m in record["messages"]]
    parts += [c["function"]["arguments"] for m in record["messages"] for c in m.get("tool_calls", ())]
    parts.append(dumps_line(record.get("metadata", {})))
    if "tools" in record:
        parts.append(dumps_line(record["tools"]))
    text = _SEP.join(parts).lower()
    if not any(n in text for n in placeholders):
        return record
    pat = N.pattern(placeholders)
    if pat is None:
        return record

    def sub(m: re.Match[str]) -> str:
        r.counts["home_dir_user"] += 1
        return placeholders[m.group(0).lower()]

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return pat.sub(sub, v) if v else v
        if isinstance(v, list):
            return [walk(x) for x in v]
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        return v

    messages = []
    for msg in record["messages"]:
        out = {**msg, "content": walk(msg["content"])}
        if "tool_calls" in msg:
            out["tool_calls"] = [{**c, "function": {"name": c["function"]["name"],
                                                    "arguments": walk(c["function"]["arguments"])}}
                                 for c in msg["tool_calls"]]
        messages.append(out)
    out_rec = {**record, "messages": messages, "metadata": walk(record.get("metadata", {}))}
    if "tools" in record:
        out_rec["tools"] = walk(record["tools"])
    return out_rec


def _scan_with(rules: Iterable[Rule], s: str, hits: Counter[str]) -> None:
    """Count accepted matches in `s` and in its percent view (each span once)."""
    view = percent_view(s)
    for rule in rules:
        seen: set[tuple[int, int]] = set()
        for text in ((s,) if view is None else (s, view)):
            for a, b, c, d in _spans(rule, text):
                if c >= 0 and c < d and (c, d) not in seen and rule.accept(text[c:d], text[a:b]):
                    seen.add((c, d))
                    hits[rule.name] += 1


def scan_text(s: str, engine: str = "auto") -> Counter[str]:
    """Count rule hits in already-written text; anything found after redaction fails `redaction_ok`.
    Independent of the Redactor: no placeholder state, every accepted match is a leak."""
    eng = get_engine(engine)
    cands = _candidates(eng, s)
    hits: Counter[str] = Counter()
    _scan_with(eng.rules if cands is None else cands, s, hits)
    return hits


def _written_strings(obj: Any) -> list[str]:
    """Every string and key of a written JSON value; a string that holds a JSON object or array
    (tool arguments) contributes its decoded strings instead (one level deep)."""
    out: list[str] = []
    for x in iter_strings(obj, keys=True):
        if x[:1] in "{[":
            try:
                inner = json.loads(x)
            except (ValueError, RecursionError):
                inner = None
            if isinstance(inner, (dict, list)):
                out.extend(iter_strings(inner, keys=True))
                continue
        out.append(x)
    return out


def scan_record(obj: Any, engine: str = "auto") -> Counter[str]:
    """Scan every string (and key) of a written JSON record as decoded values, so an escaped
    "\\n@router" never reads as an email and an escaped secret is still found. A string that holds
    JSON (tool arguments) is scanned as its decoded values."""
    strings = _written_strings(obj)
    eng = get_engine(engine)
    hits: Counter[str] = Counter()
    cands = _candidates(eng, _SEP.join(strings))
    if cands is None:
        for s in strings:
            _scan_with(eng.rules, s, hits)
    elif cands:
        for i, rules in _dirty(eng, strings, cands).items():
            _scan_with(rules, strings[i], hits)
    return hits


def _clean_written_line(line: bytes, engine: Engine) -> bool:
    """True when the multi-pattern pass proves that `scan_record` of this line finds nothing, without
    decoding it into objects. The line is unescaped as bytes (`codecs.escape_decode` reads JSON's
    two-character escapes exactly); where it holds escaped JSON (`\\\\` in the line: tool arguments or a
    literal backslash) the unescaped text is unescaped once more, which decodes the arguments. Every
    string then sits verbatim between quotes, and every rule accepts a quote where it accepts a
    string's start or end, so no candidate means no hit. Lines with `\\u` or `\\/` escapes, or where
    the second pass meets a non-JSON escape, are not proven clean here."""
    if b"\\u" in line or b"\\/" in line:
        return False
    text = codecs.escape_decode(line)[0]
    if b"\\" in text:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # an invalid escape (a literal backslash in prose) warns
            try:
                text += _SEP_BYTES + codecs.escape_decode(text)[0]
            except (ValueError, DeprecationWarning):
                return False
    if engine.candidates(text):
        return False
    if b"%" in text and _PCT_B.search(text):  # the percent view, as the redactor reads it
        return not engine.candidates(_PCT_B.sub(lambda m: ("  " + _PCT_SEPARATORS.get(m.group(0)[1:].decode().upper(), " ")).encode(), text))
    return True


def scan_line(line: str | bytes, engine: str = "auto") -> Counter[str]:
    """`scan_record` of one written JSONL line. With RE2, one multi-pattern pass over the line's
    unescaped bytes settles most lines (`_clean_written_line`); the others are decoded and scanned
    string by string."""
    eng = get_engine(engine)
    raw = line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")
    if eng.name == "re2" and _clean_written_line(raw, eng):
        return Counter()
    return scan_record(json.loads(line), engine)
