from __future__ import annotations

import json

import pytest

from tracelora.formats.records import FormatError, content_id, normalize
from tracelora.cleaning.redaction import redact_record, scan_text, Redactor


def test_seed_contract_shapes_normalize_to_messages() -> None:
    a = normalize({"user": "hi there", "assistant": "hello", "task_category": "chat"}, "f:1")
    b = normalize({"conversation": [{"role": "user", "content": "hi there"}, {"role": "assistant", "content": "hello"}]}, "f:2")
    c = normalize({"conversations": [{"from": "human", "value": "hi there"}, {"from": "gpt", "value": "hello"}]}, "f:3")
    assert a["messages"] == b["messages"] == c["messages"]
    assert content_id(a) == content_id(b) == content_id(c)
    assert a["metadata"] == {"source": "raw", "task_category": "chat", "outcome": "unknown", "origin": "f:1"}


def test_openai_tool_calls_keep_arguments_as_json_string() -> None:
    rec = normalize({"messages": [
        {"role": "user", "content": [{"type": "text", "text": "read it"}]},
        {"role": "assistant", "content": None, "tool_calls": [{"id": "x", "type": "function",
                                                               "function": {"name": "read", "arguments": {"path": "a.py"}}}]},
        {"role": "tool", "tool_call_id": "x", "name": "read", "content": "print(1)"},
        {"role": "assistant", "content": "done"}], "outcome": "passed"}, "f:1")
    call = rec["messages"][1]["tool_calls"][0]
    assert call == {"type": "function", "id": "x", "function": {"name": "read", "arguments": '{"path": "a.py"}'}}
    assert rec["messages"][0]["content"] == "read it" and rec["metadata"]["outcome"] == "success"


@pytest.mark.parametrize("row, reason", [
    ([1], "not_an_object"),
    ({"prompt": "x"}, "unknown_schema"),
    ({"messages": "hi"}, "bad_messages"),
    ({"messages": []}, "bad_messages"),
    ({"messages": [{"content": "x"}]}, "missing_role"),
    ({"messages": [{"role": "robot", "content": "x"}]}, "bad_role"),
    ({"messages": [{"role": "user", "content": 3}]}, "bad_content"),
    ({"messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {"arguments": "{}"}}]}]}, "bad_tool_call"),
    ({"messages": [{"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "a", "arguments": "{oops"}}]}]}, "bad_tool_call"),
    ({"user": "a", "assistant": "b", "outcome": "maybe"}, "bad_metadata"),
])
def test_bad_rows_raise_stable_reasons(row, reason: str) -> None:
    with pytest.raises(FormatError) as err:
        normalize(row, "f:1")
    assert err.value.reason == reason


def test_redaction_is_typed_consistent_and_keeps_engineering_text() -> None:
    r = Redactor()
    out = r.text("AKIAIOSFODNN7EXAMPLQ then AKIAIOSFODNN7EXAMPLQ and AKIAABCDEFGHIJKLMNOP")
    assert out == "<SECRET_AWS_ACCESS_KEY_1> then <SECRET_AWS_ACCESS_KEY_1> and <SECRET_AWS_ACCESS_KEY_2>"
    keep = ("commit 3f2a9c1d4e5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f uuid 123e4567-e89b-12d3-a456-426614174000 v1.2.3 "
            "http://localhost:8000 API_KEY=os.environ['API_KEY'] tests/test_token_refresh.py git@github.com:org/repo.git")
    assert Redactor().text(keep) == keep


@pytest.mark.parametrize("secret, rule", [
    ("ghp_" + "a1B2" * 9, "github_token"),
    ("sk-proj-" + "Ab3d" * 10, "openai_key"),
    ("xoxb-1234567890-abcdefghij", "slack_token"),
    ("postgres://admin:S3cr3tPass@db.internal:5432/app", "url_password"),
    ("DB_PASSWORD=hunter2hunter2", "secret_assignment"),
    ("aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_key"),
    ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", "private_key"),
    ("call +1 415 555 0134", "phone"),
])
def test_rules_catch_common_credentials(secret: str, rule: str) -> None:
    r = Redactor()
    out = r.text(f"value: {secret}")
    assert r.counts[rule] == 1, (out, r.counts)
    assert not scan_text(out)


def test_redact_record_covers_tool_arguments_and_results() -> None:
    rec = normalize({"messages": [
        {"role": "user", "content": "deploy"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "bash", "arguments": json.dumps({"command": "export GITHUB_TOKEN=ghp_" + "x1Y2" * 9})}}]},
        {"role": "tool", "content": "ops@example.com"},
        {"role": "assistant", "content": "ok"}]}, "f:1")
    red, hits = redact_record(rec)
    args = json.loads(red["messages"][1]["tool_calls"][0]["function"]["arguments"])
    assert args == {"command": "export GITHUB_TOKEN=<SECRET_GITHUB_TOKEN_1>"}
    assert red["messages"][2]["content"] == "<EMAIL_1>"
    assert dict(hits) == {"github_token": 1, "email": 1}
