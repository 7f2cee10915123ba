"""A generator of Claude Code session stores shaped like real ones (tests and bench/yield.py).

Published sessions are long and irregular, unlike the shipped samples: per session, messages
p10/p50/p90/max about 2/8/63/279, characters 2.5k/11k/154k/396k, single tool results p50 ~300,
p90 ~5k, max 200k characters. Claude Code >= 2.1 writes them as a `parentUuid` chain that runs
through attachment / progress / system lines, splits a response with parallel tool calls into
chained assistant lines (the first call's result is a leaf sibling of the second call), and may end
mid-tool. This module writes such stores deterministically and returns the ground truth: what an
ideal pipeline keeps (the live branch of every session whose outcome is kept by default).

Every assistant text carries a unique marker `[s<session>.<step>]`, so a test can tell which turns
reached train/val without trusting the build's own counts. User names appear where real ones do:
home paths, project slugs, temp paths, `ls -l` owner columns, git author lines.
"""
from __future__ import annotations

import json
import math
import random
import uuid as uuidlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

NAMES = ("jdoe", "mkowalski", "tanaka", "priya", "oliver")
PROJECTS = ("shop", "api-gateway", "ml-infra", "dotfiles", "compiler")
WORDS = ("def return self import from class value result error request response config path data items index "
         "user token cache parse load save build test assert raise except async await yield lambda none true "
         "false json yaml http client server handler router model schema field query filter sort limit offset").split()
TOOLS = ("Bash", "Read", "Edit", "Grep", "Glob", "Write", "TodoWrite")


@dataclass
class Truth:
    """What the live branches of kept-outcome sessions hold (the yield's denominator)."""
    sessions: int = 0
    kept_sessions: int = 0
    markers: set[str] = field(default_factory=set)  # assistant turns of kept-outcome live branches
    tool_calls: int = 0  # calls in those turns
    assistant_chars: int = 0  # their text + tool names + JSON arguments (the build's Volume.assistant_chars)
    names: set[str] = field(default_factory=set)  # user names planted in paths
    messages_per_session: list[int] = field(default_factory=list)
    chars_per_session: list[int] = field(default_factory=list)
    tool_result_chars: list[int] = field(default_factory=list)
    files: int = 0
    bytes: int = 0


def _lognormal(rng: random.Random, median: float, p90: float, lo: int, hi: int) -> int:
    sigma = (math.log(p90) - math.log(median)) / 1.2816
    return int(min(hi, max(lo, round(rng.lognormvariate(math.log(median), sigma)))))


