"""One step's page: what it proves and what to write, the live output, and the result.

The page only shows; the app owns the run. A timer drains the step's `LiveRun` into the log and the
table, so leaving the page and coming back loses nothing, and a flood of output is drawn in batches.
Only the shown tab's pane is built: the others are composed when first shown (the run's undrawn lines
wait in the `LiveRun`, the result in the page), which keeps them out of the time to the first frame.

The tipc page has a fourth tab, Commands: one row per command of the TIPC runner, read off its status
lines as they stream (each line once, `LiveCommands`) and replaced by the result's rows when it arrives;
Enter on a row opens its log. That page reads every line as it comes, so the lines the Output tab has
not drawn yet wait in the page instead of the run.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.widget import Widget
from textual.widgets import ContentSwitcher, DataTable, RichLog, Static

from paddle_port_checks.catalogue import Step
from paddle_port_checks.schema import StepResult
from paddle_port_tui.tipc_table import HEADINGS, CommandRow, LiveCommands, cells, commands_from_result, tipc_details
from paddle_port_tui.tui.live import DRAW_BATCH, SCREEN_LINES, LiveRun
from paddle_port_tui.tui.result_views import result_view
from paddle_port_tui.tui.tab_strip import TabStrip

if TYPE_CHECKING:
    from paddle_port_tui.tui.host import WizardHost

# Characters of one output line drawn on screen (the log on disk has all): a megabyte-long line would
# otherwise be measured and rendered in full on every frame it is written in.
SCREEN_LINE_CHARS = 1000
TABS = [("tab-about", "About"), ("tab-output", "Output"), ("tab-result", "Result")]
COMMANDS_TAB = ("tab-commands", "Commands")
COMMAND_COLUMNS = (*HEADINGS, "why")


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
        # The tipc page: the commands parsed from the run's lines so far, those the table shows, and the
        # lines taken from the run that the Output tab has not drawn (it may not be built yet).
        self._commands: DataTable[RenderableType] | None = None
        self._live_commands: LiveCommands | None = LiveCommands() if step.id == "tipc" else None
        self._command_rows: list[CommandRow] = []
        self._shown_rows: list[CommandRow] = []
        self._log_dir = ""
        self._undrawn: deque[str] = deque(maxlen=SCREEN_LINES)
        self._undrawn_skipped = 0
        self._command_detail: Static | None = None  # the highlighted row's command and why, in full

    @property
    def tabs(self) -> list[tuple[str, str]]:
        return [*TABS, COMMANDS_TAB] if self._live_commands is not None else TABS

    def compose(self) -> ComposeResult:
        yield Static("", classes="step-title")
        if self._wanted_tab not in dict(self.tabs):
            self._wanted_tab = "tab-about"
        yield TabStrip(self.tabs, self._wanted_tab)
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
        if tab_id == "tab-commands":
            table: DataTable[RenderableType] = DataTable(cursor_type="row", zebra_stripes=True, id="commands-table")
            table.add_columns(*((name, name) for name in COMMAND_COLUMNS))  # keyed: rows update in place
            self._commands, self._shown_rows = table, []
            self._command_detail = Static("", id="command-detail")
            self._fill_commands()
            return Vertical(table, self._command_detail, id=tab_id, classes="commands pane")
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
        if tab_id == "tab-commands" and self._commands is not None:
            # Enter opens the highlighted row's log (not the next step); after the refresh that mounts a new pane.
            self.call_after_refresh(self._commands.focus)

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
        details = tipc_details(result) if self._live_commands is not None else None
        if details is not None:
            self._command_rows = commands_from_result(result)  # the run's own account replaces the live one
            output = details.get("output")
            self._log_dir = output if isinstance(output, str) else ""
            self._fill_commands()
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
        if self._live_commands is not None:
            self._drain_commands(live)
            return
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
        self._write(log, lines, skipped)

    @staticmethod
    def _write(log: RichLog, lines: list[str], skipped: int) -> None:
        if skipped:
            log.write(Text(f"… {skipped} lines not shown here (all are in the log on disk)", style="dim italic"))
        if lines:
            log.write(output_text(lines), scroll_end=True)

    def _drain_commands(self, live: LiveRun | None) -> None:
        """The tipc page: every new line is read for the Commands tab, then drawn (or kept for the Output tab)."""
        assert self._live_commands is not None
        if live is not None and (live is not self._shown_run or live.lines_version != self._seen_lines):
            if live is not self._shown_run:  # a new run: its own output and commands
                if self._log is not None:
                    self._log.clear()
                self._undrawn.clear()
                self._undrawn_skipped = 0
                self._shown_run = live
                self._live_commands = LiveCommands()
                self._command_rows, self._log_dir = [], ""
                self._fill_commands()
            lines, skipped = live.take_lines(SCREEN_LINES)
            self._seen_lines = live.lines_version
            if self._live_commands.feed(lines):
                self._command_rows = self._live_commands.rows
                self._fill_commands()
            overflow = len(self._undrawn) + len(lines) - SCREEN_LINES
            self._undrawn_skipped += skipped + max(overflow, 0)
            self._undrawn.extend(lines)
        if self._log is not None and (self._undrawn or self._undrawn_skipped):
            lines = list(self._undrawn)
            skipped = self._undrawn_skipped + max(len(lines) - DRAW_BATCH, 0)
            self._undrawn.clear()
            self._undrawn_skipped = 0
            self._write(self._log, lines[-DRAW_BATCH:], skipped)

    def _fill_commands(self) -> None:
        """Bring the Commands table up to the rows: new rows added, changed ones redrawn, the cursor kept."""
        table = self._commands
        if table is None:
            return
        rows, shown = self._command_rows, self._shown_rows
        if len(rows) < len(shown):
            table.clear()
            shown = []
        for index, row in enumerate(rows):
            if index < len(shown) and shown[index] == row:
                continue
            values = self._cells(row)
            if index < len(shown):
                for column, value in zip(COMMAND_COLUMNS, values, strict=True):
                    table.update_cell(str(index), column, value)
            else:
                table.add_row(*values, key=str(index))
        self._shown_rows = list(rows)

    def _cells(self, row: CommandRow) -> tuple[RenderableType, ...]:
        note = Text(row.note, style="red" if row.failed else "yellow") if row.note else Text("")
        return (*cells(row, self._log_dir), note)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """Under the table, the highlighted row in full: its command and why it failed or was skipped."""
        event.stop()
        index = int(event.row_key.value or -1)
        if self._command_detail is None or not 0 <= index < len(self._shown_rows):
            return
        row = self._shown_rows[index]
        detail = Text(row.command)
        if row.note:
            detail.append("\n" + row.note, style="red" if row.failed else "yellow")
        detail.append("\nenter: the log", style="dim")
        self._command_detail.update(detail)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter (or a click on the highlighted row) in the Commands tab: that command's log."""
        from paddle_port_tui.tipc_table import LOG_TAIL_LINES, tail_lines
        from paddle_port_tui.tui.dialogs import LogScreen

        event.stop()
        index = int(event.row_key.value or -1)
        if not 0 <= index < len(self._shown_rows):
            return
        row = self._shown_rows[index]
        what = f"{row.stage or '?'} (gpus {row.entry or '-'})"
        if not row.log:
            if row.status == "skipped":
                why = "it was skipped"
            elif not self._result_has_rows():
                why = "the logs are listed with the result, when the run ends"
            else:
                why = "the runner named none"
            note = f"No log for this command: {why}.\n{row.command}"
            self.app.push_screen(LogScreen(f"{what}: no log", [], note))
            return
        path = Path(row.log) if Path(row.log).is_absolute() else self._root() / row.log
        try:
            lines, cut = tail_lines(path)
        except OSError as error:
            self.app.push_screen(LogScreen(f"{what}: {row.log}", [], f"Cannot read the log: {error}"))
            return
        note = f"last {LOG_TAIL_LINES} lines; the whole log is on disk" if cut else ""
        self.app.push_screen(LogScreen(f"{what}: {row.log}", lines, "\n".join(filter(None, [row.command, note]))))

    def _result_has_rows(self) -> bool:
        return tipc_details(self._result) is not None

    def _root(self) -> Path:
        host: WizardHost = self.app  # type: ignore[assignment]
        return Path(host.ws.root)

    def needs_info(self, live: LiveRun | None) -> bool:
        """Whether the title and the table are behind the run (its events or its end); marks them seen."""
        seen = (live, live.info_version if live is not None else -1)
        if seen == self._seen_info:
            return False
        self._seen_info = seen
        return True
