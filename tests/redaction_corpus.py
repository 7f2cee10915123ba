"""Labelled corpus for redaction: planted credentials/PII in realistic agent-trace contexts, and hard
negatives (engineering text that must pass unchanged). Deterministic for a given seed.

    from redaction_corpus import positives, negatives, as_record
    for case in positives(seed=0, per_class=100): ...   # Case(cls, text, secrets)
    for text in negatives(seed=0, n=2000): ...

Secret values are random in the provider's documented shape; they are not real credentials.
Contexts: `cat .env`, `env`, `git remote -v`, curl headers, `docker run -e`, YAML/JSON/TOML config
files, Python/Node stack traces, git log, CSV fixtures, shell history.
"""
from __future__ import annotations

import base64
import json
import random
import string
import uuid
from dataclasses import dataclass
from typing import Callable, Iterator

A = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UP = string.ascii_uppercase + string.digits
B64 = string.ascii_letters + string.digits + "+/"
URLSAFE = A + "_-"


@dataclass(frozen=True)
class Case:
    cls: str  # label: the kind of secret planted
    text: str
    secrets: tuple[str, ...]  # exact values that must not survive redaction


def _r(rng: random.Random, alphabet: str, n: int) -> str:
    s = "".join(rng.choice(alphabet) for _ in range(n))
    if alphabet in (A, URLSAFE) and n >= 8:  # random keys mix cases and digits, as real ones do
        s = rng.choice(string.ascii_lowercase) + rng.choice(string.ascii_uppercase) + rng.choice(string.digits) + s[3:]
        s = "".join(rng.sample(s, len(s)))
    return s


def _luhn_complete(prefix: str, length: int, rng: random.Random) -> str:
    digits = prefix + "".join(rng.choice(string.digits) for _ in range(length - len(prefix) - 1))
    for check in string.digits:
        cand = digits + check
        total = 0
        for i, ch in enumerate(reversed(cand)):
            d = int(ch)
            if i % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return cand
    raise AssertionError("unreachable")


def _jwt(rng: random.Random) -> str:
    def seg(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    return f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg({'sub': str(rng.randint(1, 10**6)), 'iat': rng.randint(10**9, 2 * 10**9)})}.{_r(rng, URLSAFE, 43)}"


def _pem(rng: random.Random, kind: str) -> str:
    body = "\n".join(_r(rng, B64, 64) for _ in range(rng.randint(4, 10)))
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


NAMES = ["alice", "bob", "jdoe", "maria.garcia", "wei", "sven_k", "priya", "okonkwo", "lea-m", "tomasz"]
DOMAINS = ["acme.io", "corp.example.com", "gmail.com", "fastmail.fm", "startup.dev", "uni.edu"]

