"""The start screen when a workspace has no `paddle_port.toml`: a form that creates it.

Its inputs are made from `init.FIELDS`, the declaration `paddle-port init`'s flags are made from, and what the
porter types goes through the same `init.config_tables` and `parse_config`: every change is validated, and the
field the first problem belongs to is marked, with the very message `paddle-port run` would print. A repo's
own factories, data builders and metrics (`repo_proposal`, read from the sources) fill the form at first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, Header, Input, Label, Static

from paddle_port_tui.init import FIELDS, PADDLE, PYTORCH, SECTIONS, Field

# The form's values before a proposal: a first config that runs the demo-like defaults.
DEFAULTS = {"input_shape": "1,3,224,224", "data_list": "lite_data.txt", "device": "cpu"}


def _rows(section: str) -> list[tuple[Field, ...]]:
    """The section's rows: a PyTorch/Paddle pair side by side, any other key alone."""
    rows: list[tuple[Field, ...]] = []
    for field in (field for field in FIELDS if field.section == section):
        if field.side == PADDLE and rows and rows[-1][0].side == PYTORCH and rows[-1][0].label == field.label:
            rows[-1] = (rows[-1][0], field)
        else:
            rows.append((field,))
    return rows


class ConfigForm(Screen[bool]):
    """Collects the config's values; dismisses with True once the file is written."""

    BINDINGS = [Binding("ctrl+s", "save", "Create config"), Binding("escape", "app.quit", "Quit")]

    def __init__(self, config_path: Path) -> None:
        from paddle_port_tui.repo_proposal import propose

        super().__init__()
        self.config_path = config_path
        self.proposed = propose(config_path.parent).values
        self.initial = {**DEFAULTS, **self.proposed}

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="config-form"):
            yield Static(self._intro(), id="config-intro")
            for section in SECTIONS:
                rows = _rows(section)
                yield Static(section, classes="config-section")
                with Grid(classes="config-grid"):
                    if any(len(row) == 2 for row in rows):
                        yield from (Label(""), Label(PYTORCH, classes="side"), Label(PADDLE, classes="side"))
                    for row in rows:
                        yield Label(row[0].label, classes="field-label")
                        for field in row:
                            yield self._input(field, wide=len(row) == 1)
            yield Button(f"Create {self.config_path.name} (ctrl+s)", id="config-save", variant="primary")
        yield Static("", id="config-error")
        yield Footer()

    def _intro(self) -> str:
        name = self.config_path.name
        if self.proposed:
            return (
                f"No {name} here yet. The models, data and metrics shown are proposed from your repo: check them. "
                "A blank field keeps its documented default; the file stays yours to edit."
            )
        return f"No {name} here yet. Name your two models; a blank field keeps its documented default."

    def _input(self, field: Field, wide: bool) -> Input:
        widget = Input(
            value=self.initial.get(field.name, ""),
            placeholder=field.example,
            id=field.name,
            compact=True,
            classes="wide" if wide else "",
        )
        widget.tooltip = Text(f"{field.help} [{field.key}]")
        return widget

    def on_mount(self) -> None:
        self.query_one(f"#{FIELDS[0].name}", Input).focus()

    def values(self) -> dict[str, str]:
        return {field.name: self.query_one(f"#{field.name}", Input).value for field in FIELDS}

    def validate_form(self) -> dict[str, Any] | None:
        """Show the first problem next to its field; the tables to write when there is none."""
        from paddle_port_checks.config import ConfigError
        from paddle_port_tui.init import config_tables, config_text, field_for_key

        for field in FIELDS:
            self.query_one(f"#{field.name}", Input).remove_class("invalid")
        error = self.query_one("#config-error", Static)
        try:
            tables = config_tables(self.values(), self.config_path)
            config_text(tables, self.config_path)
        except ConfigError as problem:
            culprit = field_for_key(problem.key)
            if culprit is not None:
                self.query_one(f"#{culprit.name}", Input).add_class("invalid")
            # The message names the file with its absolute path; the porter knows where they are. Text: the
            # key's brackets are no markup.
            error.update(Text(f"✘ {str(problem).replace(str(problem.path), problem.path.name)}"))
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
