"""One step's page: what it proves and what to write, the live output, and the result.

The page only shows; the app owns the run. A timer drains the step's `LiveRun` into the log and the
table, so leaving the page and coming back loses nothing, and a flood of output is drawn in batches.
Only the shown tab's pane is built: the others are composed when first shown (the run's undrawn lines
wait in the `LiveRun`, the result in the page), which keeps them out of the time to the first frame.
"""

from __future__ import annotations

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, RichLog, Static

from paddle_port_checks.catalogue import Step
from paddle_port_checks.schema import StepResult
from paddle_port_tui.tui.live import SCREEN_LINES, LiveRun
from paddle_port_tui.tui.result_views import result_view
from paddle_port_tui.tui.tab_strip import TabStrip

# Characters of one output line drawn on screen (the log on disk has all): a megabyte-long line would
# otherwise be measured and rendered in full on every frame it is written in.
SCREEN_LINE_CHARS = 1000
TABS = [("tab-about", "About"), ("tab-output", "Output"), ("tab-result", "Result")]


def output_text(lines: list[str]) -> Text:
    """Child output as one Text. Colours are kept and [markup] is never interpreted; the ANSI decoder
    (which also honours carriage returns) runs only on batches that need it: it is ten times slower."""
    joined = "\n".join(line if len(line) <= SCREEN_LINE_CHARS else line[:SCREEN_LINE_CHARS] + "…" for line in lines)
    if "\x1b" in joined or "\r" in joined:
        return Text.from_ansi(joined)
    return Text(joined)


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
    rule = step.pass_rule if threshold is None else f"{step.pass_rule} (threshold here: {threshold:g})"
    text.append(rule + "\n")
    text.append("Script  ", style="bold")
    text.append(step.script + "\n\n")
    text.append("Pitfalls\n", style="bold")
    for pitfall in step.pitfalls:
        text.append(f" • {pitfall}\n")
    return text


class StepPage(Vertical):
    """The page for one step; the wizard screen redraws it from the app's knowledge of that step."""

    class Ready(Message):
        """The page is composed and can be drawn (pages are built on first visit)."""

        def __init__(self, page: StepPage) -> None:
            super().__init__()
            self.page = page

    def __init__(self, step: Step, threshold: float | None, tab: str = "tab-about") -> None:
        super().__init__(id=f"page-{step.id}", classes="step-page")
        self.step = step
        self.threshold = threshold
        self._seen_lines = -1
        self._shown_run: LiveRun | None = None
        self._seen_info: tuple[LiveRun | None, int] | None = None
        self._result: StepResult | None = None
        self._history = ""  # "last passed 12-01 06:52" under a run that did not pass
        self._result_width = 0
        self.ready = False
        self.stale = False  # the title and table must be rebuilt when next shown (the state changed meanwhile)
        self._wanted_tab = tab
        self._log: RichLog | None = None  # the Output and Result panes, once built
        self._result_view: Static | None = None

    def compose(self) -> ComposeResult:
        yield Static("", classes="step-title")
        yield TabStrip(TABS, self._wanted_tab)
        with ContentSwitcher(initial=self._wanted_tab, classes="panes"):
            yield self._pane(self._wanted_tab)

    def _pane(self, tab_id: str) -> Widget:
        """The content of one tab, built with what the page knows now."""
        if tab_id == "tab-about":
            return VerticalScroll(Static(about(self.step, self.threshold), classes="about"), id=tab_id, classes="pane")
        if tab_id == "tab-output":
            self._log = RichLog(
                max_lines=SCREEN_LINES, wrap=False, markup=False, highlight=False, id=tab_id, classes="output pane"
            )
            return self._log
        self._result_width = self._content_width()
        self._result_view = Static(result_view(self._result, self._result_width, self._history), classes="result")
        return VerticalScroll(self._result_view, id=tab_id, classes="pane")

    def on_mount(self) -> None:
        self.ready = True
        self.post_message(self.Ready(self))

    def show_tab(self, tab_id: str) -> None:
        """Show a tab, building its pane on first show (before the page is mounted: the one composed)."""
        self._wanted_tab = tab_id
        if not self.ready:
            return
        self.query_one(TabStrip).active = tab_id
        switcher = self.query_one(ContentSwitcher)
        try:
            switcher.get_child_by_id(tab_id)
        except NoMatches:
            pane = self._pane(tab_id)
            pane.display = False  # the switcher shows it next: never a frame with two panes
            switcher.mount(pane)  # registered at once, so the switcher finds it right away
            self.post_message(self.Ready(self))  # the screen fills the new pane (lines waiting in the run)
        switcher.current = tab_id

    def on_tab_strip_chosen(self, event: TabStrip.Chosen) -> None:
        self.show_tab(event.tab_id)

    def set_title(self, status: str, device: str, stage: str = "", findings: str = "") -> None:
        from paddle_port_checks.catalogue import STEPS
        from paddle_port_tui.tables import verdict

        title = Text(f"Step {self.step.number}/{len(STEPS)}  {self.step.title}   ", style="bold")
        title.append_text(verdict(status, findings))
        title.append(f"   device {device}", style="dim")
        if stage:
            title.append(f"   {stage}", style="dim")
        self.query_one(".step-title", Static).update(title)

    def show_result(self, result: StepResult | None, history: str = "") -> None:
        """Keep the result (and the step's history) for the Result tab; draw it now only if that pane is built."""
        self._result, self._history = result, history
        if self._result_view is not None:
            self._result_width = self._content_width()
            self._result_view.update(result_view(result, self._result_width, history))

    def _content_width(self) -> int:
        """The Result tab's width: the page less the tab's padding and the scrollbar (80 before layout)."""
        return (self.size.width or 80) - 4

    def on_resize(self) -> None:
        """The step list opened or closed, or the terminal changed: fit the tables to the new width."""
        if self.ready and self._result_width != self._content_width() and self._result_view is not None:
            self.show_result(self._result, self._history)

    def drain(self, live: LiveRun | None) -> None:
        """Draw the output the run produced since last time: one Text per batch, never one per line."""
        if live is None or (live is self._shown_run and live.lines_version == self._seen_lines):
            return
        log = self._log
        if log is None:
            return  # the Output tab was never shown: the lines wait in the run (capped) until it is
        if live is not self._shown_run:
            log.clear()
            self._shown_run = live
        lines, skipped = live.take_lines()
        self._seen_lines = live.lines_version
        if skipped:
            log.write(Text(f"… {skipped} lines not shown here (all are in the log on disk)", style="dim italic"))
        if lines:
            log.write(output_text(lines), scroll_end=True)

    def needs_info(self, live: LiveRun | None) -> bool:
        """Whether the title and the table are behind the run (its events or its end); marks them seen."""
        seen = (live, live.info_version if live is not None else -1)
        if seen == self._seen_info:
            return False
        self._seen_info = seen
        return True
