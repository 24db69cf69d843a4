"""The messages a run sends to the wizard's screens, from the run's thread (Textual messages are thread-safe
to post). Screens and the app both import this module, never each other's, so there is no import cycle."""

from __future__ import annotations

from textual.message import Message


class RunProgress(Message):
    """A step's run has new output or events. Coalesced: a newer one for the same step replaces it."""

    def __init__(self, step_id: str) -> None:
        super().__init__()
        self.step_id = step_id

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, RunProgress) and message.step_id == self.step_id


class RunFinished(Message):
    """A step's run ended (its verdict is in the state and in its LiveRun)."""

    def __init__(self, step_id: str, status: str, replayed: bool = False) -> None:
        super().__init__()
        # `replayed`: the end of a step that had ended before this wizard attached to its run (no news)
        self.step_id, self.status, self.replayed = step_id, status, replayed


class StateChanged(Message):
    """The saved state changed (a script generated, a device picked): redraw statuses and titles."""
