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


def test_shared_code_that_reaches_the_paddle_tree_leaves_the_paddle_files_out_of_the_reference(
    tmp_path: Path,
) -> None:
    from paddle_port_checks.golden import module_digest, paddle_side_files

    # A tutorial layout: utilities.py imports both a vendored torchvision and the port's paddlevision.
    for tree, package in (("ref", "torchvision"), ("port", "paddlevision")):
        (tmp_path / tree / package).mkdir(parents=True)
        (tmp_path / tree / package / "__init__.py").write_text("from . import models\n")
        (tmp_path / tree / package / "models.py").write_text("def net():\n    return 1\n")
        (tmp_path / tree / package / "transforms.py").write_text("STD = 0.225\n")
    (tmp_path / "utilities.py").write_text("import torchvision\nimport paddlevision.transforms\n")
    roots = [str(tmp_path / "ref"), str(tmp_path / "port"), str(tmp_path)]
    sys.path[:0] = roots
    try:
        leave_out = paddle_side_files("torchvision.models:net", "paddlevision.models:net", tmp_path)
        assert {path.name for path in leave_out} == {"__init__.py", "models.py", "transforms.py"}
        assert all("port" in path.parts for path in leave_out)
        before = module_digest("utilities:build", tmp_path, leave_out)
        (tmp_path / "port/paddlevision/transforms.py").write_text("STD = 0.224\n")  # the port changes
        assert module_digest("utilities:build", tmp_path, leave_out) == before
        (tmp_path / "ref/torchvision/models.py").write_text("def net():\n    return 2  # changed\n")  # the reference
        assert module_digest("utilities:build", tmp_path, leave_out) != before
    finally:
        del sys.path[:3]
        for name in [n for n in sys.modules if n.split(".")[0] in ("torchvision", "paddlevision", "utilities")]:
            del sys.modules[name]
