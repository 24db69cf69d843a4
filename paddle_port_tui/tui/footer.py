"""A footer that rebuilds once per burst of binding changes.

Textual's footer recomposes all its keys on every binding change, and opening a screen changes the
bindings three times in a row (screen resume, auto focus, first idle): two rebuilds thrown away, each
restyling every key, in the way of the first frame.
"""

from __future__ import annotations

from textual.screen import Screen
from textual.widgets import Footer


class CoalescingFooter(Footer):
    """`Footer` whose rebuild is scheduled at most once until it starts (it reads the bindings then)."""

    _rebuild_scheduled = False

    def bindings_changed(self, screen: Screen) -> None:
        self._bindings_ready = True  # what Footer.bindings_changed records before it schedules a recompose
        if not screen.app.app_focus or not self.is_attached or screen is not self.screen:
            return
        if not self._rebuild_scheduled:
            self._rebuild_scheduled = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._rebuild_scheduled = False  # a change from now on is not seen by this rebuild: it schedules another
        await self.recompose()
