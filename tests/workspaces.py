"""Real demo workspaces for tests: the repository's demo port copied into a temporary folder."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from paddle_port_tui.demo import CHECKPOINT, make_checkpoint

REPO = Path(__file__).resolve().parents[1]
DEMO_FILES = ("demo_port", "lite_data", "lite_data.txt", "paddle_port.toml")


def copy_demo(dest: Path) -> Path:
    """The demo port in `dest` with its reference checkpoint (no generated scripts, no results)."""
    for name in DEMO_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, dest / name)
    install_demo_checkpoint(dest)
    return dest


@functools.cache
def demo_checkpoint() -> Path:
    """The demo's reference checkpoint, made once per test session (about ten seconds) and then copied."""
    folder = Path(tempfile.mkdtemp(prefix="paddle-port-demo-checkpoint-"))
    make_checkpoint(REPO, sys.executable)  # no-op when the repository root already has it
    shutil.copy2(REPO / CHECKPOINT, folder / "reference.pth")
    return folder / "reference.pth"


def install_demo_checkpoint(workspace: Path) -> None:
    (workspace / "weights").mkdir(exist_ok=True)
    shutil.copy2(demo_checkpoint(), workspace / CHECKPOINT)


def set_config(workspace: Path, old: str, new: str) -> None:
    """Edit the workspace config in place (the test names exactly the text it changes)."""
    config = workspace / "paddle_port.toml"
    text = config.read_text()
    assert old in text, f"{old!r} not in {config}"
    config.write_text(text.replace(old, new, 1))


def run_step(
    workspace: Path, step: str, compute: Any = None, *args: str, after_compare: Any = None
) -> tuple[int, dict[str, Any]]:
    """Run one real check in this process (frameworks imported once per test session)."""
    import sys
    from importlib import import_module

    from paddle_port_checks.session import run_check

    # In-process runs share sys.modules and sys.path: each runs as a new process would (no other workspace's
    # demo_port), and leaves both as it found them for the tests after it.
    saved_path, saved_environ, saved_cwd = list(sys.path), dict(os.environ), os.getcwd()
    forget_workspace_modules()
    sys.path[:] = [entry for entry in sys.path if not (Path(entry) / "paddle_port.toml").is_file()]
    try:
        module = import_module(f"paddle_port_checks.steps.{step}")
        config = ["--config", str(workspace / "paddle_port.toml"), *args]
        code = run_check(step, workspace, compute or module.run, config, after_compare=after_compare)
    finally:
        forget_workspace_modules()
        os.chdir(saved_cwd)
        sys.path[:] = saved_path
        os.environ.clear()
        os.environ.update(saved_environ)
        # The worker's per-process memos (built model, evaluations) belong to one run, as in a real worker.
        from paddle_port_checks import models
        from paddle_port_checks.steps import metric

        models._BUILT.clear()
        metric._EVALUATED.clear()
    return code, json.loads((workspace / "result" / f"{step}.json").read_text())


def forget_workspace_modules() -> None:
    for name in [name for name in sys.modules if name.split(".")[0] in ("demo_port", "input_twins", "training_twins")]:
        del sys.modules[name]


def key(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(entry for entry in result["keys"] if entry["key"] == name)
