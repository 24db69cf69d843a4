"""Golden references: the fingerprint that decides reuse is cheap, and never imports a framework."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from workspaces import copy_demo

FINGERPRINT_WITHOUT_FRAMEWORKS = """
import sys
from pathlib import Path
from paddle_port_checks.config import load_config
from paddle_port_checks.device import parse_device
from paddle_port_checks.factories import add_workspace_to_path
from paddle_port_checks.session import CheckContext

root = Path(sys.argv[1])
add_workspace_to_path(root)
context = CheckContext("forward", load_config(root), parse_device("cpu"), parse_device("cpu"), False)
print(context.reference_fingerprint("x"))
print("torch" in sys.modules, "paddle" in sys.modules)
"""


def test_the_reuse_decision_imports_neither_framework(tmp_path: Path) -> None:
    """Reusing the reference is only fast if deciding to reuse it costs no torch import (seconds)."""
    workspace = copy_demo(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", FINGERPRINT_WITHOUT_FRAMEWORKS, str(workspace)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    key, imported = done.stdout.splitlines()
    assert len(key) == 64 and imported == "False False"


def test_the_reference_code_is_followed_through_its_imports_only(tmp_path: Path) -> None:
    from paddle_port_checks.golden import _workspace_closure

    workspace = copy_demo(tmp_path)
    (workspace / "demo_port/blocks.py").write_text("WIDTH = 64\n")
    model = workspace / "demo_port/torch_model.py"
    model.write_text(model.read_text() + "\nfrom demo_port.blocks import WIDTH  # noqa: E402\n")

    def forget_demo_port() -> None:  # find_spec imports the package: keep this workspace's out of other tests
        for name in [n for n in sys.modules if n == "demo_port" or n.startswith("demo_port.")]:
            del sys.modules[name]

    sys.path.insert(0, str(workspace))
    forget_demo_port()
    try:
        files = {path.name for path in _workspace_closure("demo_port.torch_model", workspace)}
    finally:
        sys.path.remove(str(workspace))
        forget_demo_port()
    assert files == {"__init__.py", "torch_model.py", "blocks.py"}  # not paddle_model.py: the port may change
