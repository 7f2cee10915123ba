"""Per-example scores for generated text vs the reference turn, and their aggregation.

- exact_match: equal after normalization (Unicode NFKC, lowercase, whitespace collapsed, ends trimmed).
- keyword_recall: share of the reference's keywords found in the prediction (case-insensitive).
  Keywords come from the record's `metadata.keywords` when present, otherwise from the reference:
  backticked spans, paths, identifiers (snake/camel/dotted), numbers and commands; if none, its
  content words of 4+ letters.
- token_f1: bag-of-words F1 between normalized prediction and reference (SQuAD-style).
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from typing import Any, Iterable

METRICS = ("exact_match", "keyword_recall", "token_f1")
_WS = re.compile(r"\s+")
_BACKTICK = re.compile(r"`([^`\n]{1,200})`")
_PATHLIKE = re.compile(r"(?:[\w.-]+/)+[\w.-]+|\b[\w-]+\.(?:py|js|ts|tsx|go|rs|java|rb|md|json|ya?ml|toml|txt|sh|cfg|ini|sql|lock|c|h|cpp)\b")
_IDENT = re.compile(r"\b(?:[a-z]+(?:_[a-z0-9]+)+|[a-z]+(?:[A-Z][a-z0-9]+)+|[A-Z][a-z0-9]+(?:[A-Z][a-z0-9]+)+|--?[a-z][\w-]+)\b")
_NUMBER = re.compile(r"\b\d+(?:\.\d+)*\b")
_WORD = re.compile(r"[a-zA-Z]{4,}")
_STOP = frozenset("""this that with from have will your into they them then than when what which were been
being also just only more most such here there these those does done make made about after before over
under should would could while where their other some very""".split())


def normalize(text: str) -> str:
    return _WS.sub(" ", unicodedata.normalize("NFKC", text)).strip().lower()


def exact_match(pred: str, ref: str) -> float:
    return float(normalize(pred) == normalize(ref))


def keywords(ref: str) -> list[str]:
    found: list[str] = []
    for rx in (_BACKTICK, _PATHLIKE, _IDENT, _NUMBER):
        for m in rx.finditer(ref):
            found.append(m.group(1) if rx is _BACKTICK else m.group(0))
    if not found:
        found = [w for w in _WORD.findall(ref) if w.lower() not in _STOP]
    out, seen = [], set()
    for k in found:
        k = normalize(k)
        if k and k not in seen:
            seen.add(k)
            out.append(k)
    return out


def keyword_recall(pred: str, keys: list[str]) -> float:
    if not keys:
        return 1.0 if not pred.strip() else 0.0
    p = normalize(pred)
    return sum(k in p for k in keys) / len(keys)


def token_f1(pred: str, ref: str) -> float:
    p, r = normalize(pred).split(), normalize(ref).split()
    if not p or not r:
        return float(p == r)
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def score(pred: str, ref: str, keys: list[str] | None = None) -> dict[str, float]:
    keys = keys if keys else keywords(ref)
    return {"exact_match": exact_match(pred, ref), "keyword_recall": keyword_recall(pred, keys),
            "token_f1": token_f1(pred, ref)}


def mean_scores(rows: Iterable[dict[str, float]]) -> dict[str, float]:
    rows = list(rows)
    if not rows:
        return {m: 0.0 for m in METRICS}
    return {m: round(sum(r[m] for r in rows) / len(rows), 6) for m in METRICS}


def delta(adapter: dict[str, float], baseline: dict[str, float]) -> dict[str, float]:
    return {m: round(adapter[m] - baseline[m], 6) for m in METRICS}


def by_group(rows: list[dict[str, Any]], key: str, which: str) -> dict[str, dict[str, float]]:
    groups: dict[str, list[dict[str, float]]] = {}
    for r in rows:
        groups.setdefault(r[key], []).append(r[which])
    return {g: {**mean_scores(v), "n": len(v)} for g, v in sorted(groups.items())}
