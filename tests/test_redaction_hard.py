"""Secrets in harder places (tests/redaction_hard_corpus.py): each class >= 99% redacted with both
engines, anywhere in a record (ids, names, keys included); new hard negatives stay untouched; the
independent detector and the fail-closed build catch what a broken redactor lets through."""
from __future__ import annotations

import base64
import json
from collections import Counter

import pytest
from redaction_hard_corpus import CLASSES, hard_cases, survives

from tracelora.cleaning.leak_check import prefix_hits, review_tokens
from tracelora.cleaning.redaction import Redactor, redact_record, scan_line, scan_record
from tracelora.common.io import dumps_line


def recall(engine: str, per_class: int = 60) -> dict[str, float]:
    total, caught = Counter(), Counter()
    for case in hard_cases(seed=1, per_class=per_class):
        red, hits = redact_record(case.record, engine=engine)
        total[case.cls] += 1
        caught[case.cls] += not any(survives(red, s) for s in case.secrets) and sum(hits.values()) > 0
    return {c: caught[c] / total[c] for c in total}


@pytest.mark.parametrize("engine", ["auto", "re"])
def test_every_hard_class_is_redacted(engine: str) -> None:
    r = recall(engine)
    assert set(r) == set(CLASSES)
    low = {c: v for c, v in r.items() if v < 0.99}
    assert not low, low


@pytest.mark.parametrize("engine", ["auto", "re"])
def test_the_scan_sees_every_hard_class_before_redaction(engine: str) -> None:
    """The post-redaction scan shares the rules: what the redactor now catches, the scan sees too."""
    cases = list(hard_cases(seed=2, per_class=20))
    missed = [c.cls for c in cases if not scan_record(c.record, engine=engine)]
    assert not missed, Counter(missed)


HARD_NEGATIVES = [
    "du -sh /var/log && disk-usage-report-for-all-nodes-2024-final",
    "def test_task_live_reload_keeps_state_between_runs_2(): ...",
    "see https://example.com/search?q=caf%C3%A9%20au%20lait&page=2",
    "curl 'https://api.acme.io/v1/items?filter%3Dstatus%3Aopen%26sort%3Dcreated'",
    "echo " + base64.b64encode(b"hello world, this is a harmless config line\n").decode() + " | base64 -d",
    "data: {tls.crt: " + base64.b64encode(b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n").decode() + "}",
    "apiVersion: v1\nkind: ConfigMap\ndata:\n  settings: " + base64.b64encode(b"log_level=debug\nworkers=4\n").decode(),
    "postgres://app:${DB_PASSWORD}@db:5432/app",
    "git@github.com:acme/ghp-tools.git",
    "mcp__github__create_pull_request",
    "call_8d2a1f0b4c", "toolu_01XyZAbCdEfGhIjKlMnOpQr",
    "OPENAI_API_KEY=sk-...", "export HF_TOKEN=hf_...",
]


@pytest.mark.parametrize("engine", ["auto", "re"])
def test_hard_negatives_pass_untouched(engine: str) -> None:
    changed = [t for t in HARD_NEGATIVES if Redactor(engine=engine).text(t) != t]
    assert not changed, changed


def test_a_call_id_and_its_result_keep_one_placeholder() -> None:
    case = next(c for c in hard_cases(seed=3, per_class=1) if c.cls == "tool_call_id")
    red, _ = redact_record(case.record)
    call_id = red["messages"][1]["tool_calls"][0]["id"]
    assert call_id.startswith("<SECRET_") and red["messages"][2]["tool_call_id"] == call_id


def test_dict_keys_are_redacted_and_arguments_stay_json() -> None:
    key = "ghp_" + "aB3" * 12
    rec = {"messages": [{"role": "user", "content": "x"},
                        {"role": "assistant", "content": "", "tool_calls": [
                            {"id": "c1", "type": "function", "function": {"name": "http", "arguments": json.dumps({"headers": {key: "1"}})}}]},
                        {"role": "tool", "tool_call_id": "c1", "name": "http", "content": "ok"},
                        {"role": "assistant", "content": "done"}],
           "metadata": {"usage": {key: 3}}}
    red, hits = redact_record(rec)
    text = json.dumps(red)
    assert key not in text and hits["github_token"] == 2
    args = json.loads(red["messages"][1]["tool_calls"][0]["function"]["arguments"])
    assert list(args["headers"]) == ["<SECRET_GITHUB_TOKEN_1>"] and list(red["metadata"]["usage"]) == ["<SECRET_GITHUB_TOKEN_1>"]


def test_the_independent_detector_sees_prefixes_the_rules_reject() -> None:
    """A key the rules' validators refuse (no digit: the `mixed` check) is still a prefixed token."""
    key = "sk-proj-" + "AbCdEfGhIjKlMnOpQrStUvWxYzAbCdEfGh"
    line = dumps_line({"messages": [{"role": "user", "content": f"key {key}"}]}).encode()
    assert not scan_line(line)  # the rule table lets it pass...
    assert prefix_hits(line) == {"independent:openai_key": 1}  # ...the independent detector does not
    assert not prefix_hits(b'{"c": "sk-proj-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}')  # a placeholder is not a key


def test_random_tokens_no_rule_explains_are_counted_for_review_not_flagged() -> None:
    tok = "Zx81Qm4LpR7vT2nW9aKc3HsY6dFg0JuB5eNo"
    assert review_tokens(f'{{"c": "session {tok}"}}') == 1
    assert review_tokens('{"c": "commit 3f2a9c1d0e8b7a6f5c4d3e2f1a0b9c8d7e6f5a4b"}') == 0  # hex digest
    assert review_tokens('{"c": "test_build_keeps_long_sessions_whole_and_windows_them"}') == 0