class _Text:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def words(self, n: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def blob(self, chars: int, name: str, cwd: str) -> str:
        """Tool output of about `chars` characters: code, logs, `ls -l`, git log."""
        r = self.rng
        kind = r.choice(["code", "log", "ls", "git"])
        lines, size = [], 0
        while size < chars:
            if kind == "code":
                line = f"{'    ' * r.randint(0, 3)}{self.words(r.randint(2, 8))}({r.choice(WORDS)}_{r.randint(0, 99)})"
            elif kind == "log":
                line = (f"2026-06-{r.randint(10, 28)}T{r.randint(10, 23)}:{r.randint(10, 59)}:00Z INFO "
                        f"{r.choice(WORDS)}.{r.choice(WORDS)} took {r.random() * 100:.1f}ms")
            elif kind == "ls":
                line = (f"-rw-r--r--  1 {name}  staff  {r.randint(100, 99999):>6} Jun {r.randint(1, 28):>2} 10:{r.randint(10, 59)} "
                        f"{r.choice(WORDS)}_{r.randint(0, 99)}.py")
            else:
                line = (f"commit {r.getrandbits(160):040x}\nAuthor: {name} <{name}@users.noreply.github.com>\n\n"
                        f"    {self.words(r.randint(3, 9))}\n")
            lines.append(line)
            size += len(line) + 1
        text = "\n".join(lines)[:chars]
        return text if r.random() > 0.1 else f"{cwd}/{r.choice(WORDS)}.py:{r.randint(1, 300)}: {text}"


class ClaudeStore:
    """Writes sessions into `<root>/projects/<slug>/<uuid>.jsonl` (+ sub-agent files)."""

    def __init__(self, root: Path, seed: int = 0) -> None:
        self.root = root
        self.rng = random.Random(seed)
        self.text = _Text(self.rng)
        self.truth = Truth()

    def _uuid(self) -> str:
        return str(uuidlib.UUID(int=self.rng.getrandbits(128), version=4))

    def session(self, index: int, forced_tool_chars: int = 0) -> Path:
        r, t = self.rng, self.truth
        name = r.choice(NAMES)
        proj = r.choice(PROJECTS)
        style = r.random()
        if style < 0.6:
            cwd = f"/Users/{name}/dev/{proj}"
            slug = cwd.replace("/", "-")
        elif style < 0.85:
            cwd = f"/home/{name}/src/{proj}"
            slug = cwd.replace("/", "-")
        else:
            cwd = f"C:\\Users\\{name}\\Documents\\{proj}"
            slug = cwd.replace(":", "-").replace("\\", "-")
        t.names.add(name)
        sid = self._uuid()
        base = {"sessionId": sid, "cwd": cwd, "version": r.choice(["2.1.104", "2.1.121", "2.0.2"]), "isSidechain": False,
                "userType": "external", "gitBranch": "main"}
        rows: list[dict[str, Any]] = [{"type": "permission-mode", "permissionMode": "default", "sessionId": sid}]
        clock = [0]

        def stamp() -> str:
            clock[0] += r.randint(1, 30)
            return f"2026-06-{1 + index % 28:02d}T{8 + clock[0] // 3600 % 12:02d}:{clock[0] // 60 % 60:02d}:{clock[0] % 60:02d}.000Z"

        def node(kind: str, parent: str | None, **extra: Any) -> str:
            u = self._uuid()
            rows.append({**base, "type": kind, "uuid": u, "parentUuid": parent, "timestamp": stamp(), **extra})
            return u

        def assistant(parent: str, mid: str, block: dict[str, Any], stop: str | None) -> str:
            return node("assistant", parent, message={"id": mid, "role": "assistant", "model": "claude-sonnet-4-5",
                                                        "content": [block], "stop_reason": stop,
                                                        "usage": {"input_tokens": 100, "output_tokens": 20}})

        def user(parent: str | None, content: Any, **extra: Any) -> str:
            return node("user", parent, message={"role": "user", "content": content}, **extra)

        target = _lognormal(r, 8, 80, 2, 279)
        end = r.choices(["final", "mid_tool_call", "mid_tool_result", "interrupt"], [0.7, 0.1, 0.12, 0.08])[0]
        rewind = r.random() < 0.05 and target > 12
        live_markers: list[str] = []
        live_calls = live_chars = 0
        msgs = chars = 0
        parent: str | None = None
        step = 0
        tool_sizes: list[int] = []

        def new_task(parent: str | None) -> str:
            nonlocal msgs, chars
            prompt = (f"{self.text.words(r.randint(20, 400))} in {cwd}/{r.choice(WORDS)}.py "
                      f"(see /tmp/claude/{slug}/{r.choice(WORDS)}.log)")
            msgs += 1
            chars += len(prompt)
            u = user(parent, prompt)
            return node("attachment", u, attachment={"type": "todo", "content": []}) if r.random() < 0.3 else u

        parent = new_task(None)
        while True:
            remaining = target - msgs
            last_of_task = remaining <= 2 or r.random() < 0.12
            if remaining <= 1 or (last_of_task and end == "final" and remaining <= 2):
                break
            step += 1
            mid = f"msg_{self.rng.getrandbits(48):012x}"
            marker = f"[s{index}.{step}]"
            if last_of_task and remaining > 3:  # a final answer for this task, then the next prompt
                text = f"{marker} Done: {self.text.words(r.randint(30, 400))}"
                parent = assistant(parent, mid, {"type": "text", "text": text}, "end_turn")
                live_markers.append(marker)
                live_chars += len(text)
                msgs += 1
                chars += len(text)
                parent = node("system", parent, subtype="turn_duration", durationMs=r.randint(500, 90000))
                if r.random() < 0.5:
                    parent = node("system", parent, subtype="stop_hook_summary", hookCount=1)
                if rewind:  # a re-prompt abandoned in favour of the next, later sibling
                    rewind = False
                    u = user(parent, f"Actually, {self.text.words(8)}")
                    assistant(u, f"msg_{self.rng.getrandbits(48):012x}",
                              {"type": "text", "text": f"[s{index}.abandoned] {self.text.words(12)}"}, "end_turn")
                parent = new_task(parent)
                continue
            n_calls = r.choices([1, 2, 3], [0.7, 0.2, 0.1])[0]
            if r.random() < 0.6:
                text = f"{marker} {self.text.words(r.randint(10, 250))}"
            else:
                text = marker
            cur = assistant(parent, mid, {"type": "text", "text": text}, None)
            live_chars += len(text)
            calls = []
            for j in range(n_calls):
                name_t = r.choice(TOOLS)
                args = ({"command": f"cd {cwd} && pytest -q tests/test_{r.choice(WORDS)}.py"} if name_t == "Bash" else
                        {"file_path": f"{cwd}/{r.choice(WORDS)}.py"} if name_t in ("Read", "Write", "Edit") else
                        {"pattern": r.choice(WORDS), "path": "."})
                if name_t == "Write":
                    args["content"] = self.text.blob(r.randint(200, 3000), name, cwd)
                cid = f"toolu_{self.rng.getrandbits(64):016x}"
                cur = assistant(cur, mid, {"type": "tool_use", "id": cid, "name": name_t, "input": args},
                                "tool_use" if j == n_calls - 1 else None)
                calls.append((cid, cur))
                live_chars += len(name_t) + len(json.dumps(args, ensure_ascii=False))
                chars += len(json.dumps(args))
            live_markers.append(marker)
            live_calls += n_calls
            msgs += 1
            chars += len(text)
            if end == "mid_tool_call" and target - msgs <= n_calls:
                break  # the session ends before any result was written
            results = []
            for j, (cid, call_node) in enumerate(calls):
                size = forced_tool_chars if forced_tool_chars and step == 1 and j == 0 else _lognormal(r, 306, 5000, 20, 200_000)
                tool_sizes.append(size)
                content = self.text.blob(size, name, cwd)
                results.append(user(call_node, [{"type": "tool_result", "tool_use_id": cid, "content": content,
                                                 "is_error": False}], toolUseResult={"stdout": content[:50]}))
                msgs += 1
                chars += size
            parent = results[-1]  # the chain goes on from the last call's result; the others are leaf siblings
            if r.random() < 0.25:
                parent = node("progress", parent, data={"type": "hook_progress", "hookName": "PostToolUse"})
            if end == "mid_tool_result" and target - msgs <= 1:
                break
        if end == "final":
            step += 1
            marker = f"[s{index}.{step}]"
            text = f"{marker} Finished: {self.text.words(r.randint(30, 400))}"
            parent = assistant(parent, f"msg_{self.rng.getrandbits(48):012x}", {"type": "text", "text": text}, "end_turn")
            live_markers.append(marker)
            live_chars += len(text)
            msgs += 1
            chars += len(text)
            node("system", parent, subtype="turn_duration", durationMs=1000)
        elif end == "interrupt":
            user(parent, [{"type": "text", "text": "[Request interrupted by user]"}])
        rows.append({"type": "last-prompt", "lastPrompt": "…", "sessionId": sid})
        path = self.root / "projects" / slug / f"{sid}.jsonl"
        self._write(path, rows)
        t.sessions += 1
        t.messages_per_session.append(msgs)
        t.chars_per_session.append(chars)
        t.tool_result_chars += tool_sizes
        if end != "interrupt":  # interrupted sessions are `aborted`: dropped by default, not in the truth
            t.kept_sessions += 1
            t.markers.update(live_markers)
            t.tool_calls += live_calls
            t.assistant_chars += live_chars
        return path

    def subagent(self, index: int, parent_path: Path) -> Path:
        """A sub-agent transcript under `<session>/subagents/`: starts at its prompt."""
        r = self.rng
        sid = parent_path.stem
        cwd = next(json.loads(line)["cwd"] for line in parent_path.read_text().splitlines() if '"cwd"' in line)
        base = {"sessionId": sid, "cwd": cwd, "version": "2.1.121", "isSidechain": True, "userType": "external",
                "agentId": f"a{index:04x}"}
        u1, a1, r1, a2 = (self._uuid() for _ in range(4))
        marker1, marker2 = f"[s{index}.sub1]", f"[s{index}.sub2]"
        rows = [
            {**base, "type": "user", "uuid": u1, "parentUuid": None, "timestamp": "2026-06-02T10:00:00.000Z",
             "message": {"role": "user", "content": f"Search the repo for {r.choice(WORDS)} usages."}},
            {**base, "type": "assistant", "uuid": a1, "parentUuid": u1, "timestamp": "2026-06-02T10:00:01.000Z",
             "message": {"id": "msg_sub1", "role": "assistant", "model": "claude-haiku-4-5", "stop_reason": "tool_use",
                         "content": [{"type": "text", "text": marker1},
                                     {"type": "tool_use", "id": "toolu_sub1", "name": "Grep", "input": {"pattern": "x"}}]}},
            {**base, "type": "user", "uuid": r1, "parentUuid": a1, "timestamp": "2026-06-02T10:00:02.000Z",
             "message": {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_sub1",
                                                      "content": self.text.blob(400, "x", cwd)}]}},
            {**base, "type": "assistant", "uuid": a2, "parentUuid": r1, "timestamp": "2026-06-02T10:00:03.000Z",
             "message": {"id": "msg_sub2", "role": "assistant", "model": "claude-haiku-4-5", "stop_reason": "end_turn",
                         "content": [{"type": "text", "text": f"{marker2} {self.text.words(30)}"}]}},
        ]
        path = parent_path.parent / sid / "subagents" / f"agent-a{index:04x}.jsonl"
        self._write(path, rows)
        t = self.truth
        t.sessions += 1
        t.kept_sessions += 1
        t.markers.update({marker1, marker2})
        t.tool_calls += 1
        t.assistant_chars += len(marker1) + len("Grep") + len('{"pattern": "x"}') + len(rows[3]["message"]["content"][0]["text"])
        return path

    def _write(self, path: Path, rows: list[dict[str, Any]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        path.write_text(data, encoding="utf-8")
        self.truth.files += 1
        self.truth.bytes += len(data.encode("utf-8"))


def write_claude_store(root: Path, sessions: int, seed: int = 0, subagents: int = 2) -> Truth:
    """`sessions` sessions (the first with a 200k-character tool result) and a few sub-agent files."""
    store = ClaudeStore(root, seed)
    paths = [store.session(i, forced_tool_chars=200_000 if i == 0 else 0) for i in range(sessions)]
    for k in range(subagents):
        store.subagent(sessions + k, paths[k % len(paths)])
    return store.truth


def percentiles(values: list[int], qs: tuple[int, ...] = (10, 50, 90, 100)) -> list[int]:
    s = sorted(values)
    return [s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))] for q in qs] if s else []
