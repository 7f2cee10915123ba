"""The TUI driven headless with Textual's pilot at 80x24, against a real tmp git+DVC project and
tests/fake_hub.py: every pane reachable by keys, login/logout, a job submitted, followed,
cancelled and inspected, a dataset imported and built from the UI, a model pulled, and a running
`dvc repro train` cancelled (its whole process group gone)."""
from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

from conftest import make_project
from fake_hub import FakeHub
from test_hub_cli import CHAT_ROWS, TOKEN, jsonl

from tracelora.ops.tui.app import PANES, HubApp
from tracelora.ops.tui.widgets import RunPanel


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    with FakeHub() as h:
        h.add_token(TOKEN, "alice", "write")
        for key in [k for k in os.environ if k.startswith(("HF_", "HUGGING"))]:
            monkeypatch.delenv(key)
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
        monkeypatch.setenv("HF_TOKEN", TOKEN)
        yield h


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_project(tmp_path / "proj")


def drive(project: Path, scenario: Callable[[HubApp, Any], Awaitable[None]]) -> None:
    async def main() -> None:
        app = HubApp(project)
        async with app.run_test(size=(80, 24)) as pilot:
            auth = app.pane("auth").panel  # the start-up `auth status` settles first
            await until(pilot, lambda: auth.last_rc is not None, "start-up auth status")
            await pilot.pause(0.2)
            await scenario(app, pilot)
            await app.action_quit()

    asyncio.run(main())


async def switch(pilot: Any, key: str) -> None:
    await pilot.press(key)
    await pilot.pause(0.1)


async def until(pilot: Any, cond: Callable[[], bool], what: str, timeout: float = 40) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def finished(pilot: Any, panel: RunPanel, timeout: float = 40) -> list[str]:
    """Wait for the panel's current command (and side runs) to end; the panel's log lines."""
    await until(pilot, lambda: panel.last_rc is not None and not any(r.running for r in panel.side_runs),
                f"{panel.cmd_title} to finish", timeout)
    await pilot.pause(0.05)
    return panel.lines


def group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def all_output(app: HubApp) -> str:
    return "\n".join(line for panel in app.query(RunPanel) for line in panel.lines)


def test_every_pane_reachable_by_keys_and_fits_80x24(hub: FakeHub, project: Path) -> None:
    async def scenario(app: HubApp, pilot: Any) -> None:
        tabs = app.query_one("TabbedContent")
        auth = app.pane("auth")
        await until(pilot, lambda: "as alice" in str(auth.query_one("#auth-status").render()), "auth status")
        for i, (pane_id, _, _) in enumerate(PANES, 1):
            for key in (str(i), f"f{i}"):
                await pilot.press(key)
                await pilot.pause(0.05)
                assert tabs.active == pane_id and app.focused is app.pane(pane_id), key
            for widget in app.pane(pane_id).query("Button, Input, DataTable, Log"):  # on screen at 80x24
                region = widget.region
                assert region.width > 0 and region.height > 0 and region.bottom <= 23, (pane_id, widget)
        gate = str(app.pane("metrics").query_one("#gate-view").render())
        assert "no gate decision yet" in gate
        await switch(pilot, "4")
        await pilot.press("x")  # nothing running: a notice, no crash
        await switch(pilot, "2")
        await pilot.press("p")  # pull without a repo id: a notice, nothing started
        assert app.pane("model").panel.last_rc is None

    drive(project, scenario)


