"""`paddle-port`: every wizard action as a command, for CI, scripts and SSH sessions without a UI.

Only argparse is imported at module level so `paddle-port --help` answers at once; each command imports
what it needs. Textual is imported only by `tui` (and `demo` without --headless), torch and paddle never:
checks run in child processes with the porter's interpreter.

Exit codes: 0 every step that ran passed (lint findings and warnings beside a pass, "passed · 1 warning",
do not change it); 1 a step failed its comparison; 2 a step errored or was cancelled, or the command itself
could not start (bad config, unknown step, conflicting files); 130 interrupted with Ctrl-C.

`run --json` prints one document on stdout (progress notes go to stderr, child output to the logs):
  {"workspace": abs path, "device": str, "passed": bool,
   "steps": [{"id", "status": passed|failed|error|cancelled, "exit_code",
              "keys": [every field of the check's key entries: key, mean, max, min, threshold, passed,
                       method, problem, shape_ref, shape_paddle, max_rel, cosine, ..., rule (the rule that
                       decided), float64_diff, noise_floor, noise_verdict (float64 replay; null/"" if none)],
              "findings": [lint findings, part of the verdict (a passed step with findings still exits 0):
                           {"rule" (the setting), "severity": error|warning, "layers", "torch_layers",
                            "torch_value", "paddle_value", "expected_paddle_value", "fix" (the Paddle
                            argument and value), "defined_at": ["file:line", ...], "visible_in_eval", "why"}],
              "evidence": [abs paths], "log": abs path of the full run log, "diff_log": abs path or null,
              "result": abs path of result/<step>.json or null, "duration_s", "reference_reused",
              "warnings": [str], "error": str or null, "first_divergence": dict or null,
              "environment": dict or null}]}
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from paddle_port_checks.catalogue import Step
    from paddle_port_tui.state import State
    from paddle_port_tui.workspace import Workspace

from paddle_port_checks.catalogue import steps_help

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130
STEP_HELP = steps_help()


class UsageError(Exception):
    """A problem with what the porter asked for, reported as one line and exit 2."""


def _workspace_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workspace",
        "-w",
        default=".",
        metavar="DIR",
        help="the porter's repo holding paddle_port.toml (default: current folder)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="paddle-port",
        description="Verify a PaddlePaddle port of a PyTorch model, checkpoint by checkpoint. "
        "Without a command, in a terminal: open the wizard on the current folder.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser(
        "run",
        help="generate missing scripts, run the checks, show diffs and a checklist",
        description="Run check steps in the configured interpreter; exit 0 only if all passed.",
    )
    run.add_argument("steps", nargs="*", metavar="STEP", help=STEP_HELP)
    run.add_argument("--all", action="store_true", help="run every step (the default without STEP)")
    _workspace_arg(run)
    run.add_argument("--device", default="", help="cpu, gpu or gpu:N (default: [run] device of the config)")
    run.add_argument("--fresh", action="store_true", help="recompute the reference outputs even if cached")
    run.add_argument(
        "--no-wait",
        action="store_true",
        help="when another run holds the workspace, exit 2 naming it instead of waiting for it to finish",
    )
    run.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout; child output goes to the log files only"
    )

    status = commands.add_parser(
        "status",
        help="the checklist and the checks running now (after a dropped SSH session too); --follow them",
        description="Show every step's status and each running check: its run, its processes, its log and "
        "its last lines. Checks run detached from the terminal that started them, so they go on after a "
        "hangup; --follow replays a running check's output and follows it live (Ctrl-C stops following, "
        "not the check; `paddle-port cancel` stops it).",
    )
    _workspace_arg(status)
    status.add_argument("--follow", "-f", action="store_true", help="follow the running checks until they end")
    status.add_argument("--json", action="store_true", help="print the running steps as JSON")

    cancel = commands.add_parser(
        "cancel",
        help="stop the running checks (all, or the runs of the steps named)",
        description="Stop running checks, killing each check's whole process tree; the steps are recorded "
        "as cancelled. Waits until they are.",
    )
    cancel.add_argument("steps", nargs="*", metavar="STEP", help="steps whose runs to stop (default: every run)")
    _workspace_arg(cancel)

    generate = commands.add_parser(
        "generate",
        help="write the check scripts into test_tipc/",
        description="Write missing or outdated scripts; an edited one is kept unless --force (then a backup is made).",
    )
    generate.add_argument("steps", nargs="*", metavar="STEP", help=STEP_HELP)
    generate.add_argument("--force", action="store_true", help="overwrite scripts you edited (a backup is kept)")
    _workspace_arg(generate)

    report = commands.add_parser("report", help="export the checklist as Markdown, HTML or JSON")
    report.add_argument("--format", "-f", choices=("md", "html", "json"), default="md")
    report.add_argument(
        "--output",
        "-o",
        default="",
        metavar="PATH",
        help="where to write it (default: result/report.<ext>; '-' for stdout)",
    )
    _workspace_arg(report)

    doctor = commands.add_parser("doctor", help="probe the check interpreter: torch, paddle, GPUs, reprod_log")
    doctor.add_argument("--json", action="store_true", help="print the probe as JSON")
    _workspace_arg(doctor)

    demo = commands.add_parser(
        "demo",
        help="write a demo port (resnet, text or sequence) into DIR and open it",
        description="Write the bundled demo workspace into DIR, then open the wizard "
        "(or run every step with --headless).",
    )
    demo.add_argument("dir", metavar="DIR")
    demo.add_argument(
        "--model",
        choices=("resnet", "text", "sequence"),
        default="resnet",
        help="which demo: resnet (image classifier), text (attention, inputs input_ids and "
        "attention_mask), sequence (BiLSTM + GRU)",
    )
    demo.add_argument("--headless", action="store_true", help="run all steps without the wizard")
    demo.add_argument("--device", default="", help="cpu, gpu or gpu:N (with --headless)")
    demo.add_argument("--json", action="store_true", help="with --headless: print the JSON document of `run`")

    _init_parser(commands)

    convert = commands.add_parser(
        "convert",
        help="step 0: convert PyTorch source with PaConvert, list what it missed, smoke-import the output",
        description="Run PaConvert (in the check interpreter) on SRC into DST, then report the convert rate, the "
        "lines left as torch, each converted file's import on Paddle and the known converter faults with their "
        "edits. Exit 0 nothing left to do, 1 problems found, 2 bad paths or PaConvert missing.",
    )
    convert.add_argument("src", metavar="SRC", help="the PyTorch source folder (never written)")
    convert.add_argument("--out", metavar="DST", help="a new or empty folder for Paddle's code")
    convert.add_argument(
        "--compat",
        action="store_true",
        help="instead: the torch APIs SRC names that Paddle's torch proxy (paddle.enable_compat) lacks",
    )
    convert.add_argument("--json", action="store_true", help="print one JSON document")
    convert.add_argument("--fix", action="store_true", help="make the safe edits, print their diff, smoke again")
    _workspace_arg(convert)

    tui = commands.add_parser("tui", help="open the wizard")
    tui.add_argument("dir", nargs="?", default=".", metavar="DIR")

    serve = commands.add_parser(
        "serve",
        help="the wizard in a browser (textual-serve), for a server reached by ssh -L",
        description="Serve the wizard on DIR (the same app and state as `paddle-port tui DIR`) over HTTP. "
        "From your machine: ssh -L 8000:localhost:8000 you@gpu-server, then open http://localhost:8000. "
        'Needs textual-serve: pip install "paddle-port[serve]".',
    )
    serve.add_argument("dir", nargs="?", default=".", metavar="DIR")
    serve.add_argument("--port", "-p", type=int, default=8000, help="the port to listen on (default: 8000)")
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="the address to listen on (default: 127.0.0.1, reachable only through a tunnel)",
    )
    serve.add_argument(
        "--public-url",
        default="",
        metavar="URL",
        help="the address your browser opens, if not http://localhost:PORT (another tunnel port, a proxy)",
    )
    return parser


def _init_parser(commands: Any) -> None:
    """`init`: one flag per config key, made from the declaration the config form is made from too."""
    from paddle_port_tui.init import FIELDS, SECTIONS

    init = commands.add_parser(
        "init",
        usage="paddle-port init [--from-repo [DIR]] [--yes] [--workspace DIR] [--KEY VALUE ...]",
        help="write paddle_port.toml from flags, or from the factories --from-repo finds",
        description="Create paddle_port.toml from the keys given (the rest keep their documented defaults), "
        "validated before anything is written; an existing one is backed up. With --from-repo, the "
        "sources are read (never imported) for model classes and factories, data builders and metrics, "
        "and the proposal is shown for you to confirm; a flag you give wins over a proposal.",
    )
    init.add_argument(
        "--from-repo",
        nargs="?",
        const="",
        default=None,
        metavar="DIR",
        help="propose the factories found in DIR's sources (default: the workspace)",
    )
    init.add_argument(
        "--from-convert",
        default=None,
        metavar="DST",
        help="the Paddle side from `paddle-port convert`'s output in DST, the reference side from its SRC",
    )
    init.add_argument(
        "--yes", "-y", action="store_true", help="with --from-repo/--from-convert: write the proposal without asking"
    )
    _workspace_arg(init)
    for section in SECTIONS:
        group = init.add_argument_group(section.lower())
        for field in (field for field in FIELDS if field.section == section):
            group.add_argument(
                field.flag,
                dest=field.name,
                metavar=field.metavar,
                action="append" if field.repeatable else "store",
                help=f"{field.help} [{field.key}]" + (" (repeatable)" if field.repeatable else ""),
            )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        if _interactive():
            args = parser.parse_args(["tui"])
        else:
            parser.print_help()
            return EXIT_ERROR
    handler = COMMANDS[args.command]
    from paddle_port_checks.config import ConfigError

    try:
        code = handler(args)
        sys.stdout.flush()  # a reader that went away is met here, not in the interpreter's last flush
        return code
    except BrokenPipeError:  # `paddle-port run | head -1`: the reader has what it wanted
        return _reader_gone(args)
    except (ConfigError, UsageError) as error:
        return _could_not_run(args, str(error))
    except OSError as error:  # a read-only workspace, a file where a folder belongs, a full disk
        return _could_not_run(args, _os_error_line(error))
    except KeyboardInterrupt:
        print("paddle-port: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _could_not_run(args: argparse.Namespace, message: str) -> int:
    print(f"paddle-port: error: {message}", file=sys.stderr)
    if getattr(args, "json", False):  # a machine reading stdout gets a document, not silence
        from paddle_port_checks.atomic import dumps_strict

        try:
            print(dumps_strict({"passed": False, "error": message, "steps": []}, indent=2))
            sys.stdout.flush()
        except BrokenPipeError:
            return _reader_gone(args)
    return EXIT_ERROR


def _os_error_line(error: OSError) -> str:
    """The file and what the system said of it, e.g. `/ws/.paddle_port/state.json: Permission denied`."""
    names = " -> ".join(str(name) for name in (error.filename, error.filename2) if name is not None)
    reason = error.strerror or str(error)
    return f"{names}: {reason}" if names else reason


def _reader_gone(args: argparse.Namespace) -> int:
    """Stdout's reader closed it. A run stops as at Ctrl+C (the tree is killed, the steps recorded as
    cancelled), so that is said on stderr; exit 2, the code of a cancelled run, never rich's 1."""
    from paddle_port_tui.console import silence_stdout

    silence_stdout()
    if args.command in ("run", "demo"):
        with contextlib.suppress(OSError):  # `2>&1 | head`: stderr went with it
            print(
                "paddle-port: output closed by its reader (broken pipe); steps not finished are recorded as cancelled",
                file=sys.stderr,
            )
    return EXIT_ERROR


