"""Checkpoint 10: the TIPC "Linux GPU/CPU basic train-inference" test, run as the port's readers will run it.

Writes the standard `test_tipc/` files (tipc_files.py), runs `prepare.sh` and the runner for `[tipc] mode`
with the output streamed, then reads the commands this run appended (tipc_results.py): every one must have
succeeded without a traceback in its log, the whole within the ten-minute rule; with `[tipc] predict`, the
training-engine prediction program and the exported model's inference program answer alike on one image.
Nothing here imports a framework: the port's own programs do, in their own processes.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from paddle_port_checks.config import Config, ConfigError
from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.tipc_files import PREPARE, RUNNER, write_standard_files
from paddle_port_checks.tipc_results import Command, answer, judge, read_commands, read_log, sizes
from paddle_port_checks.tipc_settings import TIPC_PROGRAMS, TipcSettings

# The prediction programs print their probability; the tutorial's check holds the two engines to this.
PROB_ATOL = 1e-5
STOP_GRACE_S = 5.0  # between SIGTERM and SIGKILL when a run passes its time limit
ZERO = np.asarray(0.0)


def run(context: CheckContext) -> Outcome:
    config, tipc = context.config, context.config.tipc
    root, model_name = config.root, tipc.name_for(config.paddle.model)
    check_programs(config)
    files = write_standard_files(config)
    for relative in files.written:
        print(f"wrote {relative}", flush=True)
    for relative in files.kept:
        context.warn(f"{relative} is yours (changed since paddle-port wrote it, or not written by it): used as it is")
    if tipc.benchmark:
        context.warn("[tipc] benchmark = true needs AutoLog, which is not on PyPI: the programs must run without it")
    folder = root / tipc.output_dir(config.paddle.model)
    start = sizes(folder)
    env = _environment(context)
    config_file = tipc.config_path(config.paddle.model)
    started = time.monotonic()
    deadline = started + tipc.time_limit_s
    outcome = Outcome(ref={}, paddle={})
    prepared = _stream(["bash", PREPARE, config_file, tipc.mode], root, env, deadline)
    if prepared.exit_code != 0:
        why = f"exited {prepared.exit_code}: the data is not ready"
        _fail(outcome, "prepare", f"bash {PREPARE} {config_file} {tipc.mode} {why}")
        return outcome
    streamed = _stream(["bash", RUNNER, config_file, tipc.mode], root, env, deadline)
    exit_code, total = streamed.exit_code, time.monotonic() - started
    if streamed.stopped_during is not None:
        limit = f"{tipc.time_limit_s:g} s"
        _fail(
            outcome,
            "time_limit",
            f"stopped at the {limit} limit ([tipc] time_limit_s) during: {streamed.stopped_during}",
        )
    commands = read_commands(root, folder, model_name, start)
    judge(root, commands, tipc.flags["model_dir"])
    ran = [command for command in commands if command.status != "skipped"]
    for command in commands:
        if command.status == "skipped":
            context.warn(f"skipped: {command.command}")
            continue
        key = _key(command, outcome.ref)
        outcome.ref[key], outcome.paddle[key] = ZERO, ZERO
        if command.failed:
            outcome.problems[key] = command.problem
    if not ran:
        _fail(outcome, "commands", f"the runner ran no command (exit {exit_code}): see its output above")
    elif exit_code != 0 and not any(command.failed for command in ran):
        _fail(outcome, "runner", f"the runner exited {exit_code} though every command it logged succeeded")
    skipped = len(commands) - len(ran)
    # The checklist's line when the run passes: its keys are zeros with problems, its numbers are these.
    outcome.details["decisive"] = f"{len(ran)} commands successful in {total:.1f} s (limit {tipc.time_limit_s:g} s)" + (
        f", {skipped} skipped" if skipped else ""
    )
    outcome.ref["total_seconds"], outcome.paddle["total_seconds"] = ZERO, np.asarray(round(total, 1))
    outcome.thresholds["total_seconds"] = tipc.time_limit_s
    # A run stopped at its limit has failed already: no more time on the prediction program.
    compare = tipc.predict and streamed.stopped_during is None
    prediction = _predict_vs_infer(context, outcome, commands, folder, env) if compare else None
    outcome.details["tipc"] = {
        "mode": tipc.mode,
        "model_name": model_name,
        "config": config_file,
        "output": tipc.output_dir(config.paddle.model),
        "commands": [command.as_dict() for command in commands],
        "total_seconds": round(total, 1),
        "time_limit_s": tipc.time_limit_s,
        "written": files.written,
        "kept": files.kept,
        "prediction": prediction,
    }
    _print_table(commands, total, tipc.time_limit_s)
    return outcome


def check_programs(config: Config) -> None:
    """Each program's script exists before anything runs: a port without its TIPC programs gets one line naming
    the key, not four failed commands."""
    tipc = config.tipc
    for key in TIPC_PROGRAMS:
        program = getattr(tipc, key)
        script = next((part for part in shlex.split(program) if part.endswith(".py")), "")
        if script and not config.resolve(script).is_file():
            given = " (the tutorial layout's default)" if program == getattr(TipcSettings(), key) else ""
            raise ConfigError(
                config.path,
                f"tipc.{key}",
                f"{script} not found{given}: the TIPC test runs the port's own programs; name yours in [tipc]",
            )


def _fail(outcome: Outcome, key: str, problem: str) -> None:
    outcome.ref[key], outcome.paddle[key] = ZERO, ZERO
    outcome.problems[key] = problem


def _key(command: Command, taken: dict[str, Any]) -> str:
    """`train/0`, `infer/0/cpu_bs1`: what the row is, unique in the run."""
    if command.stage == "infer" and command.device:
        key = f"infer/{command.entry}/{command.device}_bs{command.batch_size}"
    elif command.stage and command.entry:
        key = f"{command.stage}/{command.entry}"
    else:
        key = command.stage or "command"
    unique, number = key, 2
    while unique in taken:
        unique, number = f"{key}#{number}", number + 1
    return unique


def _environment(context: CheckContext) -> dict[str, str]:
    """The porter's interpreter first on PATH (the config says `python`), output unbuffered so it streams, and
    the CPU said when the run is on it: the runner then runs one-card entries on the CPU."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env["PYTHONUNBUFFERED"] = "1"
    if context.device.kind == "cpu":
        env["TIPC_DEVICE"] = "cpu"
    return env


