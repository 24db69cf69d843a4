"""Small modal screens: help (F1), the device picker, the "you edited this script" confirmation, the
question on quitting while checks run, and a TIPC command's log."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from paddle_port_checks.catalogue import STEPS

HELP_TEXT = """\
# paddle-port wizard

Verify a PaddlePaddle port of a PyTorch model, one checkpoint at a time:
**{flow}**. Each step writes a check script
into `test_tipc/`, runs it, and keeps the evidence under `result/`.

| key | action |
|---|---|
| `g` | generate the step's script (asks first if you edited it; keeps a backup) |
| `e` | open the script in `$EDITOR` |
| `r` | run the step on the chosen device |
| `a` | run every step, in one worker process (each framework imported once) |
| `c` | cancel the run (the check's whole process tree) |
| `d` | pick the device (CPU, each GPU) |
| `enter` | next step |
| `escape` | previous step / back |
| `{first}`-`9`, `0` | go to a step (`0` is step 10) |
| `s` | show or hide the step list (narrow terminals) |
| `l` | the checklist: export the report, save a screenshot |
| `k` | step 0, convert: `r` runs PaConvert, `w` names its output in the config, `enter` opens a place in `$EDITOR` |
| `ctrl+p` | command palette: every action by name |
| `ctrl+q` | quit; running checks go on or stop, as you choose (they outlive a dropped SSH session) |

Tabs on a step page: **About** (what it proves, what you write, pitfalls),
**Output** (live, full log in `.paddle_port/logs/`), **Result** (the table, failing rows first); the tipc
page adds **Commands** (the TIPC runner's commands as they go; `enter` opens a row's log).
"""


def help_text() -> str:
    """The help page, with the flow as the catalogue declares it."""
    return HELP_TEXT.format(flow=" → ".join(step.id for step in STEPS), first=STEPS[0].number)


class HelpScreen(ModalScreen[None]):
    """F1: the keys and the flow, one screen."""

    BINDINGS = [Binding("escape,f1,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        from textual.widgets import Markdown  # imported on first use: markdown-it costs 0.1 s at start

        with VerticalScroll(id="help-box", classes="dialog"):
            yield Markdown(help_text())

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)


class DevicePicker(ModalScreen[str | None]):
    """Choose where checks run; the list comes from the doctor probe of the porter's interpreter."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, devices: list[str], current: str) -> None:
        super().__init__()
        self.devices, self.current = devices, current

    def compose(self) -> ComposeResult:
        with Vertical(id="device-box", classes="dialog"):
            yield Label("Run checks on:")
            options = [Option(f"{'●' if d == self.current else '○'} {d}", id=d) for d in self.devices]
            yield OptionList(*options, id="device-list")

    def on_mount(self) -> None:
        option_list = self.query_one(OptionList)
        if self.current in self.devices:
            option_list.highlighted = self.devices.index(self.current)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmOverwrite(ModalScreen[bool]):
    """The porter edited a generated script: show what regenerating would change, and ask."""

    BINDINGS = [Binding("escape,n", "keep", "Keep mine"), Binding("y", "overwrite", "Overwrite")]

    def __init__(self, script: str, diff: str) -> None:
        super().__init__()
        self.script, self.diff = script, diff

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(f"You edited {self.script}. Regenerating changes it like this:")
            with VerticalScroll(id="confirm-diff"):
                from rich.syntax import Syntax  # pygments: loaded only when a diff is shown

                yield Static(Syntax(self.diff or "(no difference)", "diff", theme="ansi_dark", word_wrap=True))
            with Horizontal(id="confirm-buttons"):
                yield Button("Overwrite, keep a backup (y)", id="overwrite", variant="warning")
                yield Button("Keep mine (n)", id="keep")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "overwrite")

    def action_keep(self) -> None:
        self.dismiss(False)

    def action_overwrite(self) -> None:
        self.dismiss(True)


class QuitWhileRunning(ModalScreen[str | None]):
    """Quitting while checks run: they may go on without the wizard (a run is hosted by its own process)."""

    BINDINGS = [
        Binding("k", "choose('keep')", "Keep running"),
        Binding("s", "choose('stop')", "Stop them"),
        Binding("escape", "choose('stay')", "Stay"),
    ]

    def __init__(self, running: list[str]) -> None:
        super().__init__()
        self.running = running

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box", classes="dialog"):
            yield Static(
                f"{', '.join(self.running)} still running. Keep them running without the wizard (reopen it, "
                "or `paddle-port status --follow`, to follow them), or stop them?"
            )
            with Horizontal(id="confirm-buttons"):
                yield Button("Keep running, quit (k)", id="keep", variant="primary")
                yield Button("Stop them, quit (s)", id="stop", variant="warning")
                yield Button("Stay (esc)", id="stay")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id)

    def action_choose(self, choice: str) -> None:
        self.dismiss(choice)


class LogScreen(ModalScreen[None]):
    """A TIPC command's log (its last lines), from the tipc page's Commands tab; Escape closes it."""

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, lines: list[str], note: str = "") -> None:
        super().__init__()
        self.title_text, self.lines, self.note = title, lines, note

    def compose(self) -> ComposeResult:
        from rich.text import Text
        from textual.widgets import RichLog

        with Vertical(id="log-box", classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), id="log-title")
            if self.note:
                yield Static(Text(self.note, style="dim"), id="log-note")
            yield RichLog(wrap=False, markup=False, highlight=False, id="log-text")
            yield Static(Text("esc to close", style="dim"), id="log-help")

    def on_mount(self) -> None:
        from rich.text import Text
        from textual.widgets import RichLog

        joined = "\n".join(self.lines)
        text = Text.from_ansi(joined) if "\x1b" in joined or "\r" in joined else Text(joined)
        self.query_one("#log-text", RichLog).write(text, scroll_end=True)

    def action_close(self) -> None:
        self.dismiss(None)
