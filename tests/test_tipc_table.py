"""The tipc step's commands as the wizard shows them: parsed live from the runner's status lines (colours,
skips, the `+ command` echo), read from the result, drawn as one table."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from rich.console import Console

from paddle_port_checks.schema import StepResult
from paddle_port_tui.tipc_table import (
    LiveCommands,
    commands_from_output,
    commands_from_result,
    tail_lines,
    tipc_summary,
    tipc_table,
)

OUT = "test_tipc/output/net/lite_train_lite_infer"
TRAIN = f"python train.py --device=cpu --output-dir={OUT}/norm_train_gpus_0 --epochs=1 --batch-size=4"
EVAL = f"python train.py --test-only --device=cpu --pretrained={OUT}/norm_train_gpus_0/latest.pdparams"
EXPORT = (
    f"python tools/export_model.py --pretrained={OUT}/norm_train_gpus_0/latest.pdparams "
    f"--save-inference-dir={OUT}/norm_train_gpus_0"
)
INFER = f"python infer.py --use-gpu=False --batch-size=1 --model-dir={OUT}/norm_train_gpus_0 --img-path=./a.jpg"
INFER_GPU = INFER.replace("--use-gpu=False", "--use-gpu=True")


def plain(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def coloured(colour: int, line: str) -> str:
    return f"\x1b[{colour}m{line}\x1b[0m"


RUN = [
    "TIPC: model net, mode lite_train_lite_infer, 0 GPU(s) visible to Paddle, logs in ./" + OUT,
    coloured(
        33, "Run skipped with command - net - gpu_list entry 0,1: no GPU on this machine, so the multi-card entry!"
    ),
    "Note: no GPU on this machine; gpu_list entry 0 runs on the CPU.",
    f"+ {TRAIN}",
    "epoch 0 loss 2.3 + 0.1",
    coloured(32, f"Run successfully with command - net - {TRAIN}!"),
    f"+ {EVAL}",
    coloured(32, f"Run successfully with command - net - {EVAL}!"),
    f"+ {EXPORT}",
    coloured(31, f"Run failed with command - net - {EXPORT}!"),
    coloured(
        33,
        f"Run skipped with command - net - {INFER_GPU}: no GPU on this machine, so the --use-gpu=True "
        "inference (gpu_list entry 0) does not run!",
    ),
    f"+ {INFER}",
]


def test_live_lines_give_stage_entry_device_and_status_through_colour_codes() -> None:
    rows = commands_from_output(RUN)
    assert [(r.stage, r.entry, r.device, r.batch_size, r.status) for r in rows] == [
        ("train", "0,1", "", None, "skipped"),
        ("train", "0", "", None, "successfully"),
        ("eval", "0", "", None, "successfully"),
        ("export", "0", "", None, "failed"),
        ("infer", "0", "gpu", 1, "skipped"),
        ("infer", "0", "cpu", 1, "running"),
    ]
    assert rows[1].command == TRAIN, "no ANSI code or closing ! left in the command"
    assert rows[3].failed and not rows[1].failed
    assert rows[0].note.startswith("no GPU on this machine") and rows[4].note.endswith("does not run")


def test_live_parsing_is_incremental_and_knows_the_model_given_or_learnt() -> None:
    live = LiveCommands()
    assert not live.feed(RUN[:1]) and live.model_name == "net"
    for line in RUN[1:]:
        live.feed([line])
    assert [row.status for row in live.rows] == [row.status for row in commands_from_output(RUN)]
    # Another model's lines are not this run's; a stray "+ " line of a program does not stay running.
    other = commands_from_output(["Run failed with command - other - python x.py!", "+ not a command", RUN[5]], "net")
    assert [(row.stage, row.status) for row in other] == [("train", "successfully")]
    assert not LiveCommands("net").feed(["loss 1.0", "nothing to see"])


def _result(commands: list[dict[str, Any]], **tipc: Any) -> StepResult:
    details = {
        "mode": "lite_train_lite_infer",
        "model_name": "net",
        "config": "test_tipc/configs/net/x.txt",
        "output": OUT,
        "commands": commands,
        "total_seconds": 12.5,
        "time_limit_s": 600.0,
        "prediction": None,
    } | tipc
    return StepResult(step="tipc", status="failed", details={"tipc": details})


def command(stage: str, status: str, text: str, log: str = "", **more: Any) -> dict[str, Any]:
    row = {
        "stage": stage,
        "status": status,
        "command": text,
        "seconds": 1.5,
        "log": log,
        "entry": "0",
        "device": "",
        "batch_size": None,
        "problem": "",
        "failed": status == "failed",
    }
    return row | more


def test_result_rows_and_table_show_failures_with_their_problem() -> None:
    result = _result(
        [
            command("train", "successfully", TRAIN, f"{OUT}/train_gpus_0.log"),
            command("train", "skipped", "gpu_list entry 0,1: no GPU here", entry="", seconds=0.0),
            command(
                "infer",
                "successfully",
                INFER,
                f"{OUT}/python_infer_cpu_gpus_0_batchsize_1.log",
                device="cpu",
                batch_size=1,
                problem="said successfully, but its log ends in a Python traceback: KeyError: 1",
                failed=True,
            ),
            "not a row",
        ],
        prediction={"predict": [3, 0.5], "infer": [3, 0.5000001], "infer_log": "x.log"},
    )
    rows = commands_from_result(result)
    assert [(r.stage, r.entry, r.status, r.failed) for r in rows] == [
        ("train", "0", "successfully", False),
        ("train", "0,1", "skipped", False),
        ("infer", "0", "successfully", True),
    ]
    text = plain(tipc_table(rows, "TIPC", OUT))
    assert "python_infer_cpu_gpus_0_batchsize_1.log" in text and f"logs in {OUT}/" in text
    assert "cpu/bs1" in text and "✗ failed" in text and "ends in a Python traceback" in text
    summary = plain(tipc_summary(result))
    assert "total 12.5 s of 600 s allowed" in summary and "✓ agree" in summary
    assert commands_from_result(StepResult(step="tipc", status="error")) == []
    assert "over the TIPC time limit" in plain(tipc_summary(_result([], total_seconds=700.0)))


def test_table_reads_at_80_columns() -> None:
    rows = commands_from_result(
        _result(
            [
                command(
                    "infer",
                    "failed",
                    INFER,
                    f"{OUT}/python_infer_cpu_gpus_0_batchsize_1.log",
                    device="cpu",
                    batch_size=1,
                    problem="failed: FileNotFoundError: x",
                )
            ]
        )
    )
    text = plain(tipc_table(rows, "TIPC", OUT), width=76)
    assert all(len(line) <= 76 for line in text.splitlines())
    assert "✗ failed" in text and "cpu/bs1" in text


def test_tail_lines_keeps_the_last_ones(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("".join(f"line {i}\n" for i in range(3000)))
    lines, cut = tail_lines(log, 2000)
    assert cut and len(lines) == 2000 and lines[-1] == "line 2999" and lines[0] == "line 1000"
    lines, cut = tail_lines(log, 2000, max_bytes=100)
    assert cut and lines[-1] == "line 2999" and not lines[0].startswith("ine")
    assert tail_lines(log, 5000) == ([f"line {i}" for i in range(3000)], False)
