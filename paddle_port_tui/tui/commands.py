"""The command palette (ctrl+p): every wizard action, searchable by name.

The commands are read from the active screen's `palette_commands()`, so a screen offers exactly the
actions it can do, under the same names as its footer bindings.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

# (title, help, callback)
PaletteCommand = tuple[str, str, Callable[[], object]]


class WizardCommands(Provider):
    """Offers the active screen's actions (and the app-wide ones) in the command palette."""

    def _commands(self) -> list[PaletteCommand]:
        commands: list[PaletteCommand] = []
        screen_commands = getattr(self.screen, "palette_commands", None)
        if screen_commands is not None:
            commands.extend(screen_commands())
        app_commands = getattr(self.app, "palette_commands", None)
        if app_commands is not None:
            commands.extend(app_commands())
        return commands

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), partial(callback), help=help_text)
