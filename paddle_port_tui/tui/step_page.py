"""One step's page: what it proves and what to write, the live output, and the result.

The page only shows; the app owns the run. A timer drains the step's `LiveRun` into the log and the
table, so leaving the page and coming back loses nothing, and a flood of output is drawn in batches.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import RichLog, Static, TabbedContent, TabPane

from paddle_port_tui.steps import Step
from paddle_port_tui.tui.live import SCREEN_LINES, LiveRun

CHART_HEIGHT = 8


def about(step: Step, threshold: float | None) -> RenderableType:
    """The step's description: proof, the porter's part, keys and rule, pitfalls."""
    text = Text()
    text.append("Proves  ", style="bold")
    text.append(step.proves + "\n\n")
    text.append("You write  ", style="bold")
    text.append(step.porter_writes + "\n\n")
    text.append("Compares  ", style="bold")
    text.append(step.keys + "\n")
    text.append("Passes when  ", style="bold")
    rule = step.rule if threshold is None else f"{step.rule} (threshold here: {threshold:g})"
    text.append(rule + "\n")
    text.append("Script  ", style="bold")
    text.append(step.script + "\n\n")
    text.append("Pitfalls\n", style="bold")
    for pitfall in step.pitfalls:
        text.append(f" • {pitfall}\n")
    return text


def _lint_line(finding: Mapping[str, Any]) -> str:
    """One lint finding as a sentence (the dict is `paddle_port_checks.lint.Finding.to_json()`)."""
    where = f"{finding.get('paddle_layer', '')}.{finding.get('attribute', '')}"
    return (f"{where}: paddle {finding.get('paddle_value')!r}, expected {finding.get('expected_paddle_value')!r} "
            f"— {finding.get('why', '')}")


def divergence_view(result: Mapping[str, Any], width: int) -> RenderableType | None:
    """For the forward step: the first divergence, its lint findings and the per-layer chart (log scale)."""
    from paddle_port_tui.chart import divergent_index, text_chart
    from paddle_port_tui.tables import divergence_table, first_divergence

    divergence = first_divergence(result)
    if not divergence:
        return None
    parts: list[RenderableType] = []
    head = Text("First divergence: ", style="bold red")
    head.append(f"{divergence.get('paddle_layer', '')} ({divergence.get('paddle_type', '')}) vs reference "
                f"{divergence.get('reference_layer', '')} ({divergence.get('reference_type', '')})", style="")
    if divergence.get("verdict"):
        head.append(f"; verdict: {divergence['verdict']}", style="")
    parts.append(head)
    for finding in divergence.get("lint") or []:
        parts.append(Text(f" lint: {_lint_line(finding)}", style="yellow"))
    layers = divergence.get("layers") or []
    if layers:
        parts.append(Text("per-layer mean difference along the depth (log scale):", style="bold"))
        lines = text_chart(layers, max(width - 2, 20), CHART_HEIGHT, divergent_index(divergence))
        parts.append(Text("\n".join(lines)))
    table = divergence_table(result)
    if table is not None:
        parts.append(table)
    return Group(*parts)


def result_view(result: Mapping[str, Any] | None, width: int) -> RenderableType:
    """The result table (failing rows first), then evidence paths, warnings and, for forward, the divergence."""
    from paddle_port_tui.tables import diff_table

    if not result:
        return Text("No result yet: press r to run this step.", style="dim")
    parts: list[RenderableType] = [diff_table(dict(result))]
    warnings = list(result.get("warnings") or [])
    for warning in warnings:
        parts.append(Text(f"⚠ {warning}", style="yellow"))
    divergence = divergence_view(result, width)
    if divergence is not None:
        parts.append(divergence)
    evidence = list(result.get("evidence") or [])
    if evidence:
        parts.append(Text("Evidence: " + ", ".join(str(path) for path in evidence), style="dim"))
    return Group(*parts)


class StepPage(Vertical):
    """The page for one step; the wizard screen redraws it from the app's knowledge of that step."""

    class Ready(Message):
        """The page is composed and can be drawn (pages are built on first visit)."""

        def __init__(self, page: StepPage) -> None:
            super().__init__()
            self.page = page

    def __init__(self, step: Step, threshold: float | None) -> None:
        super().__init__(id=f"page-{step.id}", classes="step-page")
        self.step = step
        self.threshold = threshold
        self._seen_version = -1
        self._shown_run: LiveRun | None = None
        self.ready = False
        self._wanted_tab = "tab-about"

    def compose(self) -> ComposeResult:
        yield Static("", classes="step-title")
        with TabbedContent(initial=self._wanted_tab):
            with TabPane("About", id="tab-about"), VerticalScroll():
                yield Static(about(self.step, self.threshold), classes="about")
            with TabPane("Output", id="tab-output"):
                yield RichLog(max_lines=SCREEN_LINES, wrap=False, markup=False, highlight=False, classes="output")
            with TabPane("Result", id="tab-result"), VerticalScroll():
                yield Static("", classes="result")

    def on_mount(self) -> None:
        self.ready = True
        self.post_message(self.Ready(self))

    def show_tab(self, tab_id: str) -> None:
        self._wanted_tab = tab_id
        if self.ready:
            self.query_one(TabbedContent).active = tab_id

    def set_title(self, status: str, device: str, stage: str = "") -> None:
        from paddle_port_tui.steps import STEPS
        from paddle_port_tui.tables import verdict

        title = Text(f"Step {self.step.number}/{len(STEPS)}  {self.step.title}   ", style="bold")
        title.append_text(verdict(status))
        title.append(f"   device {device}", style="dim")
        if stage:
            title.append(f"   {stage}", style="dim")
        self.query_one(".step-title", Static).update(title)

    def show_result(self, result: Mapping[str, Any] | None) -> None:
        width = self.query_one(TabbedContent).size.width or 80
        self.query_one(".result", Static).update(result_view(result, width))

    def drain(self, live: LiveRun | None) -> bool:
        """Draw what the run produced since last time; True when anything changed."""
        if live is None or (live is self._shown_run and live.version == self._seen_version):
            return False
        log = self.query_one(RichLog)
        if live is not self._shown_run:
            log.clear()
            self._shown_run = live
        lines, skipped = live.take_lines()
        if skipped:
            log.write(Text(f"… {skipped} lines not shown here (all are in the log on disk)", style="dim italic"))
        if lines:
            # Text.from_ansi keeps the child's colours and never interprets [markup] in its output.
            log.write(Text("\n").join(Text.from_ansi(line) for line in lines), scroll_end=True)
        self._seen_version = live.version
        return True