# --- helpers shared by the commands --------------------------------------------------------------------


def _interactive() -> bool:
    """A porter at a terminal (not a script, not CI): someone who can answer a question."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def _open_workspace(directory: str) -> Workspace:
    """The workspace with a config that validates (ConfigError otherwise, naming file and key)."""
    from paddle_port_tui.workspace import Workspace

    ws = Workspace(directory)
    ws.load_config()
    return ws


def _selected_steps(names: list[str]) -> list[Step]:
    """The steps named (by id or number) in flow order, or all of them."""
    from paddle_port_tui.flow import selected_steps

    try:
        return selected_steps(names)
    except KeyError as error:
        raise UsageError(error.args[0]) from None


def _state(ws: Workspace) -> State:
    from paddle_port_tui.state import load_state

    state = load_state(ws)
    for warning in state.warnings:
        print(f"paddle-port: warning: {warning}", file=sys.stderr)
    return state


def _console(stderr: bool = False) -> Any:
    from paddle_port_tui.console import console

    return console(stderr)


def run_steps(ws: Workspace, steps: list[Step], device: str, fresh: bool, as_json: bool, wait: bool = True) -> int:
    """Run the steps through the one run path (`flow.FlowRun`), printing each step's output, diff table
    and the checklist, or one JSON document; the exit code. When another run holds the workspace, wait
    for it (saying so on stderr), or with `wait=False` refuse: UsageError naming that run."""
    from paddle_port_tui.flow import DeviceError, FlowRun, WorkspaceBusy, checked_device, exit_code

    _terminate_as_interrupt()
    try:
        device = checked_device(ws, device)
    except DeviceError as error:
        raise UsageError(f"--device: {error}") from None
    from paddle_port_tui.run_output import JsonNotes, Printer, step_document

    state = _state(ws)
    listener = JsonNotes() if as_json else Printer(ws, device)
    # The runner updates `state` in place and saves it, generated hashes included.
    flow = FlowRun(ws, steps, device, state, fresh=fresh, listener=listener)
    try:
        flow.claim(on_wait=_say_waiting if wait else None)
    except WorkspaceBusy as busy:
        raise UsageError(str(busy)) from None
    finished = flow.run()
    code = exit_code([item.status for item in finished])
    if as_json:
        from paddle_port_checks.atomic import dumps_strict

        documents = [step_document(ws, step, item) for step, item in zip(steps, finished, strict=True)]
        print(
            dumps_strict(
                {"workspace": str(ws.root), "device": device, "passed": code == EXIT_PASSED, "steps": documents},
                indent=2,
            )
        )
    else:
        from paddle_port_tui.tables import checklist_table

        assert isinstance(listener, Printer)
        listener.screen.console().print(checklist_table(ws, state))
    return code


# --- the commands -------------------------------------------------------------------------------------


def cmd_run(args: argparse.Namespace) -> int:
    ws = _open_workspace(args.workspace)
    steps = _selected_steps([] if args.all else args.steps)
    return run_steps(ws, steps, args.device, args.fresh, args.json, wait=not args.no_wait)


def cmd_status(args: argparse.Namespace) -> int:
    """Exit 0 always when nothing is followed; with --follow, the code of the followed steps (as `run`)."""
    from paddle_port_tui.run_host import orphaned_checks, running_runs
    from paddle_port_tui.run_status import log_tail, running_steps

    ws = _open_workspace(args.workspace)
    state = _state(ws)
    runs = running_runs(ws)
    running = running_steps(ws, state, runs)
    if args.json:
        from paddle_port_checks.atomic import dumps_strict

        print(dumps_strict({"workspace": str(ws.root), "running": [vars(step) for step in running]}, indent=2))
        return EXIT_PASSED
    if args.follow and running:
        return _follow_running(ws, state)
    from paddle_port_tui.tables import checklist_table

    console = _console()
    console.print(checklist_table(ws, state))
    for step in running:
        console.print(step.line(), markup=False, highlight=False)
        for line in log_tail(ws, step.step) if step.started_at else []:  # a queued step's log is an older run's
            console.print(f"  {line}", markup=False, highlight=False, style="dim")
    for step_id, pid in orphaned_checks(state, runs):
        console.print(
            f"{step_id}: its check (pid {pid}) runs on, but its host is gone: nobody will record its end; "
            "paddle-port cancel stops it",
            markup=False,
            highlight=False,
        )
    if not running:
        console.print("no check is running", style="dim")
    return EXIT_PASSED


def _follow_running(ws: Workspace, state: State) -> int:
    from paddle_port_tui.flow import exit_code
    from paddle_port_tui.run_output import Printer
    from paddle_port_tui.run_status import follow

    listener = Printer(ws, state.device or ws.load_config().device)
    try:
        finished = follow(ws, state, listener)
    except KeyboardInterrupt:
        print("paddle-port: stopped following; the checks go on (paddle-port cancel stops them)", file=sys.stderr)
        return EXIT_INTERRUPTED
    from paddle_port_tui.tables import checklist_table

    listener.screen.console().print(checklist_table(ws, state))
    return exit_code([item.status for item in finished]) if finished else EXIT_PASSED


def cmd_cancel(args: argparse.Namespace) -> int:
    from paddle_port_tui.run_status import cancel

    ws = _open_workspace(args.workspace)
    names = [step.id for step in _selected_steps(args.steps)] if args.steps else []
    state = _state(ws)
    stopped = cancel(ws, state, names)
    if not stopped:
        print("paddle-port: no check is running" + (f" for {' '.join(names)}" if names else ""))
        return EXIT_PASSED
    for step_id, became in stopped:
        print(f"{step_id}: {became}")
    return EXIT_PASSED


def _terminate_as_interrupt() -> None:
    """SIGTERM (`timeout`, a CI job cancelled, `kill`) stops a run as Ctrl-C does: an explicit stop, which
    the detached check must hear too. A hangup is not one: the run goes on and records its verdict."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def _say_waiting(line: str) -> None:
    print(f"paddle-port: {line}", file=sys.stderr, flush=True)


