"""The tipc step end to end: the generated runner over real programs. The bundled demo's real TIPC port passes
(slow: it trains, exports and infers a ResNet-18); small programs of our own make each failure fast: an
inference program that exits non-zero, one that prints a traceback and exits 0, one that fell into the Paddle 3
export trap, a gpu_list whose multi-card entry this machine cannot run, a prediction that disagrees."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from workspaces import copy_demo, key, run_step

from paddle_port_checks.tipc_files import CONFIG_LINES

TRAIN = """
import sys
from pathlib import Path
flags = dict(arg.split("=", 1) for arg in sys.argv[1:] if "=" in arg)
if "--test-only" in sys.argv:
    sys.exit(0 if Path(flags["--pretrained"]).is_file() else 4)
out = Path(flags["--output-dir"])
out.mkdir(parents=True, exist_ok=True)
(out / "latest.pdparams").write_text("weights")
print(f"iter 1 loss: 2.3, avg_reader_cost: 0.1 sec, avg_batch_cost: 0.2 sec, avg_ips: 5 images/sec {sys.argv[1:]}")
"""
EXPORT = """
import sys
from pathlib import Path
flags = dict(arg.split("=", 1) for arg in sys.argv[1:] if "=" in arg)
out = Path(flags["--save-inference-dir"])
out.mkdir(parents=True, exist_ok=True)
(out / "inference.json").write_text("{}")
(out / "inference.pdiparams").write_text("")
"""
ANSWER = 'print("class_id: 3, prob: 0.50000000")\n'
EXIT_3 = "import sys\nprint('loading')\nsys.exit(3)\n"
SWALLOWED = """
import traceback
try:
    raise RuntimeError("the predictor could not be created")
except RuntimeError:
    traceback.print_exc()
