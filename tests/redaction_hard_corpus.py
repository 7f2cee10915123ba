"""Secrets in harder places (issue 20): glued to file names and identifiers, percent-encoded in URLs,
base64-wrapped (a Kubernetes Secret, a pasted `.env`), in tool-call ids, tool names and dictionary
keys, URL passwords with reserved characters. Each case is a whole record, so a secret can sit
anywhere a record has a string; deterministic for a seed.

    from redaction_hard_corpus import hard_cases
    for case in hard_cases(seed=0, per_class=40): ...   # HardCase(cls, record, secrets)
"""
from __future__ import annotations

import base64
import json
import random
import string
import urllib.parse
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from redaction_corpus import GENERATORS, _r

A = string.ascii_letters + string.digits

# token kinds with a fixed prefix: the ones a glued neighbour used to hide
PREFIXED = ("aws_access_key", "github_classic", "github_fine_grained", "gitlab_token", "slack_token", "stripe_key",
            "openai_key", "anthropic_key", "google_api_key", "huggingface_token", "npm_token", "sendgrid_key",
            "digitalocean_token")
GLUE = (
    "-rw-r--r--  1 user  staff  1204 Jun  1 10:02 creds_{v}_backup.csv",
    "$ ls tokens/\ntokens/{v}_old.txt  tokens/README.md",
    "renamed old_{v} -> current",
    "cfg{v}",
    "cp ~/.config/app/x.{v}.bak /tmp/",
    "key-id: v1-{v}-2024",
    "/srv/keys/{v}/meta.json",
    "7{v}",
)
URL_ENCODED = (
    "GET /oauth/callback?state=xyz&token%3D{v}%26user%3Dbob HTTP/1.1",
    "redirect_uri=https%3A%2F%2Fapp.acme.io%2Fcb%3Fapi_key%3D{v}%26x%3D1",
    "curl 'https://api.acme.io/v1/hook?url=https%3A%2F%2Fx.io%2F%3Ftoken%3D{v}'",
)
B64_WRAP = (
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ndata:\n  token: {b64}\n",
    "$ echo {b64} | base64 -d > .env",
    '{{"auths": {{"ghcr.io": {{"auth": "{b64}"}}}}}}',
)
B64_PLAINS = ("{v}", "GITHUB_TOKEN={v}\n", "API_KEY={v}\nDEBUG=false\n", "user:{v}")
RESERVED_PASSWORDS = ("p@ss#w0rd!{t}", "S3cr3t$$!{t}", "a#b@c!d${t}", "pa%40ss%23{t}", "x!y@z#{t}%21")


@dataclass(frozen=True)
class HardCase:
    cls: str
    record: dict[str, Any]
    secrets: tuple[str, ...]  # strings that must not survive anywhere in the redacted record


def _record(tool_text: str = "ok", user: str = "Please check the deployment.", call_id: str = "call_1",
            tool_name: str = "bash", args: dict[str, Any] | None = None, meta_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    msgs = [{"role": "user", "content": user},
            {"role": "assistant", "content": "", "tool_calls": [{"id": call_id, "type": "function",
                                                               "function": {"name": tool_name,
                                                                            "arguments": json.dumps(args or {"command": "ls -la"})}}]},
            {"role": "tool", "tool_call_id": call_id, "name": tool_name, "content": tool_text},
            {"role": "assistant", "content": "Done: the deployment is healthy."}]
    meta = {"source": "opencode", "task_category": "ops", "outcome": "success", "origin": "corpus:1",
            "usage": {"input_tokens": 10, "output_tokens": 5}}
    meta.update(meta_extra or {})
    return {"id": "", "messages": msgs, "metadata": meta}


def _token(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(PREFIXED)
    return kind, GENERATORS[kind](rng)


CLASSES: dict[str, Callable[[random.Random], HardCase]] = {}


def _case(name: str) -> Callable[[Callable[[random.Random], HardCase]], Callable[[random.Random], HardCase]]:
    def deco(fn: Callable[[random.Random], HardCase]) -> Callable[[random.Random], HardCase]:
        CLASSES[name] = fn
        return fn
    return deco


@_case("glued_to_neighbours")
def _glued(rng: random.Random) -> HardCase:
    _, v = _token(rng)
    return HardCase("glued_to_neighbours", _record(tool_text=rng.choice(GLUE).format(v=v)), (v,))


@_case("percent_encoded")
def _encoded(rng: random.Random) -> HardCase:
    _, v = _token(rng)
    return HardCase("percent_encoded", _record(tool_text=rng.choice(URL_ENCODED).format(v=v)), (v,))


@_case("base64_wrapped")
def _b64(rng: random.Random) -> HardCase:
    _, v = _token(rng)
    plain = rng.choice(B64_PLAINS).format(v=v)
    enc = base64.b64encode(plain.encode()).decode() if rng.random() < 0.7 else base64.urlsafe_b64encode(plain.encode()).decode()
    return HardCase("base64_wrapped", _record(tool_text=rng.choice(B64_WRAP).format(b64=enc)), (v, enc))


@_case("tool_call_id")
def _call_id(rng: random.Random) -> HardCase:
    _, v = _token(rng)
    return HardCase("tool_call_id", _record(call_id=v), (v,))


@_case("tool_name")
def _tool_name(rng: random.Random) -> HardCase:
    _, v = _token(rng)
    return HardCase("tool_name", _record(tool_name=f"mcp__{v}"), (v,))


@_case("dict_key")
def _dict_key(rng: random.Random) -> HardCase:
    _, v = _token(rng)
    where = rng.choice(["args", "meta", "usage"])
    if where == "args":
        rec = _record(args={"headers": {v: "1"}, "command": "curl x"})
    elif where == "meta":
        rec = _record(meta_extra={"extra": {v: True}})
    else:
        rec = _record(meta_extra={"usage": {"input_tokens": 1, v: 3}})
    return HardCase("dict_key", rec, (v,))


@_case("url_password_reserved")
def _url_pw(rng: random.Random) -> HardCase:
    pw = rng.choice(RESERVED_PASSWORDS).format(t=_r(rng, A, 6))
    scheme = rng.choice(["postgres", "mysql", "redis", "amqp", "https"])
    text = rng.choice(["DATABASE_URL={s}://app:{pw}@db.internal:5432/app",
                       "connection to {s}://root:{pw}@10.0.3.4/prod failed",
                       "$ git remote -v\norigin {s}://deploy:{pw}@git.acme.io/acme/app.git (fetch)"]).format(s=scheme, pw=pw)
    decoded = urllib.parse.unquote(pw)
    secrets = tuple({pw, decoded} | {pw[:max(4, len(pw) // 2)]})  # not even half of it may remain
    return HardCase("url_password_reserved", _record(tool_text=text), secrets)


def hard_cases(seed: int = 0, per_class: int = 40) -> Iterator[HardCase]:
    rng = random.Random(seed)
    for name, gen in CLASSES.items():
        for _ in range(per_class):
            yield gen(rng)


def survives(record: dict[str, Any], secret: str) -> bool:
    """Is `secret` anywhere in the record: any string, any key, tool arguments decoded too."""
    text = json.dumps(record, ensure_ascii=False)
    if secret in text:
        return True
    for m in record["messages"]:
        for c in m.get("tool_calls", ()):
            try:
                decoded = json.dumps(json.loads(c["function"]["arguments"]), ensure_ascii=False)
            except ValueError:  # a redactor that broke the JSON: the raw text was searched above
                continue
            if secret in decoded:
                return True
    return False