# class -> value generator
GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "aws_access_key": lambda r: r.choice(["AKIA", "ASIA"]) + _r(r, UP, 16),
    "aws_secret_key": lambda r: _r(r, A + "/+", 40),
    "gcp_oauth_secret": lambda r: "GOCSPX-" + _r(r, URLSAFE, 28),
    "google_api_key": lambda r: "AIza" + _r(r, URLSAFE, 35),
    "azure_storage_key": lambda r: _r(r, B64, 86) + "==",
    "github_classic": lambda r: "ghp_" + _r(r, A, 36),
    "github_fine_grained": lambda r: "github_pat_" + _r(r, A, 22) + "_" + _r(r, A, 59),
    "github_app": lambda r: r.choice(["ghs_", "ghu_"]) + _r(r, A, 36),
    "github_oauth": lambda r: "gho_" + _r(r, A, 36),
    "gitlab_token": lambda r: "glpat-" + _r(r, URLSAFE, 20),
    "slack_token": lambda r: f"xox{r.choice('bpa')}-{r.randint(10**10, 10**12)}-{r.randint(10**10, 10**12)}-{_r(r, A, 24)}",
    "slack_webhook": lambda r: f"T{_r(r, UP, 8)}/B{_r(r, UP, 10)}/{_r(r, A, 24)}",
    "discord_token": lambda r: r.choice("MN") + _r(r, A, 23) + "." + _r(r, URLSAFE, 6) + "." + _r(r, URLSAFE, 27),
    "discord_webhook": lambda r: f"{r.randint(10**17, 10**18)}/{_r(r, URLSAFE, 68)}",
    "telegram_bot_token": lambda r: f"{r.randint(10**8, 10**10 - 1)}:AA{_r(r, URLSAFE, 33)}",
    "stripe_key": lambda r: r.choice(["sk_live_", "rk_live_", "sk_test_"]) + _r(r, A, r.choice([24, 99])),
    "twilio_key": lambda r: "SK" + _r(r, HEX, 32),
    "sendgrid_key": lambda r: "SG." + _r(r, URLSAFE, 22) + "." + _r(r, URLSAFE, 43),
    "mailgun_key": lambda r: "key-" + _r(r, HEX, 32),
    "shopify_token": lambda r: r.choice(["shpat_", "shpss_", "shpca_"]) + _r(r, HEX, 32),
    "digitalocean_token": lambda r: "dop_v1_" + _r(r, HEX, 64),
    "npm_token": lambda r: "npm_" + _r(r, A, 36),
    "pypi_token": lambda r: "pypi-AgEIcHlwaS5vcmc" + _r(r, URLSAFE, 70),
    "openai_key": lambda r: r.choice(["sk-proj-", "sk-", "sk-svcacct-"]) + _r(r, URLSAFE, 48),
    "anthropic_key": lambda r: "sk-ant-api03-" + _r(r, URLSAFE, 93) + "AA",
    "huggingface_token": lambda r: "hf_" + _r(r, A, 34),
    "jwt": lambda r: "eyJ" + _jwt(r)[3:],
    "bearer_token": lambda r: _r(r, A + "._-", 40),
    "private_key": lambda r: _pem(r, r.choice(["RSA ", "EC ", "OPENSSH ", ""])),
    "url_password": lambda r: _r(r, A, r.randint(10, 20)),
    "env_password": lambda r: r.choice(["hunter2", "Tr0ub4dor&3", "correct-horse-battery", "S3cure!Pass", "p@ssw0rd2024"]) + _r(r, A, 4),
    "env_secret": lambda r: _r(r, A, r.choice([24, 32, 48])),
    "email": lambda r: f"{r.choice(NAMES)}{r.choice(['', '.work', str(r.randint(1, 99))])}@{r.choice(DOMAINS)}",
    "phone": lambda r: r.choice([f"+1 {r.randint(201, 989)} {r.randint(200, 999)} {r.randint(1000, 9999)}",
                                 f"+44 20 {r.randint(7000, 8999)} {r.randint(1000, 9999)}",
                                 f"+49 30 {r.randint(100, 999)} {r.randint(1000, 99999)}",
                                 f"({r.randint(201, 989)}) {r.randint(200, 999)}-{r.randint(1000, 9999)}"]),
    "card_number": lambda r: (lambda n: r.choice([n, " ".join(n[i:i + 4] for i in range(0, 16, 4))]))(
        _luhn_complete(r.choice(["4", "51", "55", "2221", "6011"]), 16, r)),
    "national_id": lambda r: r.choice([f"{r.randint(100, 665):03d}-{r.randint(10, 99)}-{r.randint(1000, 9999)}",
                                       f"{r.choice(['AB', 'CE', 'JH', 'HA', 'EG', 'PR'])}{r.randint(100000, 999999)}{r.choice('ABCD')}"]),
    "home_dir_user": lambda r: r.choice(NAMES) + r.choice(["", str(r.randint(1, 9))]),
}

