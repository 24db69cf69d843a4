"""The demo workspace written anywhere: complete, scripts current, never overwriting, and it really runs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from paddle_port_checks.config import load_config
from paddle_port_tui.demo import DemoError, write_demo
from paddle_port_tui.generate import plan
from paddle_port_tui.state import State
from paddle_port_tui.steps import STEPS
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


def test_demo_headless_data_step_passes_with_real_frameworks(tmp_path):
    """The real CLI process on the real demo: `run data --json` passes and its evidence exists."""
    root = write_demo(tmp_path / "demo")
    done = subprocess.run([sys.executable, "-m", "paddle_port_tui", "run", "data", "--json", "--workspace", str(root)],
                          capture_output=True, text=True, timeout=300)
    document = json.loads(done.stdout)
    (step,) = document["steps"]
    assert done.returncode == 0, step["error"]
    assert step["status"] == "passed" and step["reference_reused"] is False
    assert {row["key"] for row in step["keys"]} >= {"length", "dataloader_0", "label_0"}
    assert all(path.endswith((".npy", ".log")) for path in step["evidence"])
    for path in [*step["evidence"], step["log"], step["diff_log"]]:
        assert (root / path).is_file()
