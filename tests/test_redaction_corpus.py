"""Redaction quality on the labelled corpus (tests/redaction_corpus.py): per-class recall >= 99% with
the secret planted in a tool result, tool-call arguments, the user turn or metadata; >= 99% of hard
negatives untouched; both regex engines agree; tool arguments stay valid JSON."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from redaction_corpus import GENERATORS, as_record, negatives, positives
from tracelora.common.io import dumps_line
from tracelora.cleaning.redaction import Redactor, iter_strings, redact_record, scan_line, scan_record

PLACES = ("tool", "arguments", "user", "metadata")


def _strings(rec: dict) -> list[str]:
    out = list(iter_strings(rec))
    for m in rec["messages"]:
        for c in m.get("tool_calls", ()):
            out += list(iter_strings(json.loads(c["function"]["arguments"])))  # must stay valid JSON
    return out


def recall_by_class(engine: str, per_class: int = 100) -> dict[str, float]:
    total, caught = Counter(), Counter()
    for i, case in enumerate(positives(seed=0, per_class=per_class)):
        red, hits = redact_record(as_record(case.text, PLACES[i % len(PLACES)]), engine=engine)
        strings = _strings(red)
        total[case.cls] += 1
        caught[case.cls] += all(s not in t for s in case.secrets for t in strings) and sum(hits.values()) > 0
    return {cls: caught[cls] / total[cls] for cls in total}


@pytest.mark.parametrize("engine", ["auto", "re"])
def test_recall_per_class_at_least_99_percent(engine: str) -> None:
    recall = recall_by_class(engine)
    assert set(recall) == set(GENERATORS)
    low = {cls: r for cls, r in recall.items() if r < 0.99}
    assert not low, low


@pytest.mark.parametrize("engine", ["auto", "re"])
def test_hard_negatives_pass_unchanged(engine: str) -> None:
    texts = list(negatives(seed=0, n=2000))
    changed = [t for t in texts if Redactor(engine=engine).text(t) != t]
    assert len(changed) / len(texts) <= 0.01, changed[:5]
    # and the independent scan does not flag them as leaks either
    flagged = [t for t in texts if scan_record({"content": t})]
    assert len(flagged) / len(texts) <= 0.01, flagged[:5]


def test_engines_agree_byte_for_byte() -> None:
    texts = [c.text for c in positives(seed=3, per_class=10)] + list(negatives(seed=3, n=300))
    texts.append("naïve café /home/jörg/src +1 415 555 0134 jörg@exämple.de AKIAIOSFODNN7EXAMPLQ")
    for t in texts:
        a, b = Redactor(engine="auto"), Redactor(engine="re")
        assert a.text(t) == b.text(t)
        assert a.counts == b.counts


def test_placeholders_are_typed_and_consistent_within_a_record() -> None:
    key, other = "ghp_" + "a1B2" * 9, "ghp_" + "Z9y8" * 9
    rec = as_record(f"export GITHUB_TOKEN={key}\ngit push https://{key}@github.com/a/b.git\nGH2={other}", "arguments")
    rec["messages"][2]["content"] = f"token {key} rejected"
    red, hits = redact_record(rec)
    args = json.loads(red["messages"][1]["tool_calls"][0]["function"]["arguments"])
    assert args["command"] == ("export GITHUB_TOKEN=<SECRET_GITHUB_TOKEN_1>\ngit push https://<SECRET_GITHUB_TOKEN_1>@github.com/a/b.git\n"
                               "GH2=<SECRET_GITHUB_TOKEN_2>")
    assert red["messages"][2]["content"] == "token <SECRET_GITHUB_TOKEN_1> rejected"
    assert hits == {"github_token": 4}
    assert not scan_record(red)


def test_escaped_secret_inside_tool_arguments_is_found() -> None:
    """A secret whose characters are JSON-escaped in the arguments string is decoded before matching."""
    rec = as_record("x", "tool")
    rec["messages"][1]["tool_calls"][0]["function"]["arguments"] = '{"cmd": "\\u0041KIAIOSFODNN7EXAMPLQ"}'
    red, hits = redact_record(rec)
    assert hits == {"aws_access_key": 1}
    assert json.loads(red["messages"][1]["tool_calls"][0]["function"]["arguments"]) == {"cmd": "<SECRET_AWS_ACCESS_KEY_1>"}


def test_line_scan_shortcut_never_misses_what_the_decoded_scan_finds() -> None:
    """The post-redaction scan's text shortcut must agree with the full decoded scan on raw
    (unredacted) records: every planted secret in every placement is still reported."""
    texts = [c.text for c in positives(seed=4, per_class=12)] + list(negatives(seed=4, n=200))
    for i, t in enumerate(texts):
        line = dumps_line(as_record(t, PLACES[i % len(PLACES)]))
        assert scan_line(line) == scan_record(json.loads(line)), t


def _hard_placements(text: str) -> list[dict]:
    """`text` next to every kind of JSON escape: quotes and newlines around it, a literal backslash
    (Windows path, regex) in the same string, tool arguments that hold escaped text or JSON inside
    JSON, and metadata. These are the lines where a text shortcut could lose a match boundary."""
    def rec(content: str, args: dict, meta_extra: dict | None = None) -> dict:
        r = as_record("x", "tool")
        r["messages"][0]["content"] = content
        r["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps(args)
        r["metadata"].update(meta_extra or {})
        return r
    return [
        rec(f'echo "{text}"\n\tnext', {"command": "ls"}),
        rec(f"C:\\Users\\bob\\proj> type .env\n{text}", {"command": "dir"}),
        rec(r"regex \d+\s*" + f"\n{text}\\n", {"command": "ls"}),
        rec("run it", {"command": f'printf "%s\\n" "{text}"', "path": "C:\\Users\\alice\\x"}),
        rec("run it", {"payload": json.dumps({"env": text, "note": 'say "hi"\n'})}),
        rec("run it", {"lines": [text, "a\\b"], "n": 3}, {"branch": f"fix/{text}\\x"}),
        rec(f"{text}\u0007bell", {"command": "ls"}),
    ]


@pytest.mark.parametrize("seed", [5, 6])
def test_shortcuts_agree_with_the_full_scans_next_to_escapes(seed: int) -> None:
    """Both RE2 shortcuts (the undecoded candidate text of `redact_record`, the unescaped-bytes check
    of `scan_line`) must find exactly what the full decoded scans find, in every escape placement."""
    texts = [c.text for c in positives(seed=seed, per_class=3)] + list(negatives(seed=seed, n=60))
    for t in texts:
        for r in _hard_placements(t):
            line = dumps_line(r)
            assert scan_line(line) == scan_record(json.loads(line)) == scan_record(json.loads(line), engine="re"), line
            assert redact_record(r) == redact_record(r, engine="re"), line


def test_line_scan_shortcut_settles_clean_lines_without_decoding() -> None:
    """The shortcut must actually take clean lines (else the build silently pays the slow path),
    including lines with escaped tool arguments, and must not take a line with a candidate."""
    from tracelora.cleaning.redaction import _clean_written_line, get_engine
    eng = get_engine("auto")
    if eng.name != "re2":
        pytest.skip("google-re2 not installed")
    clean = as_record("All 18 tests passed.\nSee \"log\" for details.", "tool")
    clean["messages"][1]["tool_calls"][0]["function"]["arguments"] = json.dumps({"command": 'grep -n "a\\nb" x.py'})
    assert _clean_written_line(dumps_line(clean).encode(), eng)
    dirty = as_record("export GITHUB_TOKEN=ghp_" + "aB3" * 12, "tool")
    assert not _clean_written_line(dumps_line(dirty).encode(), eng)
    assert scan_line(dumps_line(dirty)) == {"github_token": 1}