def cmd_generate(args: argparse.Namespace) -> int:
    from paddle_port_tui.flow import ensure_script
    from paddle_port_tui.generate import plan
    from paddle_port_tui.state import save_state

    ws = _open_workspace(args.workspace)
    state = _state(ws)
    for step in _selected_steps(args.steps):
        before = plan(ws, state, step)
        print(ensure_script(ws, state, step, force=args.force))
        if before.status == "edited" and before.diff:
            # Show what a regeneration would change, so the porter can decide on --force.
            sys.stdout.write(before.diff if before.diff.endswith("\n") else before.diff + "\n")
    save_state(ws, state)
    return EXIT_PASSED


def cmd_report(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paddle_port_tui.report import RENDERERS, build_report, export
    from paddle_port_tui.workspace import Workspace

    ws = Workspace(args.workspace)  # a report of a workspace whose config broke later is still useful
    if not ws.config_path.is_file() and not ws.state_path.is_file():
        raise UsageError(f"{ws.root} is not a paddle-port workspace (no paddle_port.toml, no .paddle_port/state.json)")
    state = _state(ws)
    if args.output == "-":
        sys.stdout.write(RENDERERS[args.format](build_report(ws, state)))
        return EXIT_PASSED
    path = export(ws, state, args.format, Path(args.output) if args.output else None)
    print(path)
    return EXIT_PASSED


def cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from paddle_port_tui.doctor import doctor_rows, probe, ready
    from paddle_port_tui.workspace import Workspace

    found = probe(Workspace(args.workspace).python())
    if args.json:
        print(json.dumps(found, indent=2))
    else:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=f"paddle-port doctor: {found.get('python')}", title_justify="left")
        for name in ("component", "found", "note"):
            table.add_column(name)
        for row in doctor_rows(found):
            table.add_row(*(Text(cell) for cell in row))
        _console().print(table)
    return EXIT_PASSED if ready(found) else EXIT_FAILED


