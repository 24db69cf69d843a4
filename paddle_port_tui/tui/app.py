"""The paddle-port wizard: a Textual app over the same core the CLI uses.

The app owns the runs (async workers, one per running step), the state on disk and the device list;
screens only show and ask. Runs outlive page changes: a page draws whatever its step's `LiveRun` holds.
Screens other than the wizard are imported where they are opened: the first frame needs none of them.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.app import App
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer

from paddle_port_checks.catalogue import Step, step_by_id
from paddle_port_tui.flow import FlowListener
from paddle_port_tui.runner import Finished
from paddle_port_tui.tui.live import LiveRun
from paddle_port_tui.tui.messages import RunFinished, RunProgress, StateChanged
from paddle_port_tui.tui.wizard import WizardScreen
from paddle_port_tui.workspace import Workspace

if TYPE_CHECKING:
    from textual.command import Provider

    from paddle_port_checks.schema import Event, StepResult
    from paddle_port_tui.checklist import ChecklistRow
    from paddle_port_tui.flow import FlowRun

SAVE_STEP_AFTER_S = 0.5  # the page shown is saved this long after the last step key


# Editors that take a line to open at, and how: `+LINE file` for most, `-g file:line` for VS Code.
LINE_FIRST = frozenset({"vi", "vim", "nvim", "view", "nano", "emacs", "emacsclient", "micro", "kak", "joe", "ne"})
GOTO_FLAG = frozenset({"code", "code-insiders", "codium", "cursor"})


def editor_command(editor: str, path: Path, line: int | None = None) -> list[str]:
    """The argv that opens `path` at `line` in `editor` ($EDITOR, possibly with its own flags); an editor
    not known to take a line gets just the file."""
    argv = shlex.split(editor) or ["vi"]
    name = Path(argv[0]).name
    if line is None or line < 1:
        return [*argv, str(path)]
    if name in LINE_FIRST:
        return [*argv, f"+{line}", str(path)]
    if name in GOTO_FLAG:
        return [*argv, "-g", f"{path}:{line}"]
    return [*argv, str(path)]


def _wizard_commands() -> type[Provider]:
    """The palette's provider, imported when the palette first opens (Textual accepts such loaders)."""
    from paddle_port_tui.tui.commands import WizardCommands

    return WizardCommands


