"""Step 0: what `paddle-port convert` found (rate, lines left as torch, the smoke import, converter faults),
with each place it names one Enter away in $EDITOR."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Footer, Header, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from paddle_port_tui import convert_view

if TYPE_CHECKING:
    from paddle_port_tui.tui.host import WizardHost

TITLE = "Step 0: convert (PaConvert)"
NO_RECORD = (
    "No conversion record in this workspace yet.\n\n"
    "Press r to convert the PyTorch code with PaConvert into the workspace, or from a shell:\n\n"
    "    paddle-port convert SRC --out DST -w .\n\n"
    "It leaves DST/.paddle_port_convert.json, which this page shows; then\n"
    "`paddle-port init --from-convert DST` names the converted factories in paddle_port.toml."
)


class ConvertScreen(Screen[None]):
    """The newest conversion record in the workspace and the places it names."""

    BINDINGS = [
        Binding("r", "run", "Run PaConvert"),
        Binding("w", "write_config", "Write config"),
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

    # --- running the CLI's convert and init from here (subprocesses: the app imports no framework) -------------

    def action_run(self) -> None:
        src, dst = default_paths(self.wizard.ws.root, self._reference_model())
        self.app.push_screen(ConvertDialog(src, dst), self._convert)

    def _reference_model(self) -> str:
        try:
            return self.wizard.ws.load_config().reference.model
        except Exception:  # no config yet: the porter types SRC
            return ""

    def _convert(self, paths: tuple[str, str] | None) -> None:
        if paths is None:
            return
        src, dst = paths
        root = str(self.wizard.ws.root)
        command = ["convert", src, "--out", dst, "--fix", "-w", root]
        self.query_one("#convert-report", Static).update(
            Text(f"running paddle-port {' '.join(command)} ...", style="bold")
        )
        self._cli(command, f"PaConvert into {dst}")

    def action_write_config(self) -> None:
        if self.record is None:
            self.notify("No conversion record yet: press r to run PaConvert first", severity="warning")
            return
        root = str(self.wizard.ws.root)
        self._cli(["init", "--from-convert", str(self.record.parent), "--yes", "-w", root], "paddle_port.toml")

    def _cli(self, arguments: list[str], what: str) -> None:
        """`paddle-port <arguments>` in a thread; its last lines as a notification, then the page reloaded."""
        import subprocess
        import sys

        def work() -> None:
            done = subprocess.run(
                [sys.executable, "-m", "paddle_port_tui", *arguments],
                cwd=self.wizard.ws.root,
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            self.app.call_from_thread(self._finished, what, done.returncode, done.stdout + done.stderr)

        self.run_worker(work, thread=True, exclusive=True, group="convert")

    def _finished(self, what: str, code: int, output: str) -> None:
        tail = "\n".join(line for line in output.strip().splitlines()[-4:] if line.strip())
        words = {0: "done", 1: "done, problems left (see the page)", 2: "not done"}.get(code, f"exit {code}")
        if code == 0:
            self.notify(f"{what}: {words}\n{tail}", timeout=10)
        else:
            self.notify(f"{what}: {words}\n{tail}", severity="error" if code == 2 else "warning", timeout=10)
        self.reload()


def default_paths(root: Path, reference_model: str) -> tuple[str, str]:
    """SRC: the folder of the reference model's top package, when the workspace has one; DST: a new folder
    beside it (`<src>_paddle`, numbered when that is taken)."""
    top = reference_model.partition(":")[0].split(".")[0]
    src = top if top and (root / top).is_dir() else ""
    stem = f"{src or 'converted'}_paddle"
    dst, number = stem, 2
    while (root / dst).exists() and any((root / dst).iterdir()):
        dst, number = f"{stem}_{number}", number + 1
    return src, dst


class ConvertDialog(ModalScreen[tuple[str, str] | None]):
    """SRC and DST for `paddle-port convert SRC --out DST --fix`, relative to the workspace."""

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, src: str, dst: str) -> None:
        super().__init__()
        self.src, self.dst = src, dst

    def compose(self) -> ComposeResult:
        with Vertical(id="convert-dialog", classes="dialog"):
            yield Label("PaConvert: the PyTorch folder SRC into a new folder DST, in the workspace")
            yield Input(self.src, placeholder="SRC, e.g. torch_src", id="convert-src")
            yield Input(self.dst, placeholder="DST, e.g. paddle_src (new or empty)", id="convert-dst")
            yield Label("Known converter faults: their safe edits made (--fix), shown on the page")
            yield Button("Convert (enter)", id="convert-go", variant="primary")

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._go()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self._go()

    def _go(self) -> None:
        src = self.query_one("#convert-src", Input).value.strip()
        dst = self.query_one("#convert-dst", Input).value.strip()
        if src and dst:
            self.dismiss((src, dst))
        else:
            self.notify("Both SRC and DST are needed", severity="warning")

    def action_cancel(self) -> None:
        self.dismiss(None)
