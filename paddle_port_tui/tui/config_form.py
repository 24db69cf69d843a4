"""The start screen when a workspace has no `paddle_port.toml`: a short form that creates it.

Every change is validated with the same `parse_config` the checks and the CLI use, so the porter sees
the very message `paddle-port run` would print, next to the field it is about, before anything is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

# (input id, label, config key named by ConfigError, placeholder, default)
FIELDS: tuple[tuple[str, str, str, str, str], ...] = (
    ("reference_model", "PyTorch model", "reference.model", "mypkg.torch_model:resnet18", ""),
    ("paddle_model", "Paddle model", "paddle.model", "mypkg.paddle_model:resnet18", ""),
    ("input_shape", "Input shape", "input.shape", "1,3,224,224", "1,3,224,224"),
    ("data_list", "Data list", "data.list", "lite_data.txt", "lite_data.txt"),
    ("device", "Device", "run.device", "cpu | gpu | gpu:N", "cpu"),
    ("python", "Python", "run.python", "(this interpreter)", ""),
)


def form_config(values: dict[str, str], path: Path) -> dict[str, Any]:
    """The TOML tables for the form's values; raises ConfigError (naming the key) when one is wrong."""
    import tomli_w

    from paddle_port_checks.config import parse_config
    from paddle_port_tui.init import config_values, parse_shape

    shape = parse_shape(values["input_shape"], path) if values["input_shape"].strip() else None
    tables = config_values(
        values["reference_model"].strip(),
        values["paddle_model"].strip(),
        shape,
        values["data_list"].strip(),
        values["device"].strip(),
        values["python"].strip(),
    )
    parse_config(tomli_w.dumps(tables), path)
    return tables


class ConfigForm(Screen[bool]):
    """Collects the few values a first config needs; dismisses with True once the file is written."""

    BINDINGS = [Binding("ctrl+s", "save", "Create config"), Binding("escape", "app.quit", "Quit")]

    def __init__(self, config_path: Path) -> None:
        super().__init__()
        self.config_path = config_path

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="config-form"):
            yield Static(
                f"No {self.config_path.name} here yet. Name your two models and the small data set; "
                "everything else keeps its default and can be edited in the file later.",
                id="config-intro",
            )
            with Grid(id="config-grid"):
                for input_id, label, _key, placeholder, default in FIELDS:
                    yield Label(label, classes="field-label")
                    yield Input(value=default, placeholder=placeholder, id=input_id, compact=True)
            yield Static("", id="config-error")
            yield Button("Create paddle_port.toml (ctrl+s)", id="config-save", variant="primary")
        yield Footer()

    def values(self) -> dict[str, str]:
        return {input_id: self.query_one(f"#{input_id}", Input).value for input_id, *_ in FIELDS}

    def validate_form(self) -> dict[str, Any] | None:
        """Show the first problem next to its field; the tables to write when there is none."""
        from paddle_port_checks.config import ConfigError

        for input_id, *_ in FIELDS:
            self.query_one(f"#{input_id}", Input).remove_class("invalid")
        error = self.query_one("#config-error", Static)
        try:
            tables = form_config(self.values(), self.config_path)
        except ConfigError as problem:
            for input_id, _label, key, *_ in FIELDS:
                if key == problem.key:
                    self.query_one(f"#{input_id}", Input).add_class("invalid")
            # The message names the file with its absolute path; the porter knows where they are.
            error.update(f"✘ {str(problem).replace(str(problem.path), problem.path.name)}")
            return None
        error.update("✔ looks valid")
        return tables

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.validate_form()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.action_save()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.action_save()

    def action_save(self) -> None:
        from paddle_port_tui.init import write_config

        tables = self.validate_form()
        if tables is None:
            return
        write_config(self.config_path, tables)
        self.dismiss(True)

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [("Create config", "Write paddle_port.toml from this form", self.action_save)]
