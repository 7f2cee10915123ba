"""A real HTTP server on 127.0.0.1 speaking the subset of the Hugging Face Hub and Jobs APIs that
`tracelora.ops.hub` uses, so the CLI and the TUI are tested through `huggingface_hub`'s own client code
(no internet, no mocks of the client).

Implemented: whoami, repo create/info/tree, file resolve (HEAD/GET), preupload + NDJSON commit,
jobs create/list/inspect/cancel, the logs stream as Server-Sent Events (as the real API sends it)
and the hardware list. Tokens map to (user, role); a "read" token gets 403 on writes. Tests can
queue failures (`fail(path_regex, status, times)`) to exercise 401/403/404/429 handling.

Jobs are simulated: a job prints `job_lines(command)` one event at a time, then COMPLETED
(ERROR when the command mentions FAIL); a command with `sleep` runs until cancelled.
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

HARDWARE = [
    {"name": "cpu-basic", "prettyName": "CPU Basic", "cpu": "2 vCPU", "ram": "16 GB", "ephemeralStorage": "50 GB",
     "accelerator": None, "unitCostMicroUSD": 167, "unitCostUSD": 0.000167, "unitLabel": "minute"},
    {"name": "t4-small", "prettyName": "Nvidia T4 - small", "cpu": "4 vCPU", "ram": "15 GB", "ephemeralStorage": "50 GB",
     "accelerator": {"type": "gpu", "model": "T4", "quantity": "1", "vram": "16 GB", "manufacturer": "Nvidia"},
     "unitCostMicroUSD": 6667, "unitCostUSD": 0.006667, "unitLabel": "minute"},
    {"name": "a10g-small", "prettyName": "Nvidia A10G - small", "cpu": "4 vCPU", "ram": "15 GB", "ephemeralStorage": "110 GB",
     "accelerator": {"type": "gpu", "model": "A10G", "quantity": "1", "vram": "24 GB", "manufacturer": "Nvidia"},
     "unitCostMicroUSD": 16667, "unitCostUSD": 0.016667, "unitLabel": "minute"},
]
TERMINAL = ("COMPLETED", "CANCELED", "ERROR", "DELETED")
LINE_INTERVAL_S = 0.05  # simulated job output rate
IDLE_CLOSE_S = 0.4  # the logs stream closes after this long without news (the client re-opens it)


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def job_lines(command: list[str]) -> list[str]:
    """What a simulated job prints: `echo` prints its arguments, anything else prints its argv."""
    if command[:1] == ["echo"]:
        return [" ".join(command[1:])]
    return [f"running: {' '.join(command)[:200]}", "step 1/2", "step 2/2", "done"]


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    owner: str
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)
    private: bool = False

    @property
    def sha(self) -> str:
        h = hashlib.sha1(self.repo_id.encode())
        for c in self.commits:
            h.update(c["oid"].encode())
        return h.hexdigest()


@dataclass
class Job:
    spec: dict[str, Any]
    owner: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:24])
    created: str = field(default_factory=now_iso)
    started: float = field(default_factory=time.monotonic)
    events: list[dict[str, str]] = field(default_factory=list)
    stage: str = "RUNNING"
    message: str | None = None

    def command(self) -> list[str]:
        return list(self.spec.get("command") or [])

    def advance(self) -> None:
        """Emit the lines due by now; finish when the script is over (unless it sleeps)."""
        if self.stage in TERMINAL:
            return
        cmd = self.command()
        lines = [f"===== Job started at {self.created} =====", *job_lines(cmd)]
        elapsed = time.monotonic() - self.started
        forever = any("sleep" in c for c in cmd)
        due = int(elapsed / LINE_INTERVAL_S) + 1
        while len(self.events) < min(due, len(lines)):
            self.events.append({"timestamp": now_iso(), "data": lines[len(self.events)]})
        if forever:
            ticks = len(self.events) - len(lines)
            while len(self.events) < due and len(self.events) >= len(lines):
                self.events.append({"timestamp": now_iso(), "data": f"tick {ticks + 1}"})
                ticks += 1
        elif len(self.events) >= len(lines):
            failed = any("FAIL" in c for c in cmd)
            self.stage = "ERROR" if failed else "COMPLETED"
            self.message = "exit code 1" if failed else None

    def info(self) -> dict[str, Any]:
        self.advance()
        spec = self.spec
        out = {"id": self.id, "createdAt": self.created, "owner": {"id": "u-" + self.owner, "name": self.owner, "type": "user"},
               "command": spec.get("command"), "arguments": spec.get("arguments", []),
               "environment": spec.get("environment", {}),
               "secrets": sorted((spec.get("secrets") or {}).keys()),  # the API never echoes secret values
               "flavor": spec.get("flavor"), "labels": spec.get("labels"),
               "status": {"stage": self.stage, "message": self.message}}
        if "dockerImage" in spec:
            out["dockerImage"] = spec["dockerImage"]
        if "spaceId" in spec:
            out["spaceId"] = spec["spaceId"]
        return out


class HubState:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.tokens: dict[str, tuple[str, str]] = {}
        self.repos: dict[tuple[str, str], Repo] = {}
        self.jobs: dict[str, Job] = {}
        self.failures: list[list[Any]] = []  # [regex, status, remaining, retry_after]
        self.requests: list[tuple[str, str, str]] = []  # (method, path, authorization user or "")
        self.cards: list[dict[str, Any]] = []  # validated README front matter, in order


class FakeHub:
    """Owns the server thread. Use as a context manager; `url` is what HF_ENDPOINT gets."""

    def __init__(self) -> None:
        self.state = HubState()
        state = self.state

        class Handler(_Handler):
            pass

        Handler.state = state
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> "FakeHub":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- test setup helpers ---
    def add_token(self, token: str, user: str, role: str = "write") -> None:
        self.state.tokens[token] = (user, role)

    def add_repo(self, repo_type: str, repo_id: str, files: dict[str, bytes | str], private: bool = False) -> Repo:
        repo = Repo(repo_type, repo_id, repo_id.split("/")[0], private=private)
        for path, data in files.items():
            repo.files[path] = data.encode() if isinstance(data, str) else data
        repo.commits.append({"oid": hashlib.sha1(repr(sorted(repo.files)).encode()).hexdigest(), "summary": "initial"})
        self.state.repos[(repo_type, repo_id)] = repo
        return repo

    def repo(self, repo_type: str, repo_id: str) -> Repo | None:
        return self.state.repos.get((repo_type, repo_id))

    def fail(self, path_regex: str, status: int, times: int = 1, retry_after: int | None = 0) -> None:
        """The next `times` requests whose path matches answer `status` (429 carries Retry-After)."""
        self.state.failures.append([re.compile(path_regex), status, times, retry_after])


_TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


class _Handler(BaseHTTPRequestHandler):
    state: HubState
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt: str, *args: Any) -> None:  # keep test output clean
        pass

    # --- plumbing ---
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None, head: bool = False) -> None:
        data = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        self.send_response(status)
        if body is not None and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _error(self, status: int, message: str, code: str | None = None, head: bool = False) -> None:
        headers = {"X-Error-Message": message}
        if code:
            headers["X-Error-Code"] = code
        self._send(status, {"error": message}, headers, head=head)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _user(self) -> tuple[str, str] | None:
        auth = self.headers.get("Authorization", "")
        token = auth[7:] if auth.startswith("Bearer ") else ""
        return self.state.tokens.get(token)

    def _injected(self, path: str, head: bool) -> bool:
        with self.state.lock:
            for f in self.state.failures:
                if f[2] > 0 and f[0].search(path):
                    f[2] -= 1
                    headers = {"Retry-After": str(f[3])} if f[1] == 429 and f[3] is not None else {}
                    msg = {429: "Too many requests", 401: "Invalid credentials", 403: "Forbidden",
                           404: "Not found"}.get(f[1], "error")
                    self._send(f[1], {"error": msg}, {**headers, "X-Error-Message": msg}, head=head)
                    return True
        return False

    def _dispatch(self, method: str) -> None:
        url = urlparse(self.path)
        path = unquote(url.path)
        query = parse_qs(url.query)
        user = self._user()
        self.state.requests.append((method, path, user[0] if user else ""))
        head = method == "HEAD"
        if self._injected(path, head):
            return
        for pattern, handler in ROUTES:
            if pattern[0] == method or (pattern[0] == "GET" and head):
                m = re.fullmatch(pattern[1], path)
                if m:
                    handler(self, m, query, user, head)
                    return
        self._error(404, f"no route {method} {path}", head=head)

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # --- auth ---
    def whoami(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        if user is None:
            return self._error(401, "Invalid credentials in Authorization header")
        self._send(200, {"type": "user", "id": "u-" + user[0], "name": user[0], "fullname": user[0].title(),
                         "orgs": [], "auth": {"type": "access_token",
                                              "accessToken": {"displayName": "test", "role": user[1]}}})

    # --- repos ---
    def _repo(self, kind: str, repo_id: str, user: tuple[str, str] | None, head: bool = False) -> Repo | None:
        repo = self.state.repos.get((_TYPES.get(kind, kind), repo_id))
        if repo is None or (repo.private and (user is None or user[0] != repo.owner)):
            status = 401 if user is None else 404
            self._error(status, "Repository Not Found", "RepoNotFound", head=head)
            return None
        return repo

    def repo_info(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        repo = self._repo(m["kind"], m["repo"], user)
        if repo is None:
            return
        if m["rev"] not in (None, "main", repo.sha):
            return self._error(404, f"Invalid rev id: {m['rev']}", "RevisionNotFound")
        self._send(200, {"id": repo.repo_id, "_id": "r-" + repo.repo_id, "author": repo.owner, "sha": repo.sha,
                         "private": repo.private, "disabled": False, "gated": False, "downloads": 0, "likes": 0,
                         "tags": [], "lastModified": now_iso(), "createdAt": now_iso(),
                         "siblings": [{"rfilename": p} for p in sorted(repo.files)]})

    def tree(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        repo = self._repo(m["kind"], m["repo"], user)
        if repo is None:
            return
        prefix = (m["path"] or "").strip("/")
        entries = [{"type": "file", "oid": hashlib.sha1(data).hexdigest(), "size": len(data), "path": p}
                   for p, data in sorted(repo.files.items()) if not prefix or p.startswith(prefix + "/")]
        self._send(200, entries)

    def resolve(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        kind = m["kind"] or "models"
        repo = self._repo(kind, m["repo"], user, head=head)
        if repo is None:
            return
        data = repo.files.get(m["file"])
        if data is None:
            return self._error(404, "Entry not found", "EntryNotFound", head=head)
        self._send(200, data, {"X-Repo-Commit": repo.sha, "ETag": f'"{hashlib.sha1(data).hexdigest()}"',
                               "Content-Type": "application/octet-stream"}, head=head)

    def create_repo(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        body = json.loads(self._body() or b"{}")
        if user is None:
            return self._error(401, "Invalid credentials in Authorization header")
        if user[1] != "write":
            return self._error(403, "You don't have the rights to create a repo (read token)")
        org, name = body.get("organization") or user[0], body["name"]
        repo_id = f"{org}/{name}"
        kind = body.get("type") or "model"
        if (kind, repo_id) in self.state.repos:
            return self._error(409, "You already created this repo")
        self.state.repos[(kind, repo_id)] = Repo(kind, repo_id, org, private=bool(body.get("private")))
        self._send(200, {"url": self._repo_url(kind, repo_id), "name": repo_id})

    def _repo_url(self, kind: str, repo_id: str) -> str:
        prefix = "" if kind == "model" else f"{kind}s/"
        return f"http://{self.headers.get('Host')}/{prefix}{repo_id}"

    def preupload(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        body = json.loads(self._body() or b"{}")
        if self._write_denied(m, user):
            return
        self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                                   for f in body.get("files", [])], "commitOid": self.state.repos[
                                       (_TYPES[m["kind"]], m["repo"])].sha})

    def _write_denied(self, m: re.Match, user: tuple[str, str] | None) -> bool:
        repo = self._repo(m["kind"], m["repo"], user)
        if repo is None:
            return True
        if user[1] != "write" or user[0] != repo.owner:
            self._error(403, "You don't have write access to this repo")
            return True
        return False

    def commit(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        raw = self._body()
        if self._write_denied(m, user):
            return
        repo = self.state.repos[(_TYPES[m["kind"]], m["repo"])]
        summary, changed = "", []
        for line in raw.decode().splitlines():
            if not line.strip():
                continue
            item = json.loads(line)
            if item["key"] == "header":
                summary = item["value"].get("summary", "")
            elif item["key"] == "file":
                v = item["value"]
                repo.files[v["path"]] = base64.b64decode(v["content"]) if v.get("encoding") == "base64" else v["content"].encode()
                changed.append(v["path"])
            elif item["key"] == "deletedFile":
                repo.files.pop(item["value"]["path"], None)
            else:
                return self._error(400, f"unsupported commit operation {item['key']}")
        oid = hashlib.sha1(f"{repo.sha}{summary}{changed}".encode()).hexdigest()
        repo.commits.append({"oid": oid, "summary": summary, "files": changed})
        self._send(200, {"success": True, "commitOid": repo.sha, "commitUrl": f"{self._repo_url(repo.repo_type, repo.repo_id)}/commit/{repo.sha}"})

    def validate_yaml(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        """The Hub checks a README's front matter on commit: it must be a YAML mapping."""
        import yaml

        content = json.loads(self._body() or b"{}").get("content", "")
        parts = content.split("---\n")
        try:
            meta = yaml.safe_load(parts[1]) if content.startswith("---\n") and len(parts) > 2 else {}
        except yaml.YAMLError as exc:
            return self._send(400, {"errors": [{"message": f"invalid YAML: {exc}"}], "warnings": []})
        if not isinstance(meta, dict):
            return self._send(400, {"errors": [{"message": "metadata must be a mapping"}], "warnings": []})
        self.state.cards.append(meta)
        self._send(200, {"errors": [], "warnings": []})

    # --- jobs ---
    def _job(self, m: re.Match, user: tuple[str, str] | None) -> Job | None:
        if user is None:
            self._error(401, "Invalid credentials in Authorization header")
            return None
        job = self.state.jobs.get(m["id"])
        if job is None or job.owner != m["ns"] or user[0] != m["ns"]:
            self._error(404, f"Job {m['id']} not found")
            return None
        return job

    def hardware(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        self._send(200, HARDWARE)

    def job_create(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        spec = json.loads(self._body() or b"{}")
        if user is None:
            return self._error(401, "Invalid credentials in Authorization header")
        if user[0] != m["ns"] or user[1] != "write":
            return self._error(403, f"You can't run jobs in namespace {m['ns']}")
        if spec.get("flavor") not in {h["name"] for h in HARDWARE}:
            return self._error(400, f"Invalid flavor {spec.get('flavor')!r}")
        if not spec.get("command") or not (spec.get("dockerImage") or spec.get("spaceId")):
            return self._error(400, "command and dockerImage are required")
        job = Job(spec, m["ns"])
        with self.state.lock:
            self.state.jobs[job.id] = job
        self._send(200, job.info())

    def job_list(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        if user is None:
            return self._error(401, "Invalid credentials in Authorization header")
        jobs = [j.info() for j in self.state.jobs.values() if j.owner == m["ns"]]
        stages = q.get("stage")
        if stages:
            jobs = [j for j in jobs if j["status"]["stage"] in stages]
        self._send(200, jobs)

    def job_inspect(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        job = self._job(m, user)
        if job is not None:
            self._send(200, job.info())

    def job_cancel(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        self._body()
        job = self._job(m, user)
        if job is None:
            return
        with self.state.lock:
            job.advance()
            if job.stage not in TERMINAL:
                job.stage, job.message = "CANCELED", "cancelled by user"
        self._send(200, None)

    def job_logs(self, m: re.Match, q: dict, user: tuple[str, str] | None, head: bool) -> None:
        """SSE like the real API: `data: {"timestamp", "data"}` events; the stream stays open while the
        job runs and closes after IDLE_CLOSE_S without news or when the job ends."""
        job = self._job(m, user)
        if job is None:
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Connection", "close")
        self.end_headers()

        def chunk(text: str) -> None:
            data = text.encode()
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()

        sent, idle_since = 0, time.monotonic()
        try:
            while True:
                with self.state.lock:
                    job.advance()
                    events, stage = list(job.events), job.stage
                for ev in events[sent:]:
                    chunk(f"data: {json.dumps(ev)}\n\n")
                    idle_since = time.monotonic()
                sent = len(events)
                if stage in TERMINAL or time.monotonic() - idle_since > IDLE_CLOSE_S:
                    break
                time.sleep(0.02)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True


_KIND = r"(?P<kind>models|datasets|spaces)"
_REPO = r"(?P<repo>[^/]+/[^/]+)"
ROUTES: list[tuple[tuple[str, str], Any]] = [
    (("GET", r"/api/whoami-v2"), _Handler.whoami),
    (("GET", r"/api/jobs/hardware"), _Handler.hardware),
    (("POST", r"/api/repos/create"), _Handler.create_repo),
    (("POST", r"/api/validate-yaml"), _Handler.validate_yaml),
    (("GET", rf"/api/{_KIND}/{_REPO}(?:/revision/(?P<rev>[^/]+))?"), _Handler.repo_info),
    (("GET", rf"/api/{_KIND}/{_REPO}/tree/(?P<rev>[^/]+)(?P<path>/.*)?"), _Handler.tree),
    (("POST", rf"/api/{_KIND}/{_REPO}/preupload/(?P<rev>[^/]+)"), _Handler.preupload),
    (("POST", rf"/api/{_KIND}/{_REPO}/commit/(?P<rev>[^/]+)"), _Handler.commit),
    (("GET", r"/(?:(?P<kind>datasets|spaces)/)?" + _REPO + r"/resolve/(?P<rev>[^/]+)/(?P<file>.+)"), _Handler.resolve),
    (("POST", r"/api/jobs/(?P<ns>[^/]+)"), _Handler.job_create),
    (("GET", r"/api/jobs/(?P<ns>[^/]+)"), _Handler.job_list),
    (("GET", r"/api/jobs/(?P<ns>[^/]+)/(?P<id>[^/]+)"), _Handler.job_inspect),
    (("POST", r"/api/jobs/(?P<ns>[^/]+)/(?P<id>[^/]+)/cancel"), _Handler.job_cancel),
    (("GET", r"/api/jobs/(?P<ns>[^/]+)/(?P<id>[^/]+)/logs"), _Handler.job_logs),
]
