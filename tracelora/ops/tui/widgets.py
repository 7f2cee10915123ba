"""RunPanel: a status line, a live progress line and a scrolling log for one child process at a
time, with cancel. Each pane owns one, so a long `dvc repro` keeps streaming while you look at
another pane."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Log, Static

from tracelora.ops.tui.commands import display
from tracelora.ops.tui.runner import ProcessRun

Done = Callable[[int, list[str]], None]


class _Call(Message):
    """A callback from a reader thread, run on the UI thread in arrival order."""

    def __init__(self, fn: Callable[..., object], args: tuple[object, ...]) -> None:
        super().__init__()
        self.fn, self.args = fn, args


class RunPanel(Vertical):
    DEFAULT_CSS = """
    RunPanel { height: 1fr; min-height: 5; }
    RunPanel > .run-status { height: 1; color: $text-muted; }
    RunPanel > .run-progress { height: 1; color: $accent; }
    RunPanel > Log { height: 1fr; border: round $panel; }
    """

    def __init__(self, project: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.project = project
        self.proc_run: ProcessRun | None = None
        self.lines: list[str] = []  # everything written to the log, in order
        self.last_output: list[str] = []  # the last finished command's own output lines
        self.last_rc: int | None = None
        self.cmd_title = ""
        self.side_runs: list[ProcessRun] = []

    def compose(self) -> ComposeResult:
        yield Static("idle", classes="run-status")
        yield Static("", classes="run-progress")
        yield Log(max_lines=5000, auto_scroll=True)

    @property
    def running(self) -> bool:
        return self.proc_run is not None and self.proc_run.running

    def _status(self, text: str) -> None:
        self.query_one(".run-status", Static).update(text)

    def _progress(self, text: str) -> None:
        self.query_one(".run-progress", Static).update(text[:200])

    def write(self, line: str) -> None:
        self.lines.append(line)
        self.query_one(Log).write_line(line)

    def start(self, argv: list[str], title: str = "", on_done: Done | None = None, stdin_text: str | None = None,
              quiet: bool = False) -> bool:
        """Run argv in the project dir; False (and a note) if this panel is already busy.
        quiet: keep the output out of the log (the caller renders it, e.g. JSON for a table)."""
        if self.running:
            self.app.notify("busy: cancel the running command first (x)", severity="warning")
            return False
        self.cmd_title = title or display(argv)
        self.last_rc = None
        captured: list[str] = []
        started = time.monotonic()
        if not quiet:
            self.write(f"$ {display(argv)}")
        self._status(f"running: {self.cmd_title}")
        self._progress("")

        def line(text: str) -> None:
            captured.append(text)
            if not quiet:
                self._post(self.write, text)

        def progress(text: str) -> None:
            self._post(self._progress, text)

        def finished(rc: int, cancelled: bool) -> None:
            self._post(self._finished, rc, cancelled, time.monotonic() - started, captured, on_done)

        self.proc_run = ProcessRun(argv, self.project, line, progress, finished, stdin_text=stdin_text).start()
        return True

    def _finished(self, rc: int, cancelled: bool, seconds: float, captured: list[str], on_done: Done | None) -> None:
        self.last_rc, self.last_output = rc, captured
        state = "cancelled" if cancelled else ("done" if rc == 0 else f"failed (exit {rc})")
        self._status(f"{state}: {self.cmd_title} ({seconds:.1f}s)")
        self._progress("")
        if cancelled:
            self.write("-- cancelled --")
        if on_done is not None:
            on_done(rc, captured)

    def _post(self, fn: Callable[..., object], *args: object) -> None:
        """From a reader thread to the UI thread without blocking the reader (post_message is
        thread-safe); dropped once the panel is gone."""
        self.post_message(_Call(fn, args))

    def on__call(self, message: _Call) -> None:
        message.stop()
        message.fn(*message.args)

    def side_run(self, argv: list[str], on_done: Done | None = None) -> ProcessRun:
        """A short command alongside the main one (e.g. cancel a job whose logs are streaming);
        its lines go to the same log, prefixed."""
        captured: list[str] = []
        self.write(f"$ {display(argv)}")

        def line(text: str) -> None:
            captured.append(text)
            self._post(self.write, f"> {text}")

        def finished(rc: int, cancelled: bool) -> None:
            if on_done is not None:
                self._post(on_done, rc, captured)

        self.side_runs.append(ProcessRun(argv, self.project, line, on_exit=finished).start())
        return self.side_runs[-1]

    def cancel(self) -> bool:
        if not self.running:
            return False
        assert self.proc_run is not None
        self.proc_run.cancel()
        self._status(f"cancelling: {self.cmd_title}")
        return True