def cmd_demo(args: argparse.Namespace) -> int:
    from paddle_port_tui.demo import DemoError, demo_model, make_checkpoint, write_demo

    notes = sys.stderr if args.json else sys.stdout
    try:
        root = write_demo(args.dir, args.model)
        print(f"demo workspace written to {root}", file=notes)
        ws = _open_workspace(str(root))
        print("creating the demo's reference checkpoint (weights/reference.pth, a few seconds) ...", file=notes)
        make_checkpoint(root, ws.python(), args.model)
    except DemoError as error:
        raise UsageError(str(error)) from None
    if args.headless:
        return run_steps(ws, _selected_steps(list(demo_model(args.model).steps)), args.device, False, args.json)
    return _open_wizard(ws)


def cmd_init(args: argparse.Namespace) -> int:
    from paddle_port_checks.config import CONFIG_NAME, ConfigError
    from paddle_port_tui.init import FIELDS, config_tables, config_text, write_config
    from paddle_port_tui.workspace import Workspace

    path = Workspace(args.workspace).root / CONFIG_NAME
    given = {
        field.name: ", ".join(value) if isinstance(value, list) else value
        for field in FIELDS
        if (value := getattr(args, field.name)) is not None
    }
    if args.from_convert is not None and path.is_file() and not given:
        return _update_from_convert(args, path)
    if args.from_convert is not None:
        proposed = _proposed_from_convert(args, path.parent, given)
    else:
        proposed = _proposed(args, path.parent, given) if args.from_repo is not None else {}
    try:
        tables = config_tables({**proposed, **given}, path)
        text = config_text(tables, path)
    except ConfigError as error:
        raise UsageError(f"{error}{_flag_hint(error.key, given, proposed)}") from None
    if args.from_repo is not None or args.from_convert is not None:
        print(f"\nproposed {CONFIG_NAME} (a flag you give wins over a proposal):\n\n{text}")
        if not args.yes and not _confirmed(f"write {CONFIG_NAME}?"):
            return EXIT_PASSED
    existed = path.exists()
    written = write_config(path, tables)
    print(f"wrote {written}" + (f" (the previous one is kept beside it as {CONFIG_NAME}.bak-*)" if existed else ""))
    return EXIT_PASSED