# class -> contexts; `{v}` is the secret. Several contexts per class, picked at random.
CONTEXTS: dict[str, list[str]] = {
    "aws_access_key": ["$ cat .env\nAWS_ACCESS_KEY_ID={v}\nAWS_REGION=us-east-1", "aws_access_key_id = {v}",
                       "$ env | grep AWS\nAWS_ACCESS_KEY_ID={v}", "docker run -e AWS_ACCESS_KEY_ID={v} -e AWS_DEFAULT_REGION=eu-west-1 app:latest",
                       "botocore.exceptions.ClientError: An error occurred (InvalidAccessKeyId) when calling ListBuckets: key {v} does not exist"],
    "aws_secret_key": ["[default]\naws_access_key_id = AKIA{k}\naws_secret_access_key = {v}", "AWS_SECRET_ACCESS_KEY={v}",
                       "export AWS_SECRET_ACCESS_KEY=\"{v}\"", "  aws_secret_access_key: {v}"],
    "gcp_oauth_secret": ['{{"web": {{"client_id": "1234-abc.apps.googleusercontent.com", "client_secret": "{v}"}}}}', "GOOGLE_CLIENT_SECRET={v}"],
    "google_api_key": ["GEMINI_API_KEY={v}", "curl 'https://generativelanguage.googleapis.com/v1beta/models?key={v}'",
                       "const firebaseConfig = {{ apiKey: \"{v}\", authDomain: \"app.firebaseapp.com\" }};"],
    "azure_storage_key": ["AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey={v};EndpointSuffix=core.windows.net",
                          '"ConnectionStrings": {{"Blob": "DefaultEndpointsProtocol=https;AccountName=x;AccountKey={v}"}}'],
    "github_classic": ["$ git remote -v\norigin\thttps://{v}@github.com/acme/api.git (fetch)\norigin\thttps://{v}@github.com/acme/api.git (push)",
                       "export GITHUB_TOKEN={v}", "curl -H \"Authorization: token {v}\" https://api.github.com/user",
                       "gh auth login --with-token <<< {v}"],
    "github_fine_grained": ["GH_TOKEN={v}", "git clone https://x-access-token:{v}@github.com/acme/infra.git"],
    "github_app": ["installation token: {v} (expires in 1h)", "GITHUB_TOKEN: {v}"],
    "github_oauth": ["oauth_token: {v}\nuser: octocat", "  github.com:\n    oauth_token: {v}"],
    "gitlab_token": ["$ git remote -v\norigin https://oauth2:{v}@gitlab.com/acme/app.git (fetch)", "GITLAB_TOKEN={v}",
                     "curl --header \"PRIVATE-TOKEN: {v}\" https://gitlab.example.com/api/v4/projects"],
    "slack_token": ["SLACK_BOT_TOKEN={v}", "client = WebClient(token=\"{v}\")", "slack_token: {v}"],
    "slack_webhook": ["curl -X POST -d '{{\"text\":\"deploy ok\"}}' https://hooks.slack.com/services/{v}",
                      "SLACK_WEBHOOK_URL=https://hooks.slack.com/services/{v}"],
    "discord_token": ["DISCORD_TOKEN={v}", "client.run(\"{v}\")"],
    "discord_webhook": ["requests.post(\"https://discord.com/api/webhooks/{v}\", json=payload)",
                        "webhook_url: https://discordapp.com/api/webhooks/{v}"],
    "telegram_bot_token": ["TELEGRAM_BOT_TOKEN={v}", "curl https://api.telegram.org/bot{v}/getMe", "bot = Bot(token='{v}')"],
    "stripe_key": ["STRIPE_SECRET_KEY={v}", "stripe.api_key = \"{v}\"", "curl https://api.stripe.com/v1/charges -u {v}:"],
    "twilio_key": ["TWILIO_API_KEY={v}", "client = Client(\"{v}\", api_secret, account_sid)"],
    "sendgrid_key": ["SENDGRID_API_KEY={v}", "sg = SendGridAPIClient('{v}')", "-H 'Authorization: Bearer {v}'"],
    "mailgun_key": ["MAILGUN_API_KEY={v}", "curl -s --user 'api:{v}' https://api.mailgun.net/v3/mg.acme.io/messages"],
    "shopify_token": ["SHOPIFY_ACCESS_TOKEN={v}", "headers = {{'X-Shopify-Access-Token': '{v}'}}"],
    "digitalocean_token": ["DIGITALOCEAN_TOKEN={v}", "doctl auth init -t {v}"],
    "npm_token": ["$ cat ~/.npmrc\n//registry.npmjs.org/:_authToken={v}", "NPM_TOKEN={v}"],
    "pypi_token": ["[pypi]\n  username = __token__\n  password = {v}", "twine upload -p {v} dist/*", "UV_PUBLISH_TOKEN={v}"],
    "openai_key": ["OPENAI_API_KEY={v}", "client = OpenAI(api_key=\"{v}\")", "openai.AuthenticationError: Incorrect API key provided: {v}",
                   "curl https://api.openai.com/v1/models -H \"Authorization: Bearer {v}\""],
    "anthropic_key": ["ANTHROPIC_API_KEY={v}", "-H \"x-api-key: {v}\"", "anthropic.Anthropic(api_key='{v}')"],
    "huggingface_token": ["HF_TOKEN={v}", "huggingface-cli login --token {v}", "login(token=\"{v}\")"],
    "jwt": ["curl -H \"Authorization: Bearer {v}\" http://api.internal/v1/me", "Set-Cookie: session={v}; HttpOnly",
            "token = \"{v}\"", "jwt.exceptions.ExpiredSignatureError: Signature has expired ({v})"],
    "bearer_token": ["curl -H 'Authorization: Bearer {v}' https://api.acme.io/v2/orders", "> Authorization: Bearer {v}"],
    "private_key": ["$ cat ~/.ssh/id_rsa\n{v}", '{{"type": "service_account", "private_key": "{v}"}}', "TLS_KEY: |\n  {v}"],
    "url_password": ["DATABASE_URL=postgres://app_user:{v}@db.internal:5432/app",
                     "sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) connection to mysql://root:{v}@10.0.3.4/prod failed",
                     "redis.exceptions.ConnectionError: Error connecting to redis://default:{v}@cache:6379/0",
                     "$ git remote -v\norigin https://deploy:{v}@git.acme.io/acme/app.git (fetch)", "amqp://guest:{v}@rabbit:5672//"],
    "env_password": ["$ cat .env\nDB_HOST=localhost\nDB_PASSWORD={v}\nDEBUG=true", "docker run -e POSTGRES_PASSWORD={v} -p 5432:5432 postgres:16",
                     "database:\n  user: app\n  password: {v}", '{{"db": {{"user": "app", "password": "{v}"}}}}',
                     "mysql -u root --password={v} prod", "PGPASSWORD={v} psql -h db -U app"],
    "env_secret": ["$ env\nHOME=/home/runner\nJWT_SECRET={v}\nPATH=/usr/bin", "SECRET_KEY = \"{v}\"", "client_secret: {v}",
                   "api_key = \"{v}\"", "ENCRYPTION_KEY={v}", "webhook_secret = '{v}'", "docker run -e API_TOKEN={v} worker:2.1"],
    "email": ["commit 3f2a9c1\nAuthor: Jane <{v}>\nDate:   Mon Mar 4 10:12:01 2024", "Sent invitation to {v}",
              "id,name,email\n17,Jane,{v}", "git config user.email \"{v}\"", "ValueError: user {v} already exists"],
    "phone": ["name,phone\nJane,{v}", "Call support at {v} if the deploy fails.", "customer.phone = \"{v}\""],
    "card_number": ["order 77: charged card {v} (visa)", '{{"card": "{v}", "exp": "04/27"}}', "card_number,amount\n{v},19.99"],
    "national_id": ["ssn,name\n{v},J. Smith", "customer NI number: {v}", "AssertionError: expected masked id, got '{v}'"],
    "home_dir_user": ["Traceback (most recent call last):\n  File \"/home/{v}/projects/api/app.py\", line 42, in <module>",
                      "$ pwd\n/Users/{v}/src/shop", "error: could not open C:\\Users\\{v}\\AppData\\Local\\Temp\\x.log",
                      "ls: cannot access '/home/{v}/.config/app': No such file or directory"],
}


