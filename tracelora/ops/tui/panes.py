"""The TUI's panes, one job each. Buttons and keys map onto the same commands a user would type
(tracelora.ops.tui.commands); output streams into the pane's RunPanel."""
from __future__ import annotations

import json
from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, DataTable, Input, Static

from tracelora.ops.tui import commands
from tracelora.ops.tui.metrics import gate_text, metrics_rows
from tracelora.ops.tui.widgets import RunPanel


class Pane(Vertical):
    """Common plumbing: the project dir, one RunPanel, x cancels it."""

    BINDINGS = [Binding("x", "cancel", "Cancel run"), Binding("escape", "focus_pane", "Leave field", show=False)]
    can_focus = True  # focused on pane switch, so its keys work before Tab moves into a field
    DEFAULT_CSS = """
    Pane { height: 1fr; padding: 0 1; }
    Pane Horizontal { height: auto; }
    Pane Input { height: 1; border: none; width: 1fr; margin: 0 1 0 0; padding: 0 1; background: $boost; }
    Pane .hint { height: 1; color: $text-muted; }
    """

    def __init__(self, project: Path, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.project = project

    @property
    def panel(self) -> RunPanel:
        return self.query_one(RunPanel)

    def action_focus_pane(self) -> None:
        self.focus()

    def action_cancel(self) -> None:
        if not self.panel.cancel():
            self.app.notify("nothing running")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        action = (event.button.id or "").replace("-", "_")
        handler = getattr(self, f"do_{action}", None)
        if handler is not None:
            event.stop()
            handler()

    def value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()


class AuthPane(Pane):
    BINDINGS = [Binding("s", "status", "Status"), Binding("l", "login", "Login"), Binding("o", "logout", "Logout")]

    def compose(self) -> ComposeResult:
        yield Static("checking...", id="auth-status")
        with Horizontal():
            yield Input(placeholder="paste a token (hidden), then Enter", password=True, id="auth-token")
            yield Button("Login", id="auth-login")
            yield Button("Status", id="auth-refresh")
            yield Button("Logout", id="auth-logout")
        yield Static("Token: HF_TOKEN or huggingface_hub's store; never shown or logged.", classes="hint")
        yield RunPanel(self.project)

    def on_mount(self) -> None:
        self.do_auth_refresh()

    def _show(self, rc: int, lines: list[str]) -> None:
        status = next((ln for ln in reversed(lines) if ln.startswith(("logged in", "not logged in", "error:"))), "")
        self.query_one("#auth-status", Static).update(status or f"exit {rc}")

    def do_auth_refresh(self) -> None:
        self.panel.start(commands.hub("auth", "status"), on_done=self._show)

    def do_auth_login(self) -> None:
        token_input = self.query_one("#auth-token", Input)
        token = token_input.value.strip()
        if not token:
            self.app.notify("paste a token first", severity="warning")
            return
        token_input.value = ""  # the token leaves the widget tree at once
        self.panel.start(commands.hub("auth", "login", "--token-stdin"), title="auth login", stdin_text=token + "\n",
                         on_done=lambda rc, lines: self.do_auth_refresh())

    def do_auth_logout(self) -> None:
        self.panel.start(commands.hub("auth", "logout"), on_done=lambda rc, lines: self.do_auth_refresh())

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "auth-token":
            self.do_auth_login()

    action_status, action_login, action_logout = do_auth_refresh, do_auth_login, do_auth_logout


class ModelPane(Pane):
    BINDINGS = [Binding("p", "pull", "Pull")]

    def compose(self) -> ComposeResult:
        yield Static("Pull a model repo into a dir that model.base can point at.", classes="hint")
        with Horizontal():
            yield Input(placeholder="OWNER/NAME", id="model-repo")
            yield Input(placeholder="revision (main)", id="model-revision")
        with Horizontal():
            yield Input(placeholder="out dir (models/hub/OWNER__NAME)", id="model-out")
            yield Button("Pull", id="model-pull")
        yield RunPanel(self.project)

    def do_model_pull(self) -> None:
        repo = self.value("model-repo")
        if not repo:
            self.app.notify("enter a model repo id", severity="warning")
            return
        self.panel.start(commands.pull_model(repo, self.value("model-revision"), self.value("model-out")))

    action_pull = do_model_pull


class DataPane(Pane):
    BINDINGS = [Binding("i", "import", "Import"), Binding("b", "build", "Build")]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Input(placeholder="dataset OWNER/NAME", id="data-repo")
            yield Input(placeholder="split(s)", id="data-split")
            yield Button("Import", id="data-import")
        with Horizontal():
            yield Button("Build dataset", id="data-build")
            yield Button("Cancel", id="data-cancel")
            yield Static("build = dvc repro build (or tracelora build)", classes="hint")
        yield RunPanel(self.project)

    def do_data_import(self) -> None:
        repo = self.value("data-repo")
        if not repo:
            self.app.notify("enter a dataset repo id", severity="warning")
            return
        self.panel.start(commands.import_dataset(repo, self.value("data-split")))

    def do_data_build(self) -> None:
        try:
            argv = commands.build(self.project)
        except ValueError as exc:  # params.yaml invalid: one line, as the stages print it
            self.panel.write(f"error: {exc}")
            return
        self.panel.start(argv)

    def do_data_cancel(self) -> None:
        self.action_cancel()

    action_import, action_build = do_data_import, do_data_build


class TrainPane(Pane):
    BINDINGS = [Binding("t", "train", "Train"), Binding("e", "evaluate", "Evaluate")]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Button("Train", id="train-run")
            yield Button("Evaluate", id="train-eval")
            yield Button("Gate", id="train-gate")
            yield Button("Cancel", id="train-cancel")
        yield Static("dvc repro train / evaluate / gate: upstream stages re-run only if changed.", classes="hint")
        yield RunPanel(self.project)

    def _repro(self, stage: str) -> None:
        if not commands.is_dvc_project(self.project):
            self.panel.write(f"error: {self.project}: not a DVC project (no .dvc/ or dvc.yaml)")
            return
        self.panel.start(commands.dvc("repro", stage))

    def do_train_run(self) -> None:
        self._repro("train")

    def do_train_eval(self) -> None:
        self._repro("evaluate")

    def do_train_gate(self) -> None:
        self._repro("gate")

    def do_train_cancel(self) -> None:
        self.action_cancel()

    action_train, action_evaluate = do_train_run, do_train_eval


class PipelinePane(Pane):
    BINDINGS = [Binding("r", "repro", "dvc repro"), Binding("s", "status", "dvc status")]

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Button("dvc repro", id="pipe-repro")
            yield Button("dvc status", id="pipe-status")
            yield Button("dvc dag", id="pipe-dag")
            yield Button("Cancel", id="pipe-cancel")
        yield RunPanel(self.project)

    def _dvc(self, *args: str) -> None:
        if not commands.is_dvc_project(self.project):
            self.panel.write(f"error: {self.project}: not a DVC project (no .dvc/ or dvc.yaml)")
            return
        self.panel.start(commands.dvc(*args))

    def do_pipe_repro(self) -> None:
        self._dvc("repro")

    def do_pipe_status(self) -> None:
        self._dvc("status")

    def do_pipe_dag(self) -> None:
        self._dvc("dag")

    def do_pipe_cancel(self) -> None:
        self.action_cancel()

    action_repro, action_status = do_pipe_repro, do_pipe_status


class MetricsPane(Pane):
    BINDINGS = [Binding("r", "refresh", "Refresh")]
    DEFAULT_CSS = """
    MetricsPane DataTable { height: 1fr; }
    MetricsPane #gate-view { height: auto; max-height: 11; border: round $panel; }
    """

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield Button("Refresh", id="metrics-refresh")
            yield Static("the metrics files dvc.yaml declares; r refreshes", classes="hint")
        yield DataTable(id="metrics-table", zebra_stripes=True, cursor_type="row")
        yield Static("", id="gate-view")

    @property
    def panel(self) -> RunPanel:  # no child processes here
        raise AttributeError("MetricsPane runs nothing")

    def action_cancel(self) -> None:
        self.app.notify("nothing running")

    def on_mount(self) -> None:
        table = self.query_one("#metrics-table", DataTable)
        table.add_columns("file", "metric", "value")
        self.do_metrics_refresh()

    def do_metrics_refresh(self) -> None:
        table = self.query_one("#metrics-table", DataTable)
        table.clear()
        for file, key, value in metrics_rows(self.project):
            table.add_row(file.removeprefix("metrics/"), key, value)
        self.query_one("#gate-view", Static).update(gate_text(self.project))

    action_refresh = do_metrics_refresh


class JobsPane(Pane):
    BINDINGS = [Binding("r", "refresh", "Refresh"), Binding("n", "submit", "Submit"), Binding("l", "logs", "Logs"),
                Binding("i", "inspect", "Inspect"), Binding("c", "cancel_job", "Cancel job")]
    DEFAULT_CSS = """
    JobsPane DataTable { height: 6; }
    """

    def __init__(self, project: Path, **kwargs: object) -> None:
        super().__init__(project, **kwargs)
        self.jobs: list[dict] = []

    def compose(self) -> ComposeResult:
        yield DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        with Horizontal():
            yield Input(value="python:3.12", placeholder="image", id="job-image")
            yield Input(value="python -c print(1)", placeholder="command", id="job-command")
            yield Input(value="cpu-basic", placeholder="flavor", id="job-flavor")
        with Horizontal():
            yield Button("Submit", id="job-submit")
            yield Button("Refresh", id="job-refresh")
            yield Button("Logs", id="job-logs")
            yield Button("Inspect", id="job-inspect")
            yield Button("Cancel job", id="job-cancel")
            yield Button("Stop", id="job-stop")
        yield RunPanel(self.project)

    def on_mount(self) -> None:
        self.query_one("#jobs-table", DataTable).add_columns("id", "image", "command", "status")

    def selected(self) -> str | None:
        table = self.query_one("#jobs-table", DataTable)
        if not self.jobs or table.cursor_row is None or table.cursor_row >= len(self.jobs):
            self.app.notify("no job selected: refresh (r) and pick one", severity="warning")
            return None
        return self.jobs[table.cursor_row]["id"]

    def _fill(self, rc: int, lines: list[str]) -> None:
        if rc != 0:
            for line in lines[-3:]:
                self.panel.write(line)
            return
        try:
            self.jobs = json.loads(next(ln for ln in reversed(lines) if ln.startswith("[")))
        except (StopIteration, ValueError):
            self.panel.write("error: unexpected output from jobs ps")
            return
        table = self.query_one("#jobs-table", DataTable)
        table.clear()
        for job in self.jobs:
            table.add_row(job["id"][:12], str(job.get("image") or "")[:20], " ".join(job.get("command") or [])[:24],
                          job["stage"])
        self.panel.write(f"{len(self.jobs)} job(s)")

    def do_job_refresh(self) -> None:
        self.panel.start(commands.hub("jobs", "ps", "-a", "--json"), title="jobs ps", on_done=self._fill, quiet=True)

    def do_job_submit(self) -> None:
        command = self.value("job-command")
        if not command:
            self.app.notify("enter a command", severity="warning")
            return
        self.panel.start(commands.job_run(self.value("job-image"), command, self.value("job-flavor")),
                         on_done=lambda rc, lines: self.call_after_refresh(self.do_job_refresh))

    def do_job_logs(self) -> None:
        job_id = self.selected()
        if job_id:
            self.panel.start(commands.hub("jobs", "logs", job_id, "--follow"),
                             on_done=lambda rc, lines: self.call_after_refresh(self.do_job_refresh))

    def do_job_inspect(self) -> None:
        job_id = self.selected()
        if job_id:
            self.panel.start(commands.hub("jobs", "inspect", job_id))

    def do_job_cancel(self) -> None:
        job_id = self.selected()
        if job_id is None:
            return
        # a side run: a `logs --follow` in the panel keeps streaming and ends by itself on CANCELED
        self.panel.side_run(commands.hub("jobs", "cancel", job_id), on_done=self._refresh_if_idle)

    def _refresh_if_idle(self, rc: int, lines: list[str]) -> None:
        if not self.panel.running:  # else the running `logs --follow` refreshes when it ends
            self.do_job_refresh()

    def do_job_stop(self) -> None:
        self.action_cancel()

    action_refresh, action_submit, action_logs = do_job_refresh, do_job_submit, do_job_logs
    action_inspect, action_cancel_job = do_job_inspect, do_job_cancel