def _proposed(args: argparse.Namespace, workspace: Path, given: dict[str, str]) -> dict[str, str]:
    """What `init --from-repo` proposes, printed grouped by key; a required model it cannot find (and the
    porter did not give) is an error."""
    from pathlib import Path

    from paddle_port_tui.init import FIELD_BY_NAME
    from paddle_port_tui.repo_proposal import propose

    directory = Path(args.from_repo) if args.from_repo else workspace
    if not directory.is_dir():
        raise UsageError(f"--from-repo: {directory} is not a folder")
    proposal = propose(directory, workspace)
    print("\n".join(proposal.lines()))
    for name, side, base in (("reference_model", "PyTorch", "nn.Module"), ("paddle_model", "Paddle", "nn.Layer")):
        if name not in given and name not in proposal.values:
            raise UsageError(
                f"--from-repo found no {side} model in {directory} (no {base} subclass, no build_* function): "
                f"name it with {FIELD_BY_NAME[name].flag} MODULE:CALLABLE"
            )
    return proposal.values


def _update_from_convert(args: argparse.Namespace, path: Path) -> int:
    """`init --from-convert DST` with a config already there: only its [paddle] factories change (the rest of
    the porter's settings stay), after the new [paddle] table is shown and confirmed."""
    from pathlib import Path

    from paddle_port_checks.config import load_config
    from paddle_port_tui.convert_init import ConvertInitError, updated_tables
    from paddle_port_tui.init import toml_text, write_config

    load_config(path)  # a broken config is its own one-line error first
    try:
        tables, notes = updated_tables(path, Path(args.from_convert).resolve(), path.parent)
    except ConvertInitError as error:
        raise UsageError(f"--from-convert: {error}") from None
    for line in notes:
        print(f"note: {line}")
    if tables is None:
        return EXIT_PASSED
    print(f"\n{path.name} keeps its other keys; [paddle] becomes:\n\n{toml_text({'paddle': tables['paddle']})}")
    if not args.yes and not _confirmed(f"update {path.name}?"):
        return EXIT_PASSED
    write_config(path, tables)
    print(f"updated {path} (the previous one is kept beside it as {path.name}.bak-*)")
    return EXIT_PASSED


