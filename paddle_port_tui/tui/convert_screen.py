"""Step 0: what `paddle-port convert` found (rate, lines left as torch, the smoke import, converter faults),
with each place it names one Enter away in $EDITOR."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, Static
from textual.widgets.option_list import Option

from paddle_port_tui import convert_view

if TYPE_CHECKING:
    from paddle_port_tui.tui.host import WizardHost

TITLE = "Step 0: convert (PaConvert)"
NO_RECORD = (
    "No conversion record in this workspace yet.\n\n"
    "Convert the PyTorch code with PaConvert first, writing the Paddle code into the workspace:\n\n"
    "    paddle-port convert SRC --out DST -w .\n\n"
    "It leaves DST/.paddle_port_convert.json, which this page shows; then\n"
    "`paddle-port init --from-convert DST` names the converted factories in paddle_port.toml."
)


class ConvertScreen(Screen[None]):
    """The newest conversion record in the workspace and the places it names."""

    BINDINGS = [
        Binding("escape", "back", "Back"),
        Binding("f5", "reload", "Reload"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.locations: list[convert_view.Location] = []
        self.record: Path | None = None

    @property
    def wizard(self) -> WizardHost:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="convert-body"):
            yield Static("", id="convert-report")
        yield OptionList(id="convert-locations")
        yield Footer()

    def on_mount(self) -> None:
        self.title = TITLE
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def _paddle_factories(self) -> list[str] | None:
        """The config's Paddle factories, None when it cannot be read (the next command is then init)."""
        try:
            side = self.wizard.ws.load_config().paddle
        except Exception:  # a missing or broken config: the wizard's other pages name the problem
            return None
        return [spec for spec in (side.model, side.dataset, side.loader, side.metric) if spec]

    def reload(self) -> None:
        ws = self.wizard.ws
        records = convert_view.find_records(ws.root)
        self.record = records[0] if records else None
        self.locations = []
        report: RenderableType
        if self.record is None:
            report = Text(NO_RECORD)
        else:
            try:
                document = convert_view.read_document(self.record)
            except convert_view.ConvertViewError as error:
                report = Text(str(error), style="red")
            else:
                report = convert_view.convert_renderable(document, ws.root, self._paddle_factories())
                self.locations = convert_view.locations(document)
                if len(records) > 1:
                    others = ", ".join(self.wizard.relative(path.parent) for path in records[1:])
                    self.sub_title = f"{self.wizard.relative(self.record.parent)} (older: {others})"
                else:
                    self.sub_title = self.wizard.relative(self.record.parent)
        self.query_one("#convert-report", Static).update(report)
        option_list = self.query_one("#convert-locations", OptionList)
        option_list.clear_options()
        option_list.add_options(
            [Option(Text(location.label), id=str(index)) for index, location in enumerate(self.locations)]
        )
        option_list.display = bool(self.locations)
        option_list.border_title = "Open in $EDITOR (enter)"
        if self.locations:
            option_list.highlighted = 0
            option_list.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        index = int(event.option.id or 0)
        if 0 <= index < len(self.locations):
            location = self.locations[index]
            self.wizard.open_in_editor(location.path, location.line)

    def action_back(self) -> None:
        self.app.pop_screen()
