"""The Textual app: seven panes behind tabs, keyboard first, laid out for an 80x24 terminal.

    tracelora tui [--project DIR]

Keys: 1-7 (or F1-F7) switch panes, Tab moves focus, each pane's keys are in the footer,
x cancels the pane's running command, q quits (running commands are cancelled).
"""
from __future__ import annotations

import argparse
from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Header, TabbedContent, TabPane

from tracelora.ops.tui.panes import AuthPane, DataPane, JobsPane, MetricsPane, ModelPane, Pane, PipelinePane, TrainPane
from tracelora.ops.tui.widgets import RunPanel

PANES: list[tuple[str, str, type[Pane]]] = [
    ("auth", "1 Auth", AuthPane), ("model", "2 Model", ModelPane), ("data", "3 Data", DataPane),
    ("train", "4 Train/Eval", TrainPane), ("pipeline", "5 Pipeline", PipelinePane),
    ("metrics", "6 Metrics", MetricsPane), ("jobs", "7 Jobs", JobsPane),
]


class HubApp(App[None]):
    TITLE = "agent-trace-lora"
    SUB_TITLE = "pipeline + Hugging Face Hub"
    CSS = """
    TabbedContent, TabPane { height: 1fr; }
    TabPane { padding: 0; }
    Button, Button.-style-default, Button:focus, Button:hover {
        height: 1; min-width: 6; border: none; margin: 0 1 0 0; padding: 0 1;
    }
    Button:focus { text-style: bold reverse; }
    Input { height: 1; border: none; padding: 0 1; }
    Input:focus { border: none; background: $boost; }
    """
    BINDINGS = [Binding("q", "quit", "Quit"),
                *[Binding(str(i), f"show('{pid}')", title, show=False) for i, (pid, title, _) in enumerate(PANES, 1)],
                *[Binding(f"f{i}", f"show('{pid}')", title, show=False) for i, (pid, title, _) in enumerate(PANES, 1)]]

    def __init__(self, project: Path | None = None) -> None:
        super().__init__()
        self.project = (project or Path.cwd()).resolve()

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="auth"):
            for pane_id, title, cls in PANES:
                with TabPane(title, id=pane_id):
                    yield cls(self.project, id=f"{pane_id}-pane")
        yield Footer()

    def action_show(self, pane_id: str) -> None:
        self.query_one(TabbedContent).active = pane_id
        self.pane(pane_id).focus()
        self.call_after_refresh(self.pane(pane_id).focus)  # after the tab switch settles

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.call_after_refresh(self.pane(event.pane.id).focus)

    def on_mount(self) -> None:
        self.call_after_refresh(self.pane("auth").focus)

    def pane(self, pane_id: str) -> Pane:
        return self.query_one(f"#{pane_id}-pane", Pane)

    async def action_quit(self) -> None:
        for panel in self.query(RunPanel):
            panel.cancel()
            for side in panel.side_runs:
                side.cancel()
        self.exit()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="tracelora tui", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--project", default=".", help="project root (where dvc.yaml and params.yaml are)")
    args = ap.parse_args(argv)
    project = Path(args.project)
    if not (project / "params.yaml").is_file():
        print(f"error: {project}: no params.yaml (run from the project root or pass --project)")
        return 2
    HubApp(project).run()
    return 0