def _confirmed(question: str) -> bool:
    """A yes on a terminal; without one, the command says how to go on."""
    if not _interactive():
        print("not written: run it again with --yes to write it")
        return False
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        print("not written")
        return False
    return True


def _proposed_from_convert(args: argparse.Namespace, workspace: Path, given: dict[str, str]) -> dict[str, str]:
    """The reference side proposed from the conversion's SRC (flags win), the Paddle side its converted twin;
    what cannot be mapped and the imports that would load the torch module are printed."""
    from pathlib import Path

    from paddle_port_tui.convert_init import ConvertInitError, converted_values, own_imports, read_record
    from paddle_port_tui.repo_proposal import propose

    dst = Path(args.from_convert).resolve()
    try:
        src = Path(read_record(dst)["src"]).resolve()
        proposal = propose(src, workspace)
        print("\n".join(proposal.lines()))
        values = {**proposal.values, **given}
        values = {key: value for key, value in values.items() if not key.startswith("paddle_")}
        roots = [workspace, *(workspace / entry.strip() for entry in values.get("pythonpath", "").split(",") if entry)]
        paddle, notes = converted_values({**values, **given}, src, dst, workspace, roots)
    except ConvertInitError as error:
        raise UsageError(f"--from-convert: {error}") from None
    for line in [*notes, *own_imports(src, dst, roots)]:
        print(f"note: {line}")
    if "reference_model" not in values:
        raise UsageError(
            f"--from-convert found no PyTorch model in {src}: name it with --reference-model MODULE:CALLABLE"
        )
    return {**values, **paddle}


def _flag_hint(key: str, given: dict[str, str], proposed: dict[str, str]) -> str:
    """Which flag sets the key a config error names: the porter's own, or the one to override a proposal."""
    from paddle_port_tui.init import field_for_key

    field = field_for_key(key)
    if field is None:
        return ""
    if field.name in given:
        return f" (from {field.flag})"
    if field.name in proposed:
        return f" (proposed by --from-repo: change it with {field.flag})"
    return f" (set it with {field.flag})"


