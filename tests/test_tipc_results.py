"""Reading a TIPC run: only this run's lines, the status from results_python.log, stage/time/log from
commands.tsv, a traceback behind a success, the Paddle 3 export trap, a prediction program's answer."""

from __future__ import annotations

from pathlib import Path

from paddle_port_checks.tipc_results import (
    COMMANDS_TSV,
    RESULTS_LOG,
    answer,
    judge,
    read_commands,
    sizes,
    traceback_end,
)

OUT = "test_tipc/output/net/lite_train_lite_infer"
TRACEBACK = """loading model
Traceback (most recent call last):
  File "infer.py", line 3, in <module>
    main()
  File "infer.py", line 2, in main
    raise FileNotFoundError("inference.pdmodel")
FileNotFoundError: inference.pdmodel
"""


def run_lines(root: Path, rows: list[tuple[str, str, str, str, str]], logs: dict[str, str]) -> Path:
    folder = root / OUT
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / RESULTS_LOG).open("a") as results, (folder / COMMANDS_TSV).open("a") as tsv:
        for stage, status, seconds, log, command in rows:
            results.write(f"Run {status} with command - net - {command}!\n")
            tsv.write(f"{stage}\t{status}\t{seconds}\t{log}\t{command}\n")
    for name, text in logs.items():
        (folder / name).write_text(text)
    return folder


def test_rows_join_status_and_details_and_read_only_this_run(tmp_path: Path) -> None:
    folder = run_lines(tmp_path, [("train", "failed", "1.0", f"{OUT}/train_gpus_0.log", "python old.py")], {})
    start = sizes(folder)
    run_lines(
        tmp_path,
        [
            ("train", "successfully", "3.4", f"./{OUT}/train_gpus_0.log", "python train.py --epochs=1"),
            ("train", "skipped", "0", "-", "gpu_list entry 0,1: no GPUs on this machine"),
            ("infer", "successfully", "1.2", f"{OUT}/python_infer_cpu_gpus_0_batchsize_1.log", "python infer.py"),
        ],
        {"train_gpus_0.log": "loss: 2.3\n", "python_infer_cpu_gpus_0_batchsize_1.log": "class_id: 3, prob: 0.5\n"},
    )
    commands = read_commands(tmp_path, folder, "net", start)
    assert [(c.stage, c.status, c.entry) for c in commands] == [
        ("train", "successfully", "0"),
        ("train", "skipped", "0,1"),  # a skipped row's entry is read off its words
        ("infer", "successfully", "0"),
    ]
    assert commands[0].seconds == 3.4 and commands[0].log == f"{OUT}/train_gpus_0.log"
    assert (commands[2].device, commands[2].batch_size) == ("cpu", 1)
    judge(tmp_path, commands, "--model-dir")
    assert not any(c.failed for c in commands)


def test_a_success_whose_log_ends_in_a_traceback_fails(tmp_path: Path) -> None:
    log = f"{OUT}/python_infer_cpu_gpus_0_batchsize_1.log"
    folder = run_lines(
        tmp_path,
        [("infer", "successfully", "0.8", log, "python infer.py --model-dir=out")],
        {Path(log).name: TRACEBACK},
    )
    commands = read_commands(tmp_path, folder, "net", {RESULTS_LOG: (0, 0), COMMANDS_TSV: (0, 0)})
    judge(tmp_path, commands, "--model-dir")
    assert commands[0].failed
    assert commands[0].problem == (
        "said successfully, but its log ends in a Python traceback: FileNotFoundError: inference.pdmodel"
    )


def test_the_paddle_3_export_trap_is_named(tmp_path: Path) -> None:
    log = f"{OUT}/python_infer_cpu_gpus_0_batchsize_1.log"
    model_dir = tmp_path / "out/model"
    model_dir.mkdir(parents=True)
    (model_dir / "inference.json").write_text("{}")
    folder = run_lines(
        tmp_path,
        [("infer", "failed", "0.8", log, "python infer.py --model-dir=out/model --img-path=x.jpg")],
        {Path(log).name: TRACEBACK},
    )
    commands = read_commands(tmp_path, folder, "net", {RESULTS_LOG: (0, 0), COMMANDS_TSV: (0, 0)})
    judge(tmp_path, commands, "--model-dir")
    assert "Paddle 3 exports inference.json (PIR)" in commands[0].problem


def test_a_failure_says_its_exception() -> None:
    assert traceback_end(TRACEBACK) == "FileNotFoundError: inference.pdmodel"
    assert traceback_end(TRACEBACK + "retrying without the model\n") is None  # it went on after it
    assert traceback_end("all good\n") is None
    chained = TRACEBACK + "\nDuring handling of the above exception, another exception occurred:\n\n" + TRACEBACK
    assert traceback_end(chained) == "FileNotFoundError: inference.pdmodel"


def test_an_older_runner_without_commands_tsv_still_gives_rows(tmp_path: Path) -> None:
    folder = tmp_path / OUT
    folder.mkdir(parents=True)
    (folder / RESULTS_LOG).write_text(
        "\x1b[33m Run successfully with command - net - python train.py --epochs=1!\x1b[0m\n"
        "Run failed with command - net - python infer.py!\n"
    )
    commands = read_commands(tmp_path, folder, "net", sizes(tmp_path / "elsewhere"))
    assert [(c.status, c.command, c.seconds) for c in commands] == [
        ("successfully", "python train.py --epochs=1", None),
        ("failed", "python infer.py", None),
    ]


def test_the_answer_of_a_prediction_program() -> None:
    assert answer("image: x.jpg\nclass_id: 281, prob: 0.91234567\n") == (281, 0.91234567)
    assert answer("class_id=3 prob=1e-3\nclass_id: 4, prob: 0.25") == (4, 0.25)
    assert answer("nothing") is None


def test_a_log_the_runner_recreated_is_read_from_its_start(tmp_path: Path) -> None:
    """A porter's own runner that clears its logs: an offset into the old file would skip the new first rows."""
    folder = run_lines(tmp_path, [("train", "successfully", "1.0", "-", f"python old.py {'x' * 400}")], {})
    start = sizes(folder)
    (folder / RESULTS_LOG).unlink()
    (folder / COMMANDS_TSV).unlink()
    run_lines(tmp_path, [("train", "failed", "2.0", "-", "python train.py")], {})
    assert [(c.status, c.command) for c in read_commands(tmp_path, folder, "net", start)] == [
        ("failed", "python train.py")
    ]


def test_output_after_a_handled_traceback_is_no_failure() -> None:
    assert traceback_end(TRACEBACK + "class_id: 3, prob: 0.5\n") is None
    assert traceback_end(TRACEBACK.replace("FileNotFoundError: inference.pdmodel", "loss: 0.1")) is None
    enforce = TRACEBACK.replace("FileNotFoundError", "paddle.base.core.EnforceNotMet")
    assert traceback_end(enforce) == "paddle.base.core.EnforceNotMet: inference.pdmodel"  # Paddle's C++ error
    assert (
        traceback_end(TRACEBACK.replace("FileNotFoundError", "KeyboardInterrupt"))
        == "KeyboardInterrupt: inference.pdmodel"
    )
