"""The checklist: every step with its verdict (findings included), decisive numbers, device and evidence,
and the exports."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from paddle_port_checks.catalogue import STEPS

if TYPE_CHECKING:
    from paddle_port_tui.tui.host import WizardHost

SCREENSHOT_NAME = "checklist.svg"


def evidence_lines(app: WizardHost) -> RenderableType:
    """Where each step's evidence lies, relative to the workspace (what a reviewer opens): only files that
    are on disk, and none of an earlier run's when the last one wrote no result."""
    lines = []
    for step in STEPS:
        paths = app.step_row(step.id).evidence
        line = Text(f"{step.number:>2} {step.id:<8} ", style="bold")
        line.append(", ".join(paths) if paths else "no evidence yet", style="" if paths else "dim")
        lines.append(line)
    return Group(Text("Evidence", style="bold underline"), *lines)


def findings_lines(app: WizardHost) -> RenderableType | None:
    """Each step's lint findings with their fix and file:line: part of its verdict ("passed · 1 warning");
    None when no step has any."""
    from paddle_port_tui.tables import findings_view

    views = []
    for step in STEPS:
        view = findings_view(app.step_row(step.id).findings, heading=f"{step.number} {step.id}: lint findings")
        if view is not None:
            views.append(view)
    return Group(Text("Findings", style="bold underline"), *views) if views else None


class ChecklistScreen(Screen[None]):
    """The end of the flow: what passed, on what, with which numbers; export for a reviewer."""

    BINDINGS = [
        Binding("x", "export", "Export report"),
        Binding("p", "screenshot", "Screenshot"),
        Binding("escape", "back", "Back"),
    ]

    @property
    def wizard(self) -> WizardHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="checklist-body"):
            yield Static("", id="checklist-table")
            yield Static("", id="checklist-findings")
            yield Static("", id="checklist-tipc")
            yield Static("", id="checklist-evidence")
            yield Static("", id="checklist-exports")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_table()

    def on_screen_resume(self) -> None:
        self.refresh_table()

    def run_finished(self, step_id: str) -> None:
        """A run ended while the checklist is open: its row changes."""
        self.refresh_table()

    def refresh_table(self) -> None:
        from paddle_port_tui.tables import checklist_table

        app = self.wizard
        self.query_one("#checklist-table", Static).update(checklist_table(app.ws, app.state))
        findings = findings_lines(app)
        shown = self.query_one("#checklist-findings", Static)
        shown.display = findings is not None
        shown.update(findings or "")
        from paddle_port_tui.tipc_table import tipc_summary

        tipc = tipc_summary(app.step_row("tipc").result)  # the delivery test's commands, as the report has them
        shown = self.query_one("#checklist-tipc", Static)
        shown.display = tipc is not None
        shown.update(tipc or "")
        self.query_one("#checklist-evidence", Static).update(evidence_lines(app))

    def action_back(self) -> None:
        self.app.pop_screen()

    def action_export(self) -> list[Path]:
        """Markdown and HTML, the same content as `paddle-port report`."""
        from paddle_port_tui.report import export

        app = self.wizard
        state = app.state
        written = [export(app.ws, state, fmt) for fmt in ("md", "html")]
        self._announce("Report written", written)
        return written

    def action_screenshot(self) -> Path:
        app = self.wizard
        app.ws.result_dir.mkdir(parents=True, exist_ok=True)
        path = Path(app.save_screenshot(SCREENSHOT_NAME, str(app.ws.result_dir)))
        self._announce("Screenshot saved", [path])
        return path

    def _announce(self, what: str, paths: list[Path]) -> None:
        shown = [self.wizard.relative(path) for path in paths]
        self.query_one("#checklist-exports", Static).update(Text(f"{what}: {', '.join(shown)}", style="green"))
        self.notify(f"{what}: {', '.join(shown)}")

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            ("Export report", "Write result/report.md and result/report.html", self.action_export),
            ("Save screenshot", f"Save this screen as result/{SCREENSHOT_NAME}", self.action_screenshot),
            ("Back to the steps", "Return to the step pages", self.action_back),
        ]
