"""The demo workspace written anywhere: complete, scripts current, never overwriting, and it really runs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from paddle_port_checks.catalogue import STEPS, step_by_id
from paddle_port_checks.config import load_config
from paddle_port_tui.demo import DemoError, write_demo
from paddle_port_tui.generate import plan
from paddle_port_tui.state import State
from paddle_port_tui.workspace import Workspace


def test_write_demo_writes_a_complete_workspace(tmp_path):
    root = write_demo(tmp_path / "demo")
    ws = Workspace(root)
    config = load_config(ws.config_path)
    assert (root / "demo_port" / "torch_model.py").is_file() and (root / "lite_data.txt").is_file()
    images = [line.split()[0] for line in (root / "lite_data.txt").read_text().splitlines() if line.strip()]
    assert images and all((root / image).is_file() for image in images)
    assert config.reference.model.startswith("demo_port.")
    assert not list(root.rglob("__pycache__"))
    assert [plan(ws, State(), step).status for step in STEPS] == ["current"] * len(STEPS)
    assert write_demo(root) == root  # writing the same demo again is harmless


def test_write_demo_refuses_to_overwrite_different_files(tmp_path):
    root = write_demo(tmp_path / "demo")
    edited = root / "demo_port" / "paddle_model.py"
    edited.write_text(edited.read_text() + "\n# the porter's change\n")
    with pytest.raises(DemoError, match="demo_port/paddle_model.py"):
        write_demo(root)
    assert edited.read_text().endswith("# the porter's change\n")


@pytest.mark.e2e
def test_demo_headless_json_passes_every_step_with_its_evidence(tmp_path):
    """Issue 2's "done": `paddle-port demo DIR --headless --json` on CPU, real frameworks, real subprocesses."""
    root = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "paddle_port_tui", "demo", str(root), "--headless", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    document = json.loads(done.stdout)
    failing = {
        step["id"]: step["error"] or [key["key"] for key in step["keys"] if not key["passed"]][:5]
        for step in document["steps"]
        if step["status"] != "passed"
    }
    assert done.returncode == 0 and document["passed"], failing
    assert [step["id"] for step in document["steps"]] == [step.id for step in STEPS]
    assert all(step["status"] == "passed" for step in document["steps"])
    assert (root / "weights/reference.pth").is_file()  # the demo made its checkpoint
    for step in document["steps"]:
        assert step["reference_reused"] is (None if step["id"] == "tipc" else False)  # tipc runs no reference
        assert {Path(path).name for path in step["evidence"]} == {
            Path(path).name for path in step_by_id(step["id"]).evidence
        }
        for path in [*step["evidence"], step["log"], step["result"]]:
            assert Path(path).is_file(), path
    forward = document["steps"][0]
    assert forward["keys"][0]["key"] == "logits" and forward["keys"][0]["mean"] <= 1e-5


@pytest.mark.e2e
@pytest.mark.parametrize("model", ["text", "sequence"])
def test_the_text_and_sequence_demos_pass_every_step_headless(tmp_path, model):
    """Issue 8's "done": the demos of other model families pass every step, in one worker, with only their
    model factories and (text) the [inputs] table written."""
    root = tmp_path / model
    done = subprocess.run(
        [sys.executable, "-m", "paddle_port_tui", "demo", str(root), "--model", model, "--headless", "--json"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    document = json.loads(done.stdout)
    failing = {
        step["id"]: step["error"] or [key["key"] for key in step["keys"] if not key["passed"]][:5]
        for step in document["steps"]
        if step["status"] != "passed"
    }
    assert done.returncode == 0 and document["passed"], failing
    assert all(step["status"] == "passed" for step in document["steps"])
    keys = {step["id"]: [key["key"] for key in step["keys"]] for step in document["steps"]}
    assert keys["forward"] == ["logits"]
    if model == "text":  # a batch of named inputs is compared input by input
        assert {"dataloader_0/input_ids", "dataloader_0/attention_mask"} <= set(keys["data"])