def cmd_convert(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paddle_port_tui import convert_report, convert_rules
    from paddle_port_tui.paconvert import ConvertError, run_paconvert
    from paddle_port_tui.workspace import Workspace

    python = Workspace(args.workspace).python()
    if args.compat:
        return _compat(args.src, python, args.json)
    if not args.out:
        raise UsageError("convert: --out DST is required (a new or empty folder for the converted code)")
    notes = sys.stderr if args.json else sys.stdout
    try:
        print(f"converting {args.src} with PaConvert ...", file=notes, flush=True)
        run = run_paconvert(Path(args.src), Path(args.out), python)
        print(f"importing each converted module with Paddle ({run.dst}) ...", file=notes, flush=True)
        workspace = Workspace(args.workspace).root
        results = convert_report.smoke(run.dst, python, workspace)
        hits = convert_rules.find(run.dst) + _own_package_hits(run.src, run.dst, workspace)
        diff, fixed = None, None
        if args.fix:
            diff = convert_rules.apply(run.dst, hits)
            fixed = convert_report.smoke(run.dst, python, workspace)
    except ConvertError as error:
        raise UsageError(str(error)) from None
    conversion = convert_report.Conversion(run, results, hits, diff, fixed)
    # With a config, the reference model's converted twin is built and run once on its inputs.
    if (workspace / "paddle_port.toml").is_file():
        print("running the reference model's converted twin once on the config's inputs ...", file=notes, flush=True)
        conversion.forward = convert_report.forward_smoke(run.src, run.dst, python, workspace)
    from paddle_port_checks.atomic import dumps_strict, write_json_atomic
    from paddle_port_tui.convert_init import RECORD

    document = conversion.document()
    write_json_atomic(run.dst / RECORD, document)  # what `init --from-convert` and the wizard read back
    if args.json:
        print(dumps_strict(document, indent=2))
    else:
        print("\n".join(conversion.summary()))
    return EXIT_FAILED if conversion.problems() else EXIT_PASSED


def _own_package_hits(src: Path, dst: Path, workspace: Path) -> list[Any]:
    """The converted tree's absolute imports of SRC's package, by the names the workspace imports both under."""
    from paddle_port_tui.convert_init import dotted
    from paddle_port_tui.convert_rules import own_package_hits

    src_name = dotted(src, workspace) or (src.name if (src / "__init__.py").is_file() else "")
    return own_package_hits(dst, src_name, dotted(dst, workspace))


def _compat(src: str, python: str, as_json: bool) -> int:
    """`convert --compat`: the reference code unchanged against Paddle's torch proxy, in the porter's interpreter."""
    import subprocess

    command = [python, "-m", "paddle_port_checks.compat", src, *(["--json"] if as_json else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)
    if done.returncode not in (EXIT_PASSED, EXIT_FAILED):
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        raise UsageError(f"convert --compat: {last}")
    print(done.stdout, end="")
    return done.returncode


def cmd_tui(args: argparse.Namespace) -> int:
    from paddle_port_tui.workspace import Workspace

    return _open_wizard(Workspace(args.dir))


def cmd_serve(args: argparse.Namespace) -> int:
    from pathlib import Path

    from paddle_port_tui.tui.serve import ServeError, serve  # textual-serve: the UI side of the app

    workspace = Path(args.dir).resolve()
    if not workspace.is_dir():
        raise UsageError(f"{workspace} is not a folder")
    try:
        serve(workspace, args.host, args.port, args.public_url)
    except ServeError as error:
        raise UsageError(str(error)) from None
    return EXIT_PASSED


def _open_wizard(ws: Workspace) -> int:
    from paddle_port_tui.tui.app import run_app  # the only Textual import of the CLI, on purpose late

    code = run_app(ws)
    return code if isinstance(code, int) else EXIT_PASSED


COMMANDS = {
    "run": cmd_run,
    "status": cmd_status,
    "cancel": cmd_cancel,
    "generate": cmd_generate,
    "report": cmd_report,
    "doctor": cmd_doctor,
    "demo": cmd_demo,
    "init": cmd_init,
    "convert": cmd_convert,
    "tui": cmd_tui,
    "serve": cmd_serve,
}
