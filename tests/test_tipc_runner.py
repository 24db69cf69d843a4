"""The static TIPC shell templates (templates/tipc/*.sh) against a fake repository of tiny Python programs.

Everything runs on the CPU (`TIPC_DEVICE=cpu`), with the test's own interpreter on config line 3, so no
Paddle is imported: the runner's parsing, command building, logs, results_python.log lines and
commands.tsv rows are what is under test (docs/tipc.md is the contract).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "tipc"
SCRIPTS = ("common_func.sh", "prepare.sh", "test_train_inference_python.sh")
MODEL = "fake"
# -S: the fake programs need only the standard library, and skipping site cuts each start ~3x; it also
# shows that a python line with options works (the runner evals its commands).
PY = f"{sys.executable} -S"

TRAIN = """\
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--device"); p.add_argument("--epochs"); p.add_argument("--output-dir")
p.add_argument("--batch-size"); p.add_argument("--pretrained"); p.add_argument("--data-path")
p.add_argument("--test-only", action="store_true")
a = p.parse_args()
assert os.path.isdir(a.data_path), a.data_path
if a.test_only:
    assert os.path.isfile(a.pretrained), a.pretrained
    print(f"eval acc_top1 0.5 device={a.device} weights={a.pretrained}")
else:
    os.makedirs(a.output_dir, exist_ok=True)
    with open(os.path.join(a.output_dir, "latest.pdparams"), "w") as f:
        f.write("weights")
    print(f"epoch 0 loss 1.25 device={a.device} epochs={a.epochs} batch={a.batch_size}")
"""

EXPORT = """\
import argparse, os
p = argparse.ArgumentParser()
p.add_argument("--pretrained"); p.add_argument("--save-inference-dir")
a = p.parse_args()
assert os.path.isfile(a.pretrained), a.pretrained
os.makedirs(a.save_inference_dir, exist_ok=True)
with open(os.path.join(a.save_inference_dir, "inference.json"), "w") as f:
    f.write("{}")
