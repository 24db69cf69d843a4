"""The main screen: the step list (glyph + word per status) beside the page of the current step.

Under ~100 columns the list folds away behind one key (`s`) and the page title carries the status.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Header, OptionList, Static
from textual.widgets.option_list import Option

from paddle_port_checks.catalogue import STEPS, Step, step_by_id
from paddle_port_tui.tui.footer import KeyFooter
from paddle_port_tui.tui.step_page import StepPage

if TYPE_CHECKING:
    from paddle_port_tui.tui.host import WizardHost

NARROW_BELOW = 100  # columns; under this the step list is one key away, and the strip shows every step


def step_key(step: Step) -> str:
    """The key that shows a step: its number's last digit (0 for step 10)."""
    return str(step.number % 10)


def step_label(step: Step, status: str, findings: str = "") -> Text:
    """`1 forward ✓ passed`: the number, the id and the status as glyph + word (21 columns at most); the
    findings that are part of the verdict on a second line, `  ⚠ 1 warning`, so the first never wraps."""
    from paddle_port_tui.tables import verdict

    label = Text(f"{step.number:>2} {step.id:<7} ").append_text(verdict(status))  # 10 steps: numbers aligned
    if findings:
        label.append(f"\n  ⚠ {findings}", style="yellow")
    return label


def step_strip(statuses: dict[str, str], current: str, width: int, findings: dict[str, str] | None = None) -> Text:
    """Every step on one line, glyph + id (or glyph + number when the ids do not fit), the current one
    marked: at 80x24 the whole flow is visible while the step list is folded away. A step with findings
    is marked `⚠` after its glyph: "passed, but read this"."""
    from paddle_port_tui.tables import STATUS_GLYPHS

    def cell(step: Step, named: bool) -> Text:
        glyph, style = STATUS_GLYPHS.get(statuses.get(step.id, "pending"), ("?", ""))
        glyph += "⚠" if (findings or {}).get(step.id) else ""
        label = f"{step.number}{glyph} {step.id}" if named else f"{step.number}{glyph}"
        if step.id == current:  # marked by a character too: the reverse video is lost without colour
            return Text(f"▸{label} ", style=f"{style} reverse")
        return Text(f" {label} ", style=style)

    strip = Text(" ").join(cell(step, True) for step in STEPS)
    return strip if strip.cell_len <= width else Text(" ").join(cell(step, False) for step in STEPS)