class PaddlePortApp(App[int]):
    """The wizard for one workspace. `devices=None` probes the porter's interpreter in the background."""

    CSS_PATH = "paddle_port.tcss"
    TITLE = "paddle-port"
    COMMANDS = App.COMMANDS | {_wizard_commands}
    BINDINGS = [Binding("f1", "help", "Help")]

    def __init__(self, ws: Workspace, devices: list[str] | None = None) -> None:
        super().__init__()
        self.ws = ws
        self.sub_title = ws.root.name
        self.devices: list[str] = list(devices) if devices else ["cpu"]
        self._probe_devices = devices is None
        self.live: dict[str, LiveRun] = {}
        self.flows: dict[str, FlowRun] = {}  # the run each step is (or was last) part of
        self.state: Any = None
        self._config: Any = None
        self._save_timer: Timer | None = None

    # --- start -----------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        """With a config the wizard is the first screen itself: composing an empty default screen and then
        pushing the wizard over it would cost the first frame a second screen and its restyling."""
        if self.ws.config_path.exists():
            self._load_state()
            return WizardScreen(self.size.width)
        return super().get_default_screen()

    def on_mount(self) -> None:
        if self.state is not None:
            self._attach_running()
        if self.state is None:
            from paddle_port_tui.tui.config_form import ConfigForm

            self.push_screen(ConfigForm(self.ws.config_path), self._config_written)
        if self._probe_devices:
            self.run_worker(self._detect_devices, thread=True, group="probe", exit_on_error=False)

    def _config_written(self, written: bool | None) -> None:
        if written:
            self.open_wizard()

    def open_wizard(self) -> None:
        """Open the wizard over the config form that has just written the config."""
        self._load_state()
        self._attach_running()
        self.push_screen(WizardScreen(self.size.width))

    def _attach_running(self) -> None:
        """Runs started before this wizard opened (by a wizard whose SSH session dropped, by `paddle-port run`
        in another window) go on in their own hosts: follow each from its feed, output so far included."""
        from paddle_port_tui.flow import FlowRun
        from paddle_port_tui.run_host import running_runs

        for running in running_runs(self.ws):
            lives = {step_id: LiveRun(step_id, running.device or self.device()) for step_id in running.steps}
            ended = {
                step_id
                for step_id in running.steps
                if self.state.step(step_id).run_id == running.run_id and self.state.step(step_id).status != "running"
            }
            listener = _RunFeed(self, lives, ended_before=ended)
            flow = FlowRun.attach(self.ws, running.run_id, running.host, running.steps, self.state, listener)
            self._follow(flow, lives)

    def _load_state(self) -> None:
        """Where the porter left off: the saved current step, the saved statuses."""
        from paddle_port_tui.state import load_state

        self.state = load_state(self.ws)
        for warning in self.state.warnings:
            self.notify(warning, severity="warning", timeout=10)

    def _detect_devices(self) -> None:
        from paddle_port_tui.doctor import devices, probe

        found = devices(probe(self.ws.python()))
        self.call_from_thread(setattr, self, "devices", found)

    # --- state -----------------------------------------------------------------------------------

    def update_state(self, change: Any, announce: bool = True) -> None:
        """Change the one in-memory state and save it. Runs and generation update that same object, so
        no writer ever saves an old copy over another's change."""
        from paddle_port_tui.state import save_state

        change(self.state)
        save_state(self.ws, self.state)
        if announce:  # screens redraw what the change touched
            self.post_message(StateChanged())

    def on_state_changed(self, message: StateChanged) -> None:
        self._redraw()

    def remember_step(self, step_id: str) -> None:
        """Remember the page shown, saved a moment later: a save (with fsync) per key press would put
        the disk in the path of every step key; any other save, or leaving the wizard, writes it too."""
        self.state.current_step = step_id
        if self._save_timer is not None:
            self._save_timer.stop()
        self._save_timer = self.set_timer(SAVE_STEP_AFTER_S, self.flush_state)

    def flush_state(self) -> None:
        """Write a remembered step that is not saved yet."""
        if self._save_timer is not None:
            self._save_timer.stop()
            self._save_timer = None
            self.update_state(lambda state: None, announce=False)  # only the page shown: nothing to redraw

    def config(self) -> Any:
        from paddle_port_checks.config import ConfigError

        if self._config is None:
            try:
                self._config = self.ws.load_config()
            except ConfigError as problem:
                self.notify(str(problem), severity="error", timeout=15)
        return self._config

    def threshold(self, step_id: str) -> float | None:
        config = self.config()
        return config.threshold(step_id) if config is not None else None

    def device(self) -> str:
        """The device picked in the app, else the config's, else cpu."""
        config = self.config()
        return (self.state.device if self.state else "") or (config.device if config else "") or "cpu"

    def device_for(self, step_id: str) -> str:
        """Where this step runs now, or last ran, or would run."""
        live = self.live.get(step_id)
        if live is not None and live.running:
            return live.device
        return self.device()

    def step_status(self, step_id: str) -> str:
        from paddle_port_tui.state import display_status

        live = self.live.get(step_id)
        if live is not None and live.running:
            return "running"
        return display_status(self.ws, self.state, step_id)

    def result(self, step_id: str) -> StepResult | None:
        """What the step's Result tab shows: the result its last run wrote, or that run's own error (a
        segfault, a cancel: never an older result), with only the evidence that is on disk."""
        live = self.live.get(step_id)
        if live is not None and live.finished is not None and live.finished.result is not None:
            return live.finished.result  # type: ignore[no-any-return]
        return self.step_row(step_id).shown

    def step_row(self, step_id: str) -> ChecklistRow:
        """The step's checklist row: its verdict with findings, its history, its evidence on disk."""
        from paddle_port_tui.checklist import checklist_row

        return checklist_row(self.ws, self.state, step_id)

    def relative(self, path: Path) -> str:
        """A path as the porter sees it from the workspace root (never a host-specific absolute path)."""
        return self.ws.relative(Path(path))

    # --- runs: the one run path (flow.FlowRun) in a thread, news by message -----------------------

    def start_run(self, steps: str | list[str]) -> bool:
        """Run a step, or these steps (one worker for all), in a thread owned by the app; False when one of
        them already runs."""
        from paddle_port_tui.flow import FlowRun

        step_ids = [steps] if isinstance(steps, str) else steps
        busy = [step_id for step_id in step_ids if step_id in self.live and self.live[step_id].running]
        if busy:
            self.notify(f"{', '.join(busy)} already running; c cancels", severity="warning")
            return False
        from paddle_port_tui.flow import WorkspaceBusy

        device = self.device()
        lives = {step_id: LiveRun(step_id, device) for step_id in step_ids}
        flow = FlowRun(
            self.ws, [step_by_id(step_id) for step_id in step_ids], device, self.state, listener=_RunFeed(self, lives)
        )
        try:
            flow.claim()  # never waits: the wizard says who holds the step instead
        except WorkspaceBusy as busy:
            self.notify(str(busy), severity="warning", timeout=8)
            return False
        self._follow(flow, lives)
        return True

    def _follow(self, flow: FlowRun, lives: dict[str, LiveRun]) -> None:
        """The run's thread: the flow started (or attached) and followed to its end."""
        self.live.update(lives)
        for step_id in lives:
            self.flows[step_id] = flow
        self.run_worker(
            partial(self._drive, flow, lives),
            name=f"run:{','.join(lives)}",
            group="runs",
            thread=True,
            exit_on_error=False,
        )

    def _drive(self, flow: FlowRun, lives: dict[str, LiveRun]) -> None:
        """The run's thread: the flow to its end; whatever it could not finish is finished here."""
        try:
            flow.run()
        except Exception as problem:  # the wizard's own fault: the run must not stay 'running' forever
            for live in lives.values():
                if live.running:
                    message = f"the wizard could not run this check: {problem}"
                    live.add_line(message)
                    live.finish(Finished(live.step_id, "error", None, None, message))
                    self.post_message(RunFinished(live.step_id, "error"))

    def on_run_progress(self, message: RunProgress) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, WizardScreen):
                screen.run_progress(message.step_id)

    def on_run_finished(self, message: RunFinished) -> None:
        if not message.replayed:
            passed = message.status == "passed"
            self.notify(f"{message.step_id}: {message.status}", severity="information" if passed else "warning")
        for screen in self.screen_stack:
            if hasattr(screen, "run_finished"):
                screen.run_finished(message.step_id)

    def cancel_run(self, step_id: str) -> None:
        live = self.live.get(step_id)
        flow = self.flows.get(step_id)
        if live is None or not live.running or flow is None:
            self.notify(f"{step_id} is not running")
            return
        live.cancel_requested = True
        flow.cancel()

    def on_unmount(self) -> None:
        """However the wizard ends (quit, a hangup, a test's teardown), the runs go on in their hosts; only
        the following stops, so the app's threads end with it."""
        for flow in set(self.flows.values()):
            flow.detach()

    def running_steps(self) -> list[str]:
        return [step_id for step_id, live in self.live.items() if live.running]

    # --- scripts ---------------------------------------------------------------------------------

    def generate(self, step_id: str) -> None:
        """Write the step's script; when the porter edited it, show the diff and ask first."""
        from paddle_port_tui import generate

        step = step_by_id(step_id)
        plan = generate.plan(self.ws, self.state, step)
        if plan.status == "edited":
            from paddle_port_tui.tui.dialogs import ConfirmOverwrite

            def answered(overwrite: bool | None) -> None:
                if overwrite:
                    self._write_script(step_id, force=True)
                else:
                    self.notify(f"kept your {step.script}")

            self.push_screen(ConfirmOverwrite(step.script, plan.diff), answered)
        else:
            self._write_script(step_id, force=False)

    def _write_script(self, step_id: str, force: bool) -> None:
        from paddle_port_tui import generate

        step = step_by_id(step_id)
        plan = generate.write(self.ws, self.state, step, force=force)  # saves the state itself
        if plan.backup is not None:
            self.notify(f"wrote {step.script}; your version is in {self.relative(plan.backup)}")
        elif plan.written:
            self.notify(f"wrote {step.script}")
        else:
            self.notify(f"{step.script} is up to date")
        self._redraw()

    def edit_script(self, step_id: str) -> None:
        """Open the script in $VISUAL / $EDITOR with the app suspended; back to the same page after."""
        path = self.ws.script_path(step_id)
        if not path.exists():
            self.notify(f"{step_by_id(step_id).script} does not exist yet: press g to generate it", severity="warning")
            return
        self.open_in_editor(path)
        self._redraw()

    def open_in_editor(self, path: Path, line: int | None = None) -> None:
        """$VISUAL / $EDITOR on `path` (at `line` where the editor takes one) with the app suspended."""
        from textual.app import SuspendNotSupported

        editor = os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi"
        try:
            with self.suspend():
                subprocess.run(editor_command(editor, path, line), check=False)
        except SuspendNotSupported:
            where = f"{self.relative(path)}:{line}" if line else self.relative(path)
            self.notify(f"cannot suspend here; edit {where} in another terminal", severity="warning")
        except OSError as problem:
            self.notify(f"cannot start {editor}: {problem}", severity="error")

    # --- screens ---------------------------------------------------------------------------------

    def _redraw(self) -> None:
        for screen in self.screen_stack:
            if isinstance(screen, WizardScreen):
                screen.redraw(force=True)

    def pick_device(self) -> None:
        from paddle_port_tui.tui.dialogs import DevicePicker

        def picked(device: str | None) -> None:
            if device:
                self.update_state(lambda state: setattr(state, "device", device))

        self.push_screen(DevicePicker(self.devices, self.device()), picked)

    def open_checklist(self) -> None:
        from paddle_port_tui.tui.checklist import ChecklistScreen

        self.push_screen(ChecklistScreen())

    def action_help(self) -> None:
        from paddle_port_tui.tui.dialogs import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def palette_commands(self) -> list[tuple[str, str, Any]]:
        return [
            ("Help", "Keys and the flow (F1)", self.action_help),
            ("Quit", "Leave the wizard; asks whether running checks go on or stop", self.action_quit),
        ]

    async def action_quit(self) -> None:
        """Leave; with checks running, ask whether they go on (to be followed when the wizard reopens, or
        with `paddle-port status --follow`) or stop."""
        running = self.running_steps()
        if not running:
            self.exit(0)
            return
        from paddle_port_tui.tui.dialogs import QuitWhileRunning

        def answered(choice: str | None) -> None:
            if choice == "stop":
                for step_id in self.running_steps():
                    self.cancel_run(step_id)
            if choice in ("stop", "keep"):
                self.exit(0, message=_left_running(running) if choice == "keep" else None)

        self.push_screen(QuitWhileRunning(running), answered)