print(f"exported {a.pretrained} to {a.save_inference_dir}")
"""

INFER = """\
import argparse, os, sys
p = argparse.ArgumentParser()
p.add_argument("--use-gpu"); p.add_argument("--batch-size"); p.add_argument("--model-dir")
p.add_argument("--img-path"); p.add_argument("--benchmark")
a = p.parse_args()
assert os.path.isfile(os.path.join(a.model_dir, "inference.json")), a.model_dir
assert os.path.isfile(a.img_path), a.img_path
print(f"batch {a.batch_size}: class_id: 3, prob: 0.5")
sys.exit(EXIT_CODE)
"""


def config_lines(**overrides: str) -> list[str]:
    """The 32 config lines, keyed by 1-based line number as `l<N>=...`."""
    lines = {
        1: "===========================train_params===========================",
        2: f"model_name:{MODEL}",
        3: f"python:{PY}",
        4: "gpu_list:-1",
        5: "--device:gpu|cpu",
        6: "--epochs:lite_train_lite_infer=1|whole_train_whole_infer=2",
        7: "--output-dir:./output/",
        8: "--batch-size:lite_train_lite_infer=4|whole_train_whole_infer=8",
        9: "--pretrained:null",
        10: "train_model_name:latest.pdparams",
        11: "--data-path:./lite_data",
        12: "##",
        13: "trainer:norm_train",
        14: "norm_train:train.py",
        15: "##",
        16: "===========================eval_params===========================",
        17: "eval:train.py --test-only",
        18: "##",
        19: "===========================infer_params===========================",
        20: "--save-inference-dir:./output/fake_infer/",
        21: "--pretrained:",
        22: "norm_export:tools/export_model.py",
        23: "##",
        24: "train_model:./weights/best.pdparams",
        25: "infer_export:tools/export_model.py",
        26: "##",
        27: "inference:deploy/infer.py",
        28: "--use-gpu:False",
        29: "--batch-size:1",
        30: "--model-dir:null",
        31: "--img-path:./images/demo.jpg",
        32: "--benchmark:False",
    }
    for key, value in overrides.items():
        lines[int(key.removeprefix("l"))] = value
    return [lines[n] for n in range(1, 33)]


def make_repo(root: Path, infer_exit: int = 0, **overrides: str) -> Path:
    (root / "tools").mkdir()
    (root / "deploy").mkdir()
    (root / "lite_data").mkdir()
    (root / "images").mkdir()
    (root / "weights").mkdir()
    (root / "images" / "demo.jpg").write_bytes(b"jpg")
    (root / "weights" / "best.pdparams").write_text("weights")
    (root / "train.py").write_text(TRAIN)
    (root / "tools" / "export_model.py").write_text(EXPORT)
    (root / "deploy" / "infer.py").write_text(INFER.replace("EXIT_CODE", str(infer_exit)))
    tipc = root / "test_tipc"
    (tipc / "configs" / MODEL).mkdir(parents=True)
    for name in SCRIPTS:
        shutil.copy(TEMPLATES / name, tipc / name)
    config = tipc / "configs" / MODEL / "train_infer_python.txt"
    config.write_text("\n".join(config_lines(**overrides)) + "\n")
    return config


def bash(root: Path, script: str, mode: str, cpu: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TIPC_DEVICE": "cpu"}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    if not cpu:
        env.pop("TIPC_DEVICE")
    config = f"test_tipc/configs/{MODEL}/train_infer_python.txt"
    return subprocess.run(
        ["bash", f"test_tipc/{script}", config, mode],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def run_tipc(root: Path, mode: str = "lite_train_lite_infer") -> subprocess.CompletedProcess[str]:
    return bash(root, "test_train_inference_python.sh", mode)


def results(root: Path, mode: str = "lite_train_lite_infer") -> list[str]:
    return (root / "test_tipc" / "output" / MODEL / mode / "results_python.log").read_text().splitlines()


def rows(root: Path, mode: str = "lite_train_lite_infer") -> list[list[str]]:
    text = (root / "test_tipc" / "output" / MODEL / mode / "commands.tsv").read_text()
    return [line.split("\t") for line in text.splitlines()]


def ok(command: str) -> str:
    return f"Run successfully with command - {MODEL} - {command}!"


LOG = "./test_tipc/output/fake/lite_train_lite_infer"
DATA = "./lite_data"


def lite_commands(entry: str = "-1", device: str = "cpu") -> dict[str, str]:
    out = f"{LOG}/norm_train_gpus_{entry}"
    return {
        "train": f"{PY} train.py --device={device} --output-dir={out} --epochs=1 --batch-size=4 --data-path={DATA}",
        "eval": f"{PY} train.py --test-only --device={device} --pretrained={out}/latest.pdparams --data-path={DATA}",
        "export": f"{PY} tools/export_model.py --pretrained={out}/latest.pdparams --save-inference-dir={out}",
        "infer": f"{PY} deploy/infer.py --use-gpu=False --batch-size=1 --model-dir={out} "
        "--img-path=./images/demo.jpg --benchmark=False",
    }


def test_lite_mode_runs_train_eval_export_infer(tmp_path: Path) -> None:
    make_repo(tmp_path, l28="--use-gpu:True|False", l29="--batch-size:1|2")
    prepared = bash(tmp_path, "prepare.sh", "lite_train_lite_infer")
    assert prepared.returncode == 0, prepared.stdout + prepared.stderr

    done = run_tipc(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr

    c = lite_commands()
    infer = {bs: c["infer"].replace("--batch-size=1", f"--batch-size={bs}") for bs in ("1", "2")}
    gpu_infer = {bs: infer[bs].replace("--use-gpu=False", "--use-gpu=True") for bs in ("1", "2")}
    why = "no GPU on this machine, so the --use-gpu=True inference (gpu_list entry -1) does not run"
    assert results(tmp_path) == [
        ok(c["train"]),
        ok(c["eval"]),
        ok(c["export"]),
        f"Run skipped with command - {MODEL} - {gpu_infer['1']}: {why}!",
        f"Run skipped with command - {MODEL} - {gpu_infer['2']}: {why}!",
        ok(infer["1"]),
        ok(infer["2"]),
    ]
    # The terminal gets the same lines (no colour: stdout is not a terminal here).
    assert ok(c["train"]) in done.stdout.splitlines()

    table = rows(tmp_path)
    assert [(r[0], r[1], r[4]) for r in table] == [
        ("train", "successfully", c["train"]),
        ("eval", "successfully", c["eval"]),
        ("export", "successfully", c["export"]),
        ("infer", "skipped", f"{gpu_infer['1']}: {why}"),
        ("infer", "skipped", f"{gpu_infer['2']}: {why}"),
        ("infer", "successfully", infer["1"]),
        ("infer", "successfully", infer["2"]),
    ]
    for row in table:
        assert len(row) == 5
        assert float(row[2]) >= 0 and "." in row[2] and len(row[2].split(".")[1]) == 1
    assert [r[3] for r in table] == [
        f"{LOG}/train_gpus_-1.log",
        f"{LOG}/eval_gpus_-1.log",
        f"{LOG}/export_gpus_-1.log",
        "-",
        "-",
        f"{LOG}/python_infer_cpu_gpus_-1_batchsize_1.log",
        f"{LOG}/python_infer_cpu_gpus_-1_batchsize_2.log",
    ]
    logs = {Path(r[3]).name: (tmp_path / r[3]).read_text() for r in table if r[3] != "-"}
    assert "epoch 0 loss 1.25 device=cpu epochs=1 batch=4" in logs["train_gpus_-1.log"]
    assert "eval acc_top1 0.5 device=cpu" in logs["eval_gpus_-1.log"]
    assert "exported" in logs["export_gpus_-1.log"]
    assert "batch 2: class_id: 3, prob: 0.5" in logs["python_infer_cpu_gpus_-1_batchsize_2.log"]
    assert (tmp_path / LOG / "norm_train_gpus_-1" / "inference.json").is_file()


def test_gpu_list_on_cpu_runs_one_card_and_skips_a_list(tmp_path: Path) -> None:
    make_repo(tmp_path, l4="gpu_list:0|0,1")
    done = run_tipc(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "gpu_list entry 0 runs on the CPU" in done.stdout

    c = lite_commands(entry="0")
    lines = results(tmp_path)
    assert lines[:4] == [ok(c["train"]), ok(c["eval"]), ok(c["export"]), ok(c["infer"])]
    assert len(lines) == 5
    assert lines[4].startswith(f"Run skipped with command - {MODEL} - gpu_list entry 0,1: ")
    assert "0,1" in lines[4].split(": ", 1)[1] and lines[4].endswith("!")
    assert rows(tmp_path)[4][:4] == ["train", "skipped", "0.0", "-"]
    assert (tmp_path / LOG / "train_gpus_0.log").is_file()
    assert not (tmp_path / LOG / "norm_train_gpus_0,1").exists()


def test_failing_infer_fails_that_command_and_the_run(tmp_path: Path) -> None:
    make_repo(tmp_path, infer_exit=3)
    done = run_tipc(tmp_path)
    assert done.returncode == 1

    c = lite_commands()
    assert results(tmp_path) == [
        ok(c["train"]),
        ok(c["eval"]),
        ok(c["export"]),
        f"Run failed with command - {MODEL} - {c['infer']}!",
    ]
    assert [r[1] for r in rows(tmp_path)] == ["successfully", "successfully", "successfully", "failed"]
    # The program's output still reaches its log when it fails.
    assert "class_id: 3" in (tmp_path / LOG / "python_infer_cpu_gpus_-1_batchsize_1.log").read_text()


def test_null_eval_runs_no_eval(tmp_path: Path) -> None:
    make_repo(tmp_path, l17="eval:null")
    done = run_tipc(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert [r[0] for r in rows(tmp_path)] == ["train", "export", "infer"]
    assert not (tmp_path / LOG / "eval_gpus_-1.log").exists()


def test_epochs_and_batch_size_follow_the_mode(tmp_path: Path) -> None:
    make_repo(tmp_path, l11="--data-path:lite_train_lite_infer=./lite_data|whole_train_whole_infer=./full_data")
    (tmp_path / "full_data").mkdir()
    assert run_tipc(tmp_path, "whole_train_whole_infer").returncode == 0
    train = rows(tmp_path, "whole_train_whole_infer")[0][4]
    assert "--epochs=2 --batch-size=8 --data-path=./full_data" in train
    assert run_tipc(tmp_path).returncode == 0
    assert "--epochs=1 --batch-size=4 --data-path=./lite_data" in rows(tmp_path)[0][4]
    # lite_train_whole_infer trains on the lite values when the config names none of its own.
    assert run_tipc(tmp_path, "lite_train_whole_infer").returncode == 0
    assert "--epochs=1 --batch-size=4 --data-path=./lite_data" in rows(tmp_path, "lite_train_whole_infer")[0][4]


def test_results_are_appended_across_runs(tmp_path: Path) -> None:
    make_repo(tmp_path)
    assert run_tipc(tmp_path).returncode == 0
    first = results(tmp_path)
    assert run_tipc(tmp_path).returncode == 0
    assert results(tmp_path) == first + first
    assert len(rows(tmp_path)) == 2 * len(first)


def test_whole_infer_exports_the_given_weights_then_infers(tmp_path: Path) -> None:
    make_repo(tmp_path)
    assert bash(tmp_path, "prepare.sh", "whole_infer").returncode == 0
    done = run_tipc(tmp_path, "whole_infer")
    assert done.returncode == 0, done.stdout + done.stderr
    out = "./output/fake_infer/"
    assert results(tmp_path, "whole_infer") == [
        ok(f"{PY} tools/export_model.py --pretrained=./weights/best.pdparams --save-inference-dir={out}"),
        ok(
            f"{PY} deploy/infer.py --use-gpu=False --batch-size=1 --model-dir={out} "
            "--img-path=./images/demo.jpg --benchmark=False"
        ),
    ]
    assert (tmp_path / out / "inference.json").is_file()
    assert [r[3].rsplit("/", 1)[1] for r in rows(tmp_path, "whole_infer")] == [
        "export_gpus_-1.log",
        "python_infer_cpu_gpus_-1_batchsize_1.log",
    ]


@pytest.mark.parametrize(
    ("mode", "remove", "named"),
    [
        ("lite_train_lite_infer", "lite_data", "./lite_data"),
        ("whole_infer", "weights/best.pdparams", "./weights/best.pdparams"),
    ],
)
def test_prepare_names_what_is_missing(tmp_path: Path, mode: str, remove: str, named: str) -> None:
    make_repo(tmp_path)
    target = tmp_path / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    done = bash(tmp_path, "prepare.sh", mode)
    assert done.returncode == 1
    assert named in done.stderr


def test_prepare_whole_mode_says_what_to_provide(tmp_path: Path) -> None:
    make_repo(tmp_path)
    done = bash(tmp_path, "prepare.sh", "whole_train_whole_infer")
    assert "provide it yourself" in done.stdout
    assert done.returncode == 0  # ./lite_data exists, so line 11's path is there


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    make_repo(tmp_path)
    done = run_tipc(tmp_path, "fast_mode")
    assert done.returncode == 1
    assert "unknown mode" in done.stderr
    assert not (tmp_path / "test_tipc" / "output").exists()


@pytest.mark.parametrize("script", SCRIPTS)
def test_scripts_parse(script: str) -> None:
    assert subprocess.run(["bash", "-n", str(TEMPLATES / script)]).returncode == 0


# Stands in for a Python with Paddle on a two-GPU machine: answers the runner's device count, plays the
# launcher, and reports the CUDA_VISIBLE_DEVICES each program saw.
FAKE_GPU_PYTHON = """\
#!/bin/bash
if [ "$1" = "-c" ]; then echo 2; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "paddle.distributed.launch" ]; then echo "launch $3"; shift 3; fi
echo "CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES-unset}"
exec PYTHON "$@"
"""


def test_gpu_entries_get_their_cards_and_the_launcher(tmp_path: Path) -> None:
    fake = tmp_path / "fakepy"
    fake.write_text(FAKE_GPU_PYTHON.replace("PYTHON", PY))
    fake.chmod(0o755)
    make_repo(tmp_path, l3=f"python:{fake}", l4="gpu_list:0|0,1", l28="--use-gpu:True|False")
    done = bash(tmp_path, "test_train_inference_python.sh", "lite_train_lite_infer", cpu=False)
    assert done.returncode == 0, done.stdout + done.stderr

    table = rows(tmp_path)
    assert [r[0] for r in table] == 2 * ["train", "eval", "export", "infer", "infer"]
    assert all(r[1] == "successfully" for r in table)
    log = {Path(r[3]).name: (tmp_path / r[3]).read_text() for r in table}
    assert "CUDA_VISIBLE_DEVICES=0" in log["train_gpus_0.log"] and "device=gpu" in log["train_gpus_0.log"]
    # The launcher sees every card; the single-process stages after it run on the list's first.
    assert "launch --gpus=0,1\nCUDA_VISIBLE_DEVICES=unset" in log["train_gpus_0,1.log"]
    assert f"{fake} -m paddle.distributed.launch --gpus=0,1 train.py --device=gpu" in table[5][4]
    assert "CUDA_VISIBLE_DEVICES=0" in log["eval_gpus_0,1.log"]
    assert "class_id: 3" in log["python_infer_gpu_gpus_0_batchsize_1.log"]
    assert "python_infer_cpu_gpus_0,1_batchsize_1.log" in log
