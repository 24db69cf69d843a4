"""The terminal face of a run: each step's heading, its output as it comes, its diff table when it ends.

Used by `paddle-port run` as the listener of the one run path (`flow.FlowRun`); with --json the notes go to
stderr and stdout is left to the document, one `step_document` per step (its schema: `paddle_port_tui.cli`).
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

from paddle_port_checks.catalogue import Step

from .child_output import plain
from .flow import FlowListener
from .runner import Finished
from .workspace import Workspace


def _echo_child(texts: list[str], terminal: bool) -> None:
    """Stream a batch of child output as it is, never through rich markup (it is the porter's text); colour
    codes only to a terminal. One write and one flush per batch, not per line."""
    block = "\n".join(texts) + "\n"
    sys.stdout.write(block if terminal else plain(block))
    sys.stdout.flush()


def _console() -> Any:
    from .console import console

    return console()


class Screen:
    """The rich console of `run`, made on a background thread while the first check starts.

    Rich and the tables cost more to import than anything else the CLI needs before the child is
    spawned, and the child does not need them; so the first step's heading is queued, the child is
    started, and the heading is printed by the loader thread as soon as rich is in. A child line never
    overtakes a heading: `echo` waits for the loader first. Later steps find the console ready.
    """

    def __init__(self) -> None:
        import threading

        self._console: Any = None
        self._terminal = sys.stdout.isatty()  # asked once: colour codes only to a terminal
        self._pending: list[tuple[str, str]] = []  # (rule title, message) not printed yet
        self._lock = threading.Lock()  # the loader and the main thread may both flush `_pending`
        self._loader = threading.Thread(target=self._load, daemon=True)

    def heading(self, title: str, message: str) -> None:
        """A rule with the step's title, then a one-line message; printed before the step's output."""
        self._pending.append((title, message))
        if self._loader.ident is None:
            self._loader.start()  # the first step: the runner spawns the child meanwhile
        else:
            self.console()

    def echo(self, texts: list[str]) -> None:
        """Lines of child output, after any heading still queued."""
        if self._pending:
            self.console()
        _echo_child(texts, self._terminal)

    def console(self) -> Any:
        """The console, with every queued heading printed."""
        if self._loader.ident is not None:
            self._loader.join()
        if self._console is None:  # the loader failed: fail here, with the real error
            self._console = _console()
        self._flush()
        return self._console

    def _load(self) -> None:
        self._console = _console()
        with contextlib.suppress(BrokenPipeError):  # the heading stays queued: the main thread meets it next
            self._flush()
        import paddle_port_tui.tables  # noqa: F401  (the step's tables, needed when the check ends)

    def _flush(self) -> None:
        with self._lock:
            while self._pending:
                title, message = self._pending[0]
                self._console.rule(title)
                self._console.print(message, markup=False)
                del self._pending[0]  # only now: until it is printed, `echo` must wait for it


class JsonNotes(FlowListener):
    """With --json, stdout is the document: the script notes go to stderr, child output to the logs."""

    def script_ready(self, step: Step, message: str) -> None:
        print(f"paddle-port: {message}", file=sys.stderr)


class Printer(FlowListener):
    """The terminal face of a run: a heading per step, its output as it comes, its table when it ends."""

    def __init__(self, ws: Workspace, device: str) -> None:
        self.ws, self.device = ws, device
        self.screen = Screen()
        self.notes: dict[str, str] = {}
        self.started: set[str] = set()

    def script_ready(self, step: Step, message: str) -> None:
        self.notes[step.id] = message

    def lines(self, step: Step, texts: list[str]) -> None:
        self.screen.echo(texts)

    def step_started(self, step: Step) -> None:
        self.started.add(step.id)
        self.screen.heading(
            f"step {step.number}: {step.id} ({step.title}) on {self.device}", self.notes.get(step.id, "")
        )

    def step_finished(self, step: Step, finished: Finished) -> None:
        if step.id not in self.started:  # a step that never began (no script): its heading first
            self.step_started(step)
        show_step(self.ws, step, finished, self.screen.console())


def show_step(ws: Workspace, step: Step, finished: Finished, console: Any) -> None:
    """The step's diff table (or its error), the layers around a divergence, its lint findings (part of
    the verdict: "passed · 1 warning"), and where the log is."""
    from paddle_port_tui.findings import grouped
    from paddle_port_tui.results import without_result
    from paddle_port_tui.tables import diff_table, divergence_table, findings_view

    result = finished.result or without_result(step.id, finished.status, finished.error)
    console.print(diff_table(result))
    for view in (divergence_table(result), findings_view(grouped(result.lint))):
        if view is not None:
            console.print(view)
    console.print(f"full log: {ws.relative(ws.log_path(step))}", markup=False, style="dim")


def step_document(ws: Workspace, step: Step, finished: Finished) -> dict[str, Any]:
    """One step of the `run --json` document (schema: the docstring of `paddle_port_tui.cli`)."""
    from paddle_port_checks.schema import to_json
    from paddle_port_tui.findings import grouped

    result = finished.result
    return {
        "id": step.id,
        "status": finished.status,
        "exit_code": finished.exit_code,
        "keys": [key.to_json() for key in result.keys] if result else [],
        "findings": [group.to_json() for group in grouped(result.lint)] if result else [],
        "evidence": [str(ws.root / path) for path in result.evidence] if result else [],
        "log": str(ws.log_path(step)),
        "diff_log": str(ws.root / result.log) if result and result.log else None,
        "result": str(ws.result_path(step)) if result is not None else None,
        "duration_s": result.duration_s if result else None,
        "reference_reused": result.reference.reused if result and result.reference else None,
        "warnings": list(result.warnings) if result else [],
        "error": finished.error or (result.error if result else None),
        "first_divergence": to_json(result.first_divergence) if result else None,
        "environment": result.environment if result else None,
    }