class WizardScreen(Screen[None]):
    """Steps on the left, the current step's page on the right; Enter goes on, Escape goes back."""

    # The letter and number keys are priority bindings: they are matched as the key arrives, instead of
    # after the key has bubbled up from the focused widget one message queue at a time, each hop waiting
    # its turn behind the frames of a flooding run. (The screen has no text input they could steal from.)
    BINDINGS = [
        Binding("enter", "next", "Next", key_display="⏎"),
        Binding("escape", "previous", "Back", key_display="esc"),
        # In the footer's order; what does not fit at 80 columns (Device, Edit) stays in the palette and F1.
        Binding("r", "run", "Run", priority=True),
        Binding("g", "generate", "Generate", priority=True),
        Binding("c", "cancel", "Cancel", priority=True),
        Binding("l", "checklist", "Checklist", priority=True),
        Binding("s", "toggle_steps", "Steps", priority=True),
        Binding("d", "device", "Device", priority=True),
        Binding("e", "edit", "Edit", priority=True),
        Binding("a", "run_all", "Run all", show=False, priority=True),
        # Step 0, before the checks: does not fit in the footer at 80 columns either (palette and F1).
        Binding("k", "convert", "Convert", show=False, priority=True),
        # One key a step: 1-9, and 0 for step 10.
        *(Binding(step_key(step), f"show('{step.id}')", step.title, show=False, priority=True) for step in STEPS),
    ]

    def __init__(self, width: int = 80) -> None:
        # Start with the right layout class: restyling the whole screen on the first resize costs a frame.
        super().__init__(classes="narrow" if width < NARROW_BELOW else None)
        self.current: str = STEPS[0].id
        self._pages: dict[str, StepPage] = {}
        self._listed: dict[str, str] = {}  # the status each step list entry shows now
        self._findings: dict[str, str] = {}  # the findings' count each entry shows ("1 warning")

    @property
    def wizard(self) -> WizardHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        app = self.wizard
        yield Header()
        yield Static("", id="step-strip")
        with Horizontal(id="wizard-body"):
            yield OptionList(*(Option(step_label(step, "pending"), id=step.id) for step in STEPS), id="step-list")
            # Pages are built on first visit: five tabbed pages up front would double the time to first frame.
            first = step_by_id(app.state.current_step or STEPS[0].id)
            with ContentSwitcher(id="pages", initial=f"page-{first.id}"):
                yield self._pages.setdefault(first.id, self._new_page(first))
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#step-list", OptionList).border_title = "Steps"
        self.show(self.wizard.state.current_step or STEPS[0].id, remember=False)  # draws the page
        self.redraw()  # the step list; from now on runs tell the screen when to redraw (messages)

    def on_unmount(self) -> None:
        self.wizard.flush_state()  # the wizard is closing: the page shown must be on disk

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < NARROW_BELOW, "narrow")

    def page(self, step_id: str) -> StepPage:
        """The step's page, built (and mounted) on first use."""
        page = self._pages.get(step_id)
        if page is None:
            page = self._pages[step_id] = self._new_page(step_by_id(step_id))
            self.query_one("#pages", ContentSwitcher).mount(page)
        return page

    def _new_page(self, step: Step) -> StepPage:
        """A page opens on About, or on Output while its step runs (a run this wizard attached to on opening)."""
        running = step.id in self.wizard.running_steps()
        return StepPage(step, self.wizard.threshold(step.id), tab="tab-output" if running else "tab-about")

    def on_step_page_ready(self, event: StepPage.Ready) -> None:
        self.redraw_page(event.page)  # a page not drawn yet always is

    # --- drawing -------------------------------------------------------------------------------

    def redraw(self, force: bool = False) -> None:
        """Bring the step list, the strip and the shown page up to date with the runs and the saved state.

        Called when a run reports (coalesced messages), so it only touches what changed; hidden pages
        catch up when shown."""
        step_list = self.query_one("#step-list", OptionList)
        changed = force
        for step in STEPS:
            status = self.wizard.step_status(step.id)
            if force or self._listed.get(step.id) != status:
                # Findings change only with a run's end, which changes the status too: read them only then.
                self._listed[step.id] = status
                self._findings[step.id] = self._findings_of(step.id, status)
                step_list.replace_option_prompt(step.id, step_label(step, status, self._findings[step.id]))
                changed = True
        if changed:
            self._update_strip()
        page = self._pages.get(self.current)
        if page is not None and page.ready:
            self.redraw_page(page, force)
        if force:
            for other in self._pages.values():
                if other is not page and other.ready:
                    other.stale = True

    def redraw_page(self, page: StepPage, force: bool = False) -> None:
        app = self.wizard
        live = app.live.get(page.step.id)
        page.drain(live)
        if not (page.needs_info(live) or force or page.stale):
            return
        page.stale = False
        status = app.step_status(page.step.id)
        stage = live.stage if live is not None and live.running else ""
        if live is not None and live.running:
            page.set_title(status, app.device_for(page.step.id), stage)
            page.show_result(live.partial_result())
            return
        from paddle_port_tui.findings import count_label

        row = app.step_row(page.step.id)
        page.set_title(status, app.device_for(page.step.id), stage, count_label(row.findings))
        page.show_result(app.result(page.step.id), row.history)

    def _findings_of(self, step_id: str, status: str) -> str:
        """ "1 warning": the count of the step's lint findings, part of its verdict ("" while it runs)."""
        from paddle_port_tui.findings import count_label

        return "" if status == "running" else count_label(self.wizard.step_row(step_id).findings)

    def _update_strip(self) -> None:
        strip = step_strip(self._listed, self.current, self.size.width, self._findings)
        self.query_one("#step-strip", Static).update(strip)

    def run_progress(self, step_id: str) -> None:
        """A run has news (the app forwards its coalesced message): draw what changed."""
        self.redraw()

    def run_finished(self, step_id: str) -> None:
        """A run ended: show the final table in place of the live one."""
        self.redraw(force=True)
        if step_id == self.current:
            self.page(step_id).show_tab("tab-result")

    # --- navigation ------------------------------------------------------------------------------

    def show(self, step_id: str, remember: bool = True) -> None:
        step = step_by_id(step_id)
        self.current = step.id
        if self._listed:
            self._update_strip()
        page = self.page(step.id)
        self.query_one("#pages", ContentSwitcher).current = f"page-{step.id}"
        if page.ready:
            self.redraw_page(page)
        step_list = self.query_one("#step-list", OptionList)
        step_list.highlighted = step.number - 1
        if remember:
            self.wizard.remember_step(step.id)

    def action_show(self, step_id: str) -> None:
        self.show(step_id)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        """Moving through the list browses the pages (only the porter's moves: the list has focus)."""
        # A highlight event can arrive after the list moved on (the one from mounting does): skip stale ones.
        stale = event.option_index != event.option_list.highlighted
        if not stale and event.option_list.has_focus and event.option.id and event.option.id != self.current:
            self.show(event.option.id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter on the list proceeds, like Enter anywhere else: on the current step it means next."""
        if event.option.id == self.current:
            self.action_next()
        elif event.option.id:
            self.show(event.option.id)
        self.remove_class("show-steps")

    def action_next(self) -> None:
        number = step_by_id(self.current).number
        if number < len(STEPS):
            self.show(STEPS[number].id)
        else:
            self.action_checklist()

    def action_previous(self) -> None:
        if self.has_class("narrow") and self.has_class("show-steps"):
            self.remove_class("show-steps")
            return
        number = step_by_id(self.current).number
        if number > 1:
            self.show(STEPS[number - 2].id)

    def action_toggle_steps(self) -> None:
        if self.has_class("narrow"):
            self.toggle_class("show-steps")
            if self.has_class("show-steps"):
                self.query_one("#step-list", OptionList).focus()
        else:
            self.query_one("#step-list", OptionList).focus()

    # --- actions ---------------------------------------------------------------------------------

    def action_run(self) -> None:
        if self.wizard.start_run([self.current]):
            self.page(self.current).show_tab("tab-output")
            self.redraw()

    def action_run_all(self) -> None:
        """Every step in one worker (each framework imported once); the page follows the current step."""
        if self.wizard.start_run([step.id for step in STEPS]):
            self.page(self.current).show_tab("tab-output")
            self.redraw()

    def action_cancel(self) -> None:
        self.wizard.cancel_run(self.current)

    def action_generate(self) -> None:
        self.wizard.generate(self.current)

    def action_edit(self) -> None:
        self.wizard.edit_script(self.current)

    def action_device(self) -> None:
        self.wizard.pick_device()

    def action_checklist(self) -> None:
        self.wizard.open_checklist()

    def action_convert(self) -> None:
        """Step 0: what `paddle-port convert` left in the workspace, each place it names openable."""
        from paddle_port_tui.tui.convert_screen import ConvertScreen

        self.app.push_screen(ConvertScreen())

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        step = step_by_id(self.current)
        commands: list[tuple[str, str, Any]] = [
            (f"Run step {step.number} ({step.id})", "Run the check script on the chosen device", self.action_run),
            ("Run all steps", "Every step in one worker process (a)", self.action_run_all),
            (f"Generate script for {step.id}", f"Write {step.script} from its template", self.action_generate),
            (f"Edit script for {step.id}", "Open the script in $EDITOR", self.action_edit),
            ("Cancel run", "Stop the running check (its whole process group)", self.action_cancel),
            ("Pick device", "Choose CPU or a GPU for the checks", self.action_device),
            ("Open checklist", "All steps, verdicts, export the report", self.action_checklist),
            (
                "Step 0: convert (PaConvert)",
                "The conversion record: rate, lines left as torch, smoke (k)",
                self.action_convert,
            ),
            ("Next step", "Go to the next step", self.action_next),
            ("Previous step", "Go back one step", self.action_previous),
            ("Toggle step list", "Show or hide the step list", self.action_toggle_steps),
        ]
        commands += [(f"Go to step {s.number}: {s.title}", s.proves, partial(self.show, s.id)) for s in STEPS]
        return commands
