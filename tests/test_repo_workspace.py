"""The repository root is the demo workspace: its committed scripts are the templates' output, and they
run with plain `python` and print reprod_log's lines."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from workspaces import REPO, copy_demo

from paddle_port_checks.catalogue import STEPS
from paddle_port_tui.generate import render_script

LOG_LINE = r"\[\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\] root INFO: "


@pytest.mark.parametrize("step", STEPS, ids=[step.id for step in STEPS])
def test_committed_script_is_the_rendered_template(step) -> None:
    assert (REPO / step.script).read_text() == render_script(step), f"regenerate {step.script}"


def test_forward_script_runs_with_plain_python_and_prints_reprod_log_lines(tmp_path: Path) -> None:
    workspace = copy_demo(tmp_path)
    shutil.copytree(REPO / "test_tipc", workspace / "test_tipc")
    done = subprocess.run(
        [sys.executable, "test_tipc/01_test_forward.py"], cwd=workspace, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(LOG_LINE + r"logits: \n", done.stdout)
    assert re.search(LOG_LINE + r"\tmean diff: check passed: True, value: [0-9.e-]+\n", done.stdout)
    assert re.search(LOG_LINE + r"diff check passed\n", done.stdout)
    assert (workspace / "result/forward_ref.npy").is_file() and (workspace / "result/log/forward_diff.log").is_file()