def positives(seed: int = 0, per_class: int = 100) -> Iterator[Case]:
    rng = random.Random(seed)
    for cls, gen in GENERATORS.items():
        for _ in range(per_class):
            v = gen(rng)
            ctx = rng.choice(CONTEXTS[cls])
            yield Case(cls, ctx.format(v=v, k=_r(rng, UP, 16)), (v,))


_NEGATIVE_TEMPLATES: list[Callable[[random.Random], str]] = [
    lambda r: f"commit {_r(r, HEX, 40)}\nMerge: {_r(r, HEX, 7)} {_r(r, HEX, 7)}",
    lambda r: f"{_r(r, HEX, 7)} fix: handle empty payload ({_r(r, HEX, 40)})",
    lambda r: f"request_id={uuid.UUID(int=r.getrandbits(128))} status=200",
    lambda r: f"Digest: sha256:{_r(r, HEX, 64)}",
    lambda r: f"docker pull python@sha256:{_r(r, HEX, 64)}",
    lambda r: f'"integrity": "sha512-{_r(r, B64, 86)}=="',
    lambda r: f"requests==2.{r.randint(0, 32)}.{r.randint(0, 9)} --hash=sha256:{_r(r, HEX, 64)}",
    lambda r: f"version: {r.randint(0, 9)}.{r.randint(0, 30)}.{r.randint(0, 99)}-rc.{r.randint(1, 5)}",
    lambda r: f"Serving on http://localhost:{r.randint(1024, 65535)}/api/v1 and http://127.0.0.1:{r.randint(1024, 65535)}",
    lambda r: r.choice(['api_key = os.environ["API_KEY"]', "token = os.getenv('GITHUB_TOKEN')", "const key = process.env.OPENAI_API_KEY;",
                        "password = getpass.getpass()", "SECRET_KEY = env('SECRET_KEY')", "token: ${{ secrets.NPM_TOKEN }}",
                        'API_KEY=os.environ["API_KEY"]', "password: ${DB_PASSWORD}", "api_key: <your-api-key>", "OPENAI_API_KEY=sk-...",
                        "token = request.headers.get('Authorization')", "secret_key = settings.SECRET_KEY", "password_hash = bcrypt.hashpw(pw, salt)"]),
    lambda r: r.choice(["tests/test_token_refresh.py::test_expired_token_is_rejected PASSED",
                        "src/auth/password_reset.py:{} in reset_password_token".format(r.randint(1, 300)),
                        "FAILED tests/test_secrets_manager.py::test_rotate_secret_key - AssertionError",
                        "max_tokens=4096, temperature=0.2", "tokenizer = AutoTokenizer.from_pretrained('gpt2')",
                        "PASSWORD_MIN_LENGTH=12", "TOKEN_EXPIRY_SECONDS=3600", "sort_key = lambda item: item.created_at",
                        "primary_key=True, index=True", "def validate_password(password: str) -> bool:",
                        "frontend/src/hooks/useAuthToken.ts", "api_key: str | None = None"]),
    lambda r: f"git@github.com:acme/repo-{r.randint(1, 99)}.git",
    lambda r: "Co-authored-by: dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>",
    lambda r: f"{r.randint(2019, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00Z INFO started",
    lambda r: f"listening on 10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}:{r.randint(1024, 9999)}",
    lambda r: f"md5: {_r(r, HEX, 32)}  dist/app-{r.randint(1, 9)}.{r.randint(0, 9)}.tar.gz",
    lambda r: f"  File \"/home/runner/work/app/app/src/main.py\", line {r.randint(1, 999)}, in handler",
    lambda r: f"@pytest.mark.parametrize('n', [{r.randint(1, 9)}, {r.randint(10, 99)}])\n@router.get('/items/{{item_id}}')",
    lambda r: f"processed {r.randint(10**6, 10**9)} rows in {r.random():.3f}s (batch {r.randint(1, 10**4)})",
    lambda r: f"image@2x.png icon@3x.png logo-{r.randint(1, 9)}@1x.svg",
    lambda r: f"Error: ENOENT: no such file or directory, open '/usr/lib/node_modules/npm/bin/{_r(r, string.ascii_lowercase, 8)}.js'",
    lambda r: f"session_id: {_r(r, HEX, 32)}\ntrace_id: {_r(r, HEX, 32)}",
    lambda r: f"cache key: build-{_r(r, HEX, 40)}-{r.randint(1, 9)}",
    lambda r: f"-----BEGIN PUBLIC KEY-----\n{_r(r, B64, 64)}\n{_r(r, B64, 40)}\n-----END PUBLIC KEY-----",
    lambda r: f"-----BEGIN CERTIFICATE-----\n{_r(r, B64, 64)}\n-----END CERTIFICATE-----",
    lambda r: f"<img src=\"data:image/png;base64,{_r(r, B64, 120)}==\">",
    lambda r: f"\tat com.acme.orders.OrderService.place(OrderService.java:{r.randint(10, 999)})\n\tat java.base/java.lang.Thread.run(Thread.java:833)",
    lambda r: f"+ @types/node@20.{r.randint(0, 19)}.{r.randint(0, 9)}\n+ @babel/core@7.{r.randint(0, 30)}.0\nadded {r.randint(1, 900)} packages in {r.randint(1, 60)}s",
    lambda r: "Use a Bearer token in the Authorization header; see docs/auth.md for the token lifecycle.",
    lambda r: f"elapsed 00:{r.randint(10, 59)}:{r.randint(10, 59)}.{r.randint(100, 999)} ({r.randint(1, 99)}% done, +{r.randint(1, 9)}.{r.randint(0, 9)}%)",
    lambda r: f"order_id={r.choice('1789')}{''.join(r.choice(string.digits) for _ in range(15))} total=42.00",
    lambda r: f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{_r(r, B64, 43)} deploy@ci-runner",
    lambda r: f"$ pip install torch=={r.randint(1, 2)}.{r.randint(0, 9)}.{r.randint(0, 9)}+cpu --index-url https://download.pytorch.org/whl/cpu",
]


def negatives(seed: int = 0, n: int = 2000) -> Iterator[str]:
    rng = random.Random(seed + 1)
    for _ in range(n):
        yield rng.choice(_NEGATIVE_TEMPLATES)(rng)


def as_record(text: str, where: str) -> dict:
    """Place `text` in a normalized agent-trace record: in a tool result, inside tool-call arguments
    (as a JSON value), in the user's message, or in metadata."""
    call_args = json.dumps({"command": text if where == "arguments" else "ls -la"})
    msgs = [{"role": "user", "content": text if where == "user" else "Please check the deployment."},
            {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
                                                               "function": {"name": "bash", "arguments": call_args}}]},
            {"role": "tool", "tool_call_id": "c1", "name": "bash", "content": text if where == "tool" else "ok"},
            {"role": "assistant", "content": "Done: the deployment is healthy."}]
    meta = {"source": "opencode", "task_category": "ops", "outcome": "success", "origin": "corpus:1"}
    if where == "metadata":
        meta["branch"] = text
    return {"id": "", "messages": msgs, "metadata": meta}
