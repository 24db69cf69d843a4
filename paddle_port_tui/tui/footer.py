"""The wizard's footer: the screen's keys drawn as one line by one widget.

Textual's `Footer` is a container that recomposes one widget per key on every binding change (opening a
screen changes the bindings three times in a row); with the wizard's nine keys that was most of the
time between a bare Textual app's first frame and ours. This footer keeps the look (key in bold, then
its description, the palette key on the right) and the clicks, and on a change only repaints.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

PALETTE_SEPARATOR = "▏"


class FooterItem(NamedTuple):
    key: str  # what a click simulates
    key_display: str
    description: str
    enabled: bool


class KeyFooter(Widget, can_focus=False):
    """The active screen's shown bindings, left to right; the command palette's key at the right end."""

    ALLOW_SELECT = False
    COMPONENT_CLASSES = {"key-footer--key", "key-footer--description", "key-footer--disabled"}
    DEFAULT_CSS = """
    KeyFooter {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
        text-wrap: nowrap;
        & > .key-footer--key {
            color: $footer-key-foreground;
            background: $footer-key-background;
            text-style: bold;
        }
        & > .key-footer--description {
            color: $footer-description-foreground;
            background: $footer-description-background;
        }
        & > .key-footer--disabled {
            text-style: dim;
        }
    }
    """

    def __init__(self) -> None:
        super().__init__()
        self._items: list[FooterItem] = []
        self._palette: FooterItem | None = None
        self._spans: list[tuple[int, int, FooterItem]] = []  # columns each drawn item covers, for clicks

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self.bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def bindings_changed(self, screen: Screen) -> None:
        """Read the screen's active bindings again (focus moved, a screen opened); repaint if they changed."""
        if not self.is_attached or screen is not self.screen:
            return
        app = self.app
        items: list[FooterItem] = []
        seen_actions: set[str] = set()  # one entry per action, like Textual's footer
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.show and binding.action not in seen_actions:
                seen_actions.add(binding.action)
                items.append(FooterItem(binding.key, app.get_key_display(binding), binding.description, enabled))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in screen.active_bindings:
            _node, binding, enabled, _tooltip = screen.active_bindings[app.COMMAND_PALETTE_BINDING]
            palette = FooterItem(binding.key, app.get_key_display(binding), binding.description, enabled)
        if (items, palette) != (self._items, self._palette):
            self._items, self._palette = items, palette
            self.refresh()

    def _item_text(self, item: FooterItem) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        text = Text.assemble((f" {item.key_display} ", key_style), (f"{item.description} ", description_style))
        if not item.enabled:
            text.stylize(self.get_component_rich_style("key-footer--disabled", partial=True))
        return text

    def render(self) -> Text:
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for item in self._items:
            start = line.cell_len
            line.append_text(self._item_text(item))
            self._spans.append((start, line.cell_len, item))
        if self._palette is not None:
            # The palette key stays at the right end, over the keys it covers on a narrow terminal.
            palette = Text(PALETTE_SEPARATOR, style="dim").append_text(self._item_text(self._palette))
            start = max(self.size.width - palette.cell_len, 0)
            line.truncate(start, pad=True)
            self._spans = [(left, min(right, start), item) for left, right, item in self._spans if left < start]
            line.append_text(palette)
            self._spans.append((start, line.cell_len, self._palette))
        return line

    def on_click(self, event: events.Click) -> None:
        """A click on a key does what pressing it does."""
        for start, end, item in self._spans:
            if start <= event.x < end:
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return
