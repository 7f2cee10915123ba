"""Run one command as a child process and stream its output line by line, with cancel.

The child gets a pseudo-terminal (POSIX) so tqdm and DVC draw their live progress; carriage-return
updates arrive as `on_progress(text)`, finished lines as `on_line(text)`. A command that needs
stdin (the token for `auth login`) uses pipes instead. The child runs in its own session, so
cancel stops it and everything it started (dvc -> python -> ...), and nothing else.
"""
from __future__ import annotations

import codecs
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

LINE_RESET = re.compile(r"\x1b\[[0-9]*[AKG]")  # cursor up / erase line / column 1: the line is being redrawn
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[()][A-Z0-9]|\x1b[=>]")
TERM_GRACE_S = 3.0


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The current environment with this interpreter's bin dir first, so `python`/`dvc` in dvc.yaml
    commands are the project's venv."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.setdefault("DVC_NO_ANALYTICS", "1")
    env.setdefault("COLUMNS", "100")
    env.update(extra or {})
    return env


class LineSplitter:
    """Bytes in; complete lines and the latest carriage-return progress text out (ANSI removed)."""

    def __init__(self, on_line: Callable[[str], None], on_progress: Callable[[str], None]) -> None:
        self.on_line, self.on_progress = on_line, on_progress
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.partial = ""

    def feed(self, data: bytes) -> None:
        text = ANSI.sub("", LINE_RESET.sub("\r", self.partial + self.decoder.decode(data)))
        *lines, self.partial = text.split("\n")
        for line in lines:
            final = line.rstrip("\r").split("\r")[-1]
            if final.strip():
                self.on_line(final.rstrip())
        if "\r" in self.partial:  # a line being redrawn: show its latest state, keep only that
            body = self.partial.rstrip("\r")
            segments = body.split("\r")
            visible = [seg for seg in segments if seg.strip()]
            if visible:
                self.on_progress(visible[-1].strip())
            self.partial = segments[-1] + self.partial[len(body):]

    def close(self) -> None:
        rest = ANSI.sub("", LINE_RESET.sub("\r", self.partial + self.decoder.decode(b"", final=True)))
        if rest.strip():
            self.on_line(rest.split("\r")[-1].rstrip())
        self.partial = ""


class ProcessRun:
    """One child process; `start()` returns at once, callbacks run on the reader thread."""

    def __init__(self, argv: list[str], cwd: Path, on_line: Callable[[str], None],
                 on_progress: Callable[[str], None] = lambda s: None,
                 on_exit: Callable[[int, bool], None] = lambda rc, cancelled: None,
                 env: dict[str, str] | None = None, stdin_text: str | None = None) -> None:
        self.argv, self.cwd, self.env, self.stdin_text = argv, cwd, env or child_env(), stdin_text
        self.on_line, self.on_progress, self.on_exit = on_line, on_progress, on_exit
        self.proc: subprocess.Popen[bytes] | None = None
        self.cancelled = False
        self.returncode: int | None = None
        self.started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._done = threading.Event()

    @property
    def running(self) -> bool:
        return not self._done.is_set()

    def start(self) -> "ProcessRun":
        self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> int | None:
        self._done.wait(timeout)
        return self.returncode

    def cancel(self) -> None:
        """SIGTERM to the child's own process group, SIGKILL after a grace period."""
        self.cancelled = True
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except (ProcessLookupError, PermissionError):
            return

        def reap() -> None:
            try:
                proc.wait(TERM_GRACE_S)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

        threading.Thread(target=reap, daemon=True).start()

    def _spawn_pty(self) -> int:
        import fcntl
        import pty
        import struct
        import termios

        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))
        self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=slave,
                                     stderr=slave, start_new_session=True, close_fds=True)
        os.close(slave)
        return master

    def _run(self) -> None:
        splitter = LineSplitter(self.on_line, self.on_progress)
        rc = -1
        try:
            if self.stdin_text is None and os.name == "posix":
                fd = self._spawn_pty()
            else:
                self.proc = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.PIPE,
                                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                             start_new_session=os.name == "posix")
                assert self.proc.stdin is not None and self.proc.stdout is not None
                self.proc.stdin.write((self.stdin_text or "").encode())
                self.proc.stdin.close()
                fd = os.dup(self.proc.stdout.fileno())
                self.proc.stdout.close()
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # EIO: the pty's other side closed
                    break
                if not data:
                    break
                splitter.feed(data)
            os.close(fd)
            splitter.close()
            rc = self.proc.wait()
        except OSError as exc:
            self.on_line(f"error: cannot start {self.argv[0]}: {exc.strerror or exc}")
        finally:
            self.returncode = rc
            self._done.set()
            self.on_exit(rc, self.cancelled)