"""
PDMODEL = """
import sys
from pathlib import Path
flags = dict(arg.split("=", 1) for arg in sys.argv[1:] if "=" in arg)
open(Path(flags["--model-dir"]) / "inference.pdmodel")
"""
BASE = """
[reference]
model = "nets:torch_net"
[paddle]
model = "nets:tiny"
[tipc]
train = "train.py"
eval = "train.py --test-only"
export = "export.py"
infer = "infer.py"
data_path = "./lite_data"
image = "./sample.jpg"
gpu_list = "0|0,1"
"""


def fake_port(tmp_path: Path, infer: str, tipc: str = "", predict: str = "") -> Path:
    root = tmp_path / "port"
    (root / "lite_data").mkdir(parents=True)
    (root / "sample.jpg").write_bytes(b"")
    programs = {"train.py": TRAIN, "export.py": EXPORT, "infer.py": infer, "predict.py": predict or ANSWER}
    for name, text in programs.items():
        (root / name).write_text(textwrap.dedent(text))
    (root / "paddle_port.toml").write_text(BASE + tipc)
    return root


def problems(result: dict) -> dict[str, str]:
    return {entry["key"]: entry.get("problem") or "" for entry in result["keys"] if not entry["passed"]}


def test_a_fake_port_passes_and_a_multi_card_entry_is_skipped_with_its_reason(tmp_path: Path) -> None:
    root = fake_port(tmp_path, ANSWER, 'predict = "predict.py"\n')
    code, result = run_step(root, "tipc")
    assert code == 0, problems(result)
    keys = [entry["key"] for entry in result["keys"]]
    assert {"train/0", "eval/0", "export/0", "infer/0/cpu_bs1", "total_seconds"} <= set(keys)
    assert key(result, "predict_vs_infer/class_id")["passed"]
    commands = result["details"]["tipc"]["commands"]
    skipped = [command for command in commands if command["status"] == "skipped"]
    assert [command["command"].split(":")[0] for command in skipped if "infer.py" not in command["command"]] == [
        "gpu_list entry 0,1"
    ]
    assert any(command["command"].startswith("python infer.py --use-gpu=True") for command in skipped)
    assert any(warning.startswith("skipped: gpu_list entry 0,1: no GPU") for warning in result["warnings"])
    ran = [command for command in commands if command["status"] == "successfully"]
    assert all(command["seconds"] is not None and (root / command["log"]).is_file() for command in ran)
    results_log = root / "test_tipc/output/tiny/lite_train_lite_infer/results_python.log"
    assert results_log.read_text().count("Run successfully with command - tiny - ") == len(ran)
    assert len((root / "test_tipc/configs/tiny/train_infer_python.txt").read_text().splitlines()) == CONFIG_LINES


def test_an_inference_program_that_exits_non_zero_fails_the_step_by_name(tmp_path: Path) -> None:
    code, result = run_step(fake_port(tmp_path, EXIT_3), "tipc")
    assert code == 1
    failed = problems(result)
    assert list(failed) == ["infer/0/cpu_bs1"]
    assert failed["infer/0/cpu_bs1"].startswith("failed (see test_tipc/output/tiny/lite_train_lite_infer/python_infer")


def test_a_traceback_behind_exit_0_fails_the_step(tmp_path: Path) -> None:
    code, result = run_step(fake_port(tmp_path, SWALLOWED), "tipc")
    assert code == 1
    assert problems(result) == {
        "infer/0/cpu_bs1": "said successfully, but its log ends in a Python traceback: "
        "RuntimeError: the predictor could not be created"
    }


def test_the_paddle_3_export_trap_is_said_in_those_words(tmp_path: Path) -> None:
    code, result = run_step(fake_port(tmp_path, PDMODEL), "tipc")
    assert code == 1
    assert "Paddle 3 exports inference.json (PIR)" in problems(result)["infer/0/cpu_bs1"]


def test_a_hung_program_is_stopped_at_the_time_limit_naming_its_command(tmp_path: Path) -> None:
    hang = "import time\nprint('loading', flush=True)\ntime.sleep(600)\n"
    started = time.monotonic()
    code, result = run_step(fake_port(tmp_path, hang, "time_limit_s = 6\n"), "tipc")
    assert time.monotonic() - started < 60
    assert code == 1
    problem = problems(result)["time_limit"]
    assert problem.startswith("stopped at the 6 s limit ([tipc] time_limit_s) during: python infer.py --use-gpu=False")
    assert key(result, "train/0")["passed"]  # what ran before it is still read


def test_an_earlier_runs_outputs_never_pass_a_training_that_wrote_nothing(tmp_path: Path) -> None:
    root = fake_port(tmp_path, ANSWER)
    assert run_step(root, "tipc")[0] == 0
    lazy = TRAIN.replace('(out / "latest.pdparams").write_text("weights")', 'print("trained, saved nothing")')
    (root / "train.py").write_text(textwrap.dedent(lazy))
    code, result = run_step(root, "tipc")
    assert code == 1
    assert list(problems(result)) == ["eval/0"]  # the first run's weights are gone: nothing of this run to evaluate


def test_predict_and_infer_that_disagree_fail(tmp_path: Path) -> None:
    other = 'print("class_id: 3, prob: 0.50010000")\n'
    code, result = run_step(fake_port(tmp_path, ANSWER, 'predict = "predict.py"\n', predict=other), "tipc")
    assert code == 1
    assert list(problems(result)) == ["predict_vs_infer/prob"]
    assert key(result, "predict_vs_infer/class_id")["passed"]


def test_a_missing_program_is_one_line_naming_the_key(tmp_path: Path) -> None:
    root = fake_port(tmp_path, ANSWER)
    (root / "export.py").unlink()
    code, result = run_step(root, "tipc")
    assert code == 2
    assert result["error"].endswith(
        "[tipc.export] export.py not found: the TIPC test runs the port's own programs; name yours in [tipc]"
    )
    assert not (root / "test_tipc/output").exists()  # nothing ran


@pytest.mark.e2e
def test_the_demo_is_a_complete_tipc_port(tmp_path: Path) -> None:
    """Issue 13's "done": `paddle-port run tipc` on the demo passes on the CPU, writes the standard files and a
    results_python.log with every command successful; predict and infer agree."""
    root = copy_demo(tmp_path / "demo")
    done = subprocess.run(
        [sys.executable, "-m", "paddle_port_tui", "run", "tipc", "--workspace", str(root)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    for name in ("prepare.sh", "test_train_inference_python.sh", "common_func.sh", "README.md"):
        assert (root / "test_tipc" / name).is_file()
    assert (root / "test_tipc/docs/test_train_inference_python.md").is_file()
    log = (root / "test_tipc/output/resnet18/lite_train_lite_infer/results_python.log").read_text().splitlines()
    assert log and all(line.startswith(("Run successfully", "Run skipped")) for line in log), log
    assert "tipc total:" in done.stdout and "predict_vs_infer" in (root / "result/log/tipc_diff.log").read_text()
    shutil.rmtree(root / "test_tipc/output")


def test_the_run_and_the_report_carry_the_command_table(tmp_path: Path) -> None:
    root = fake_port(tmp_path, ANSWER, 'predict = "predict.py"\n')
    cli = [sys.executable, "-m", "paddle_port_tui"]
    wide = {**os.environ, "COLUMNS": "200"}  # the checklist's rows on one line each
    done = subprocess.run([*cli, "run", "tipc", "-w", str(root)], capture_output=True, text=True, timeout=300, env=wide)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "4 commands successful in" in done.stdout and ", 2 skipped" in done.stdout  # the checklist's line
    report = root / "report.md"
    subprocess.run([*cli, "report", "-w", str(root), "--format", "md", "--output", str(report)], check=True, timeout=60)
    text = report.read_text()
    assert "| stage | gpus | device/bs | status | time | log | why |" in text
    assert "| infer | 0 | gpu/bs1 | - skipped | - | - | no GPU on this machine" in text
    assert "| train | 0,1 | - | - skipped |" in text
    assert "predict (training engine): class 3, prob 0.50000000; infer (Paddle Inference): class 3" in text
