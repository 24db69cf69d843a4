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
from textual.binding import Binding
from textual.screen import Screen
from textual.widget import Widget

PALETTE_SEPARATOR = "▏"
# The keys a newcomer needs to find their way: shown however narrow the terminal is.
ALWAYS_SHOWN = ("enter", "escape")


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

    def bindings_changed(self, screen: Screen[object]) -> None:
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
        for binding in self._screen_own(screen):  # Enter and Escape, even where a focused list shadows them
            if binding.action not in seen_actions:
                seen_actions.add(binding.action)
                items.insert(0, FooterItem(binding.key, app.get_key_display(binding), binding.description, True))
        palette = None
        if app.ENABLE_COMMAND_PALETTE and app.COMMAND_PALETTE_BINDING in screen.active_bindings:
            _node, binding, enabled, _tooltip = screen.active_bindings[app.COMMAND_PALETTE_BINDING]
            palette = FooterItem(binding.key, app.get_key_display(binding), binding.description, enabled)
        if (items, palette) != (self._items, self._palette):
            self._items, self._palette = items, palette
            self.refresh()

    @staticmethod
    def _screen_own(screen: Screen[object]) -> list[Binding]:
        """The screen's own shown bindings of the always-shown keys, in the order of ALWAYS_SHOWN, reversed
        for inserting at the front. A focused OptionList binds Enter itself (hidden), which would otherwise
        drop "Next" from the footer although Enter on the list does proceed."""
        own = [b for b in screen.BINDINGS if isinstance(b, Binding) and b.show and b.key in ALWAYS_SHOWN]
        return sorted(own, key=lambda binding: -ALWAYS_SHOWN.index(binding.key))

    def _item_text(self, item: FooterItem, described: bool = True) -> Text:
        key_style = self.get_component_rich_style("key-footer--key", partial=True)
        description_style = self.get_component_rich_style("key-footer--description", partial=True)
        description = f"{item.description} " if described else ""
        text = Text.assemble((f" {item.key_display} ", key_style), (description, description_style))
        if not item.enabled:
            text.stylize(self.get_component_rich_style("key-footer--disabled", partial=True))
        return text

    def render(self) -> Text:
        texts = [self._item_text(item) for item in self._items]
        palette = None
        if self._palette is not None:
            # The palette key stays at the right end; on a narrow terminal it gives up its word first.
            palette = Text(PALETTE_SEPARATOR, style="dim").append_text(self._item_text(self._palette))
            if sum(text.cell_len for text in texts) + palette.cell_len > self.size.width:
                palette = Text(PALETTE_SEPARATOR, style="dim").append_text(self._item_text(self._palette, False))
        room = self.size.width - (palette.cell_len if palette is not None else 0)
        line = Text(no_wrap=True, overflow="crop", end="")
        self._spans = []
        for index in self._fitting(texts, room):
            start = line.cell_len
            line.append_text(texts[index])
            self._spans.append((start, line.cell_len, self._items[index]))
        if palette is not None:
            start = max(self.size.width - palette.cell_len, line.cell_len)
            line.pad_right(start - line.cell_len)
            line.append_text(palette)
            self._spans.append((start, line.cell_len, self._palette))  # type: ignore[arg-type]
        return line

    def _fitting(self, texts: list[Text], room: int) -> list[int]:
        """The items that fit, whole, in their order: Enter and Escape always, then the others as they come
        (a key is dropped whole, never cut in the middle of its word)."""
        keep = {index for index, item in enumerate(self._items) if item.key in ALWAYS_SHOWN}
        used = sum(texts[index].cell_len for index in keep)
        for index, text in enumerate(texts):
            if index not in keep and used + text.cell_len <= room:
                keep.add(index)
                used += text.cell_len
        return sorted(keep)

    def on_click(self, event: events.Click) -> None:
        """A click on a key does what pressing it does."""
        for start, end, item in self._spans:
            if start <= event.x < end:
                if item.enabled:
                    self.app.simulate_key(item.key)
                else:
                    self.app.bell()
                return
