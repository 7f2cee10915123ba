"""The last line of defence: a detector that does not share the redaction rules' blind spots, run on
every line just before it is written (tracelora.dataset.pipeline.RecordStep).

The post-redaction scan (`tracelora.cleaning.redaction.scan_line`) runs the rule table again, so a
pattern the table lacks, or a validator that wrongly rejects a value, is missed twice. This module is
written differently on purpose:
- `prefix_hits`: provider prefixes followed by enough token characters, searched in the raw line with
  no word boundaries, no validators and no placeholder logic: whatever a prefixed token looks like
  and wherever it sits (glued, in a key, in an id), it is found. A hit fails closed: the line is
  quarantined, never written, and the build exits non-zero.
- `review_tokens`: long high-entropy tokens that no rule explained (mixed case and digits, not hex,
  not a placeholder). An entropy detector has false positives (image data, digests), so these are
  counted for review in the manifest, never rewritten or dropped.
"""
from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

try:
    import re2 as _re2
except ImportError:  # pragma: no cover
    _re2 = None

# kind -> pattern (the common subset of RE2 and `re`); minimum lengths follow the providers' formats
PREFIXES: dict[str, str] = {
    "aws_access_key": r"(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}",
    "github_token": r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})",
    "gitlab_token": r"glpat-[A-Za-z0-9_-]{20,}",
    "slack_token": r"xox[abposr]-[0-9]{6,}-[A-Za-z0-9-]{10,}",
    "stripe_key": r"(?:sk|rk)_live_[A-Za-z0-9]{16,}",
    "anthropic_key": r"sk-ant-[A-Za-z0-9_-]{30,}",
    "openai_key": r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{30,}",
    "google_api_key": r"AIza[0-9A-Za-z_-]{35}",
    "gcp_oauth_secret": r"GOCSPX-[A-Za-z0-9_-]{28}",
    "huggingface_token": r"hf_[A-Za-z0-9]{30,}",
    "npm_token": r"npm_[A-Za-z0-9]{36}",
    "sendgrid_key": r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}",
    "digitalocean_token": r"do[opr]_v1_[a-f0-9]{64}",
    "pypi_token": r"pypi-AgEI[A-Za-z0-9_-]{50,}",
    "private_key": r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----",
}
_KINDS = tuple(PREFIXES)
_ALL = "|".join(f"({p})" for p in PREFIXES.values())
_TOKEN = r"[A-Za-z0-9_-]{32,}|[A-Za-z0-9+/]{40,}={0,2}"
_HEX = re.compile(r"[0-9a-fA-F]+")
_WORDY = re.compile(r"[a-z]{7,}|[A-Z][a-z]{5,}")  # identifiers and prose: runs of letters random tokens rarely have


def _compile(pattern: str) -> Any:
    if _re2 is not None:
        opts = _re2.Options()
        opts.max_mem = 32 << 20
        return _re2.compile(pattern, opts)
    return re.compile(pattern, re.ASCII)


_PREFIX_RE = _compile(_ALL)
_TOKEN_RE = _compile(_TOKEN)


def _bytes(line: bytes | str) -> Any:
    """RE2 searches UTF-8 bytes directly (a str would be re-encoded on every call); stdlib `re`
    needs str."""
    if _re2 is None:
        return line.decode("utf-8", "replace") if isinstance(line, bytes) else line
    return line if isinstance(line, bytes) else line.encode("utf-8", "surrogatepass")


def prefix_hits(line: bytes | str) -> Counter[str]:
    """Prefixed tokens left in a written line, by kind (`independent:<kind>`)."""
    text = _bytes(line)
    hits: Counter[str] = Counter()
    if not _PREFIX_RE.search(text):
        return hits
    for m in _PREFIX_RE.finditer(text):
        if len(set(m.group(0)[-16:])) < 6 and m.lastindex != len(_KINDS):  # `sk-proj-xxxx…`: a placeholder
            continue
        for i, kind in enumerate(_KINDS, start=1):
            if m.group(i) is not None:
                hits[f"independent:{kind}"] += 1
                break
    return hits


def _entropy(s: str) -> float:
    counts = Counter(s)
    return -sum(c / len(s) * math.log2(c / len(s)) for c in counts.values())


def _random_looking(tok: str | bytes) -> bool:
    t = (tok.decode("ascii") if isinstance(tok, bytes) else tok).rstrip("=")
    if _HEX.fullmatch(t) or _WORDY.search(t):
        return False
    if not (any(c.islower() for c in t) and any(c.isupper() for c in t) and sum(c.isdigit() for c in t) >= 2):
        return False
    return _entropy(t) >= 4.2


_ID_PREFIX = re.compile(rb'\{"id":"[0-9a-f]{64}",')


def review_tokens(line: bytes | str) -> int:
    """How many long random-looking tokens a written line still holds (for review, not rewritten).
    The record's own content id (64 hex characters, first in every written line) is skipped."""
    text = _bytes(line)
    if isinstance(text, bytes) and _ID_PREFIX.match(text):
        text = text[74:]
    if not _TOKEN_RE.search(text):
        return 0
    return sum(1 for m in _TOKEN_RE.finditer(text) if _random_looking(m.group(0)))


def check_line(line: bytes) -> tuple[Counter[str], int]:
    """(`prefix_hits`, `review_tokens`) of one written line. Two plain searches: measured faster than
    one RE2 multi-pattern pass over both (the bounded repetitions blow up the combined DFA)."""
    return prefix_hits(line), review_tokens(line)
