"""A one-line row of tabs: one widget, drawn as one Text.

Textual's `Tabs` (inside `TabbedContent`) is eight widgets per page (scroll container, bars, one widget
per tab, an animated underline), each styled and laid out before the first frame; a step page needs
three fixed labels, a click and the arrow keys, which one widget gives at a fraction of the cost.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

GAP = 1  # columns between two labels; each label is also padded by one column either side


class TabStrip(Widget, can_focus=True):
    """Labels in a row; the active one is bold and underlined (so NO_COLOR still shows it).

    Click a label, or focus the strip (Tab) and use left / right, like Textual's tabs."""

    BINDINGS = [
        Binding("left", "move(-1)", "Previous tab", show=False),
        Binding("right", "move(1)", "Next tab", show=False),
    ]
    COMPONENT_CLASSES = {"tab-strip--active"}
    DEFAULT_CSS = """
    TabStrip {
        height: 1;
        color: $text-muted;
    }
    TabStrip > .tab-strip--active {
        color: $text;
        text-style: bold underline;
    }
    TabStrip:focus > .tab-strip--active {
        text-style: bold reverse;
    }
    """

    active: reactive[str] = reactive("")

    class Chosen(Message):
        """The porter picked a tab (click or arrow key); the owner shows it and sets `active`."""

        def __init__(self, strip: TabStrip, tab_id: str) -> None:
            super().__init__()
            self.strip = strip
            self.tab_id = tab_id

        @property
        def control(self) -> TabStrip:
            return self.strip

    def __init__(self, tabs: list[tuple[str, str]], active: str, *, id: str | None = None) -> None:
        """`tabs` are (tab id, label) pairs in the order shown."""
        super().__init__(id=id)
        self.tabs = tabs
        self.set_reactive(TabStrip.active, active)

    def render(self) -> Text:
        active_style = self.get_component_rich_style("tab-strip--active", partial=True)
        text = Text(no_wrap=True, overflow="ellipsis")
        for tab_id, label in self.tabs:
            text.append(f" {label} ", style=active_style if tab_id == self.active else "")
            text.append(" " * GAP)
        return text

    def tab_at(self, x: int) -> str | None:
        """The tab whose label (with its padding) covers column `x` of the content, if any."""
        start = 0
        for tab_id, label in self.tabs:
            end = start + len(label) + 2
            if start <= x < end:
                return tab_id
            start = end + GAP
        return None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        tab_id = self.tab_at(offset.x) if offset is not None else None
        if tab_id is not None:
            self.post_message(self.Chosen(self, tab_id))

    def action_move(self, step: int) -> None:
        ids = [tab_id for tab_id, _ in self.tabs]
        index = ids.index(self.active) if self.active in ids else 0
        # Marked at once, so keys pressed faster than the owner shows tabs move on from this one.
        self.active = ids[(index + step) % len(ids)]
        self.post_message(self.Chosen(self, self.active))