def test_login_and_logout_from_the_ui(hub: FakeHub, project: Path, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_TOKEN")

    async def scenario(app: HubApp, pilot: Any) -> None:
        auth = app.pane("auth")
        status = lambda: str(auth.query_one("#auth-status").render())  # noqa: E731
        await until(pilot, lambda: status().startswith("not logged in"), "not logged in")
        await pilot.press("tab")
        assert app.focused is auth.query_one("#auth-token")
        await pilot.press(*TOKEN, "enter")  # typed, then Enter = Login
        await until(pilot, lambda: "from token store" in status(), "login")
        assert "as alice" in status() and auth.query_one("#auth-token").value == ""
        assert (tmp_path / "hf_home" / "token").read_text().strip() == TOKEN
        await pilot.press("escape", "o")  # back to the pane, logout
        await until(pilot, lambda: status().startswith("not logged in"), "logout")
        assert TOKEN not in all_output(app)

    drive(project, scenario)


def test_job_submit_follow_cancel_inspect(hub: FakeHub, project: Path) -> None:
    async def scenario(app: HubApp, pilot: Any) -> None:
        await switch(pilot, "7")
        jobs = app.pane("jobs")
        jobs.query_one("#job-command").value = "sleep 600"
        jobs.query_one("#job-flavor").value = "t4-small"
        await pilot.press("n")  # submit, then the list refreshes itself
        await until(pilot, lambda: len(jobs.jobs) == 1, "the submitted job in the list")
        job_id = jobs.jobs[0]["id"]
        assert hub.state.jobs[job_id].spec["flavor"] == "t4-small" and jobs.jobs[0]["stage"] == "RUNNING"

        await pilot.press("l")  # follow its logs: lines stream in while it runs
        await until(pilot, lambda: "tick 2" in jobs.panel.lines, "streamed log lines")
        assert jobs.panel.running
        await pilot.press("c")  # cancel the job; the log stream ends by itself
        lines = await finished(pilot, jobs.panel)
        assert f"job {job_id} finished: CANCELED (cancelled by user)" in lines
        assert f"> job {job_id}: CANCELED" in lines  # the side run's output, in the same log
        assert hub.state.jobs[job_id].stage == "CANCELED"
        await until(pilot, lambda: jobs.jobs and jobs.jobs[0]["stage"] == "CANCELED" and not jobs.panel.running,
                    "refreshed list")
        table = jobs.query_one("#jobs-table")
        assert table.get_row_at(0)[-1] == "CANCELED"

        await pilot.press("i")
        await finished(pilot, jobs.panel)
        inspected = json.loads("\n".join(jobs.panel.last_output))
        assert inspected["id"] == job_id and inspected["stage"] == "CANCELED" and inspected["secrets"] == ["HF_TOKEN"]
        assert TOKEN not in all_output(app)

    drive(project, scenario)


def test_import_and_build_from_the_ui(hub: FakeHub, project: Path) -> None:
    hub.add_repo("dataset", "alice/agent-chats", {"train.jsonl": jsonl(CHAT_ROWS)})

    async def scenario(app: HubApp, pilot: Any) -> None:
        await switch(pilot, "3")
        data = app.pane("data")
        data.query_one("#data-repo").value = "alice/agent-chats"
        await pilot.press("i")
        lines = await finished(pilot, data.panel)
        assert data.panel.last_rc == 0 and any("4 records, 2 quarantined" in ln for ln in lines), lines
        await pilot.press("b")  # dvc repro build, output streamed
        lines = await finished(pilot, data.panel, timeout=90)
        assert data.panel.last_rc == 0, lines
        assert "Running stage 'build':" in lines and "== build ==" in lines, "\n".join(lines)
        await switch(pilot, "6")
        await pilot.press("r")
        table = app.pane("metrics").query_one("#metrics-table")
        rows = [table.get_row_at(i) for i in range(table.row_count)]
        assert ["dataset.json", "redaction_ok", "True"] in [list(r) for r in rows]

    drive(project, scenario)
    manifest = json.loads((project / "data/dataset/dataset_manifest.json").read_text())
    hf = manifest["counts"]["by_source"]["hf:alice/agent-chats"]
    assert hf["train"] + hf["val"] == 4
    assert (project / "dvc.lock").is_file()


def test_pull_model_and_cancel_training(hub: FakeHub, project: Path) -> None:
    hub.add_repo("model", "alice/tiny", {"config.json": '{"model_type": "llama"}', "model.safetensors": b"\0" * 8})

    async def scenario(app: HubApp, pilot: Any) -> None:
        await switch(pilot, "2")
        model = app.pane("model")
        model.query_one("#model-repo").value = "alice/tiny"
        await pilot.press("p")
        lines = await finished(pilot, model.panel)
        assert model.panel.last_rc == 0 and any("model.base: models/hub/alice__tiny" in ln for ln in lines), lines
        assert (project / "models/hub/alice__tiny/config.json").is_file()

        await switch(pilot, "4")
        await pilot.press("t")  # dvc repro train: build, base_model, train ...
        train = app.pane("train")
        await until(pilot, lambda: any(ln.startswith("Running stage") for ln in train.panel.lines), "a stage to start")
        run = train.panel.proc_run
        await pilot.press("x")
        await finished(pilot, train.panel)
        assert "-- cancelled --" in train.panel.lines
        assert str(train.query_one(".run-status").render()).startswith("cancelled:")
        await until(pilot, lambda: group_gone(run.proc.pid), "the process group to exit", timeout=15)

    drive(project, scenario)


def test_line_splitter_handles_progress_redraws_in_any_chunking() -> None:
    from tracelora.ops.tui.runner import LineSplitter

    data = (b"Collecting |0.00 [00:00, ?file/s]\r" + b" " * 20 + b"\r\r\nRunning stage 'build':\r\n> python\n"
            b"50%|##  |\r100%|####|\r\n\x1b[2K\x1b[32mok\x1b[0m\n\xe2\x96\x88 tail")
    for size in (1, 3, 7, len(data)):  # a multi-byte character or an escape split across reads
        lines: list[str] = []
        progress: list[str] = []
        splitter = LineSplitter(lines.append, progress.append)
        for i in range(0, len(data), size):
            splitter.feed(data[i:i + size])
        splitter.close()
        assert lines == ["Running stage 'build':", "> python", "100%|####|", "ok", "\u2588 tail"], size
        if size < len(data):  # a redraw seen before its line ends is shown as live progress
            assert progress and progress[0].startswith("Collecting")