class Streamed(NamedTuple):
    exit_code: int
    stopped_during: str | None  # the command that was running when the deadline stopped the run, else None


def _stream(command: list[str], cwd: Path, env: dict[str, str], deadline: float, log: Path | None = None) -> Streamed:
    """Run a command, its output passed through line by line (and into `log`), in a session of its own so the
    whole tree stops at `deadline` (time.monotonic): a hung program must not hang the step past the TIPC limit."""
    print(f"$ {shlex.join(command)}", flush=True)
    running = shlex.join(command)
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    ) as process:
        stopped = threading.Event()
        timer = threading.Timer(max(deadline - time.monotonic(), 0.0), _stop_tree, (process, stopped))
        timer.daemon = True
        timer.start()
        assert process.stdout is not None
        try:
            with open(log, "wb") if log else open(os.devnull, "wb") as copy:
                for raw in process.stdout:
                    copy.write(raw)
                    line = raw.decode("utf-8", errors="replace").rstrip("\n")
                    running = line[2:] if line.startswith("+ ") else running  # the runner echoes each command
                    print(line, flush=True)
        finally:
            timer.cancel()
    return Streamed(process.returncode, running if stopped.is_set() else None)


def _stop_tree(process: subprocess.Popen[bytes], stopped: threading.Event) -> None:
    """SIGTERM to the command's whole session, SIGKILL to what is left a few seconds later."""
    stopped.set()
    for signal_number in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signal_number)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=STOP_GRACE_S)
            return
        except subprocess.TimeoutExpired:
            continue


def _predict_vs_infer(
    context: CheckContext, outcome: Outcome, commands: list[Command], folder: Path, env: dict[str, str]
) -> dict[str, Any] | None:
    """The training-engine prediction program on the trained weights and the image the inference program
    read; both answers (class id, probability) compared. None when there is nothing to compare with."""
    tipc, root = context.config.tipc, context.config.root
    on_cpu = context.device.kind == "cpu"
    inferred = [c for c in commands if c.stage == "infer" and c.batch_size == 1 and not c.failed]
    inferred.sort(key=lambda c: c.device != ("cpu" if on_cpu else "gpu"))
    trained = next((c for c in commands if c.stage == "train" and not c.failed), None)
    weights = tipc.train_model if tipc.mode == "whole_infer" else ""
    if trained is not None and not weights:
        weights = str(folder.relative_to(root) / f"norm_train_gpus_{trained.entry}" / tipc.train_model_name)
    if not inferred or not weights:
        _fail(outcome, "predict", "no trained weights and successful batch-size-1 inference to compare predict with")
        return None
    infer_answer = answer(read_log(root, inferred[0]))
    flags = tipc.flags
    arguments = [(flags["pretrained"], weights), (flags["image"], tipc.image)]
    arguments.append((flags["device"], tipc.device_values[1 if on_cpu else 0]))
    command = [*shlex.split(tipc.python), *shlex.split(tipc.predict)]
    command += [f"{flag}={value}" for flag, value in arguments if flag]
    log = folder / "predict.log"
    exit_code = _stream(command, root, env, time.monotonic() + tipc.time_limit_s, log).exit_code
    predict_answer = answer(log.read_text(encoding="utf-8", errors="replace"))
    found = {"predict": predict_answer, "infer": infer_answer, "infer_log": inferred[0].log}
    missing = [name for name, value in (("predict", predict_answer), ("infer", infer_answer)) if value is None]
    if exit_code != 0 or missing:
        why = f"exited {exit_code}" if exit_code != 0 else f"{' and '.join(missing)} printed no 'class_id: N, prob: P'"
        _fail(outcome, "predict", f"{shlex.join(command)} {why} (see {log.relative_to(root)})")
        return found
    assert predict_answer is not None and infer_answer is not None
    for index, name in enumerate(("class_id", "prob")):
        key = f"predict_vs_infer/{name}"
        outcome.ref[key], outcome.paddle[key] = np.asarray(predict_answer[index]), np.asarray(infer_answer[index])
        outcome.thresholds[key] = 0.0 if name == "class_id" else PROB_ATOL
    return found


def _print_table(commands: list[Command], total: float, limit: float) -> None:
    print("tipc commands:", flush=True)
    for command in commands:
        seconds = "-" if command.seconds is None else f"{command.seconds:.1f} s"
        status = "FAILED" if command.failed else command.status
        print(f"  {command.stage or '?':6} {command.entry or '-':5} {status:12} {seconds:>8}  {command.log or '-'}")
        if command.problem:
            print(f"         {command.problem}")
    print(f"tipc total: {total:.1f} s (limit {limit:g} s)", flush=True)