class _RunFeed(FlowListener):
    """A run's news, from its thread to the UI: the LiveRuns are filled, a message says so."""

    def __init__(self, app: PaddlePortApp, lives: dict[str, LiveRun], ended_before: set[str] | None = None) -> None:
        self.app, self.lives = app, lives
        self.ended_before = ended_before or set()  # steps of an attached run that had ended: no toast for them

    def lines(self, step: Step, texts: list[str]) -> None:
        self.lives[step.id].add_lines(texts)
        self.app.post_message(RunProgress(step.id))

    def event(self, step: Step, event: Event) -> None:
        self.lives[step.id].add_event(event)
        self.app.post_message(RunProgress(step.id))

    def step_started(self, step: Step) -> None:
        self._saved_by_host()

    def script_ready(self, step: Step, message: str) -> None:
        self.lives[step.id].add_line(f"paddle-port: {message}")
        self.app.post_message(RunProgress(step.id))

    def step_finished(self, step: Step, finished: Finished) -> None:
        self._saved_by_host()
        self.lives[step.id].finish(finished)
        self.app.post_message(RunFinished(step.id, finished.status, replayed=step.id in self.ended_before))

    def _saved_by_host(self) -> None:
        """The run host saved the step's record (its pid, its verdict): take it into the wizard's state."""
        from paddle_port_tui.state import refresh_state

        refresh_state(self.app.ws, self.app.state)
        self.app.post_message(StateChanged())


def _left_running(step_ids: list[str]) -> str:
    return (
        f"paddle-port: {', '.join(step_ids)} still running; reopen the wizard or run "
        "`paddle-port status --follow` to follow, `paddle-port cancel` to stop"
    )


def run_app(ws: Workspace) -> int:
    """Run the wizard in this terminal; the exit code for the CLI."""
    result = PaddlePortApp(ws).run()
    return int(result or 0)
