"""The porter's own environment: import roots and variables from the config, and their files left alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks.config import ConfigError, parse_config

REFERENCE_MODEL = 'model = "demo_port.torch_model:resnet18"'
VENDORED = "import os\n\nSCALE = float(os.environ.get('PADDLE_PORT_TEST_SCALE', '0'))\n"
WRAPPER = (
    "import vendored_lib\n\nfrom demo_port.torch_model import resnet18\n\n\n"
    "def build(**kwargs):\n    assert vendored_lib.SCALE == 1.5, 'the environment variable did not arrive'\n"
    "    return resnet18(**kwargs)\n"
)


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = copy_demo(tmp_path)
    (root / "ref" / "vendored_lib").mkdir(parents=True)
    (root / "ref" / "vendored_lib" / "__init__.py").write_text(VENDORED)
    (root / "ref" / "refnet.py").write_text(WRAPPER)
    set_config(root, REFERENCE_MODEL, 'model = "refnet:build"')
    return root


def test_a_reference_tree_needing_its_own_import_root_runs_from_the_config_alone(demo: Path) -> None:
    code, result = run_step(demo, "forward")
    assert code == 2 and "refnet" in result["error"], "without [run] pythonpath the module is not found"
    set_config(demo, "seed = 33", 'seed = 33\npythonpath = ["ref"]\nenv = { PADDLE_PORT_TEST_SCALE = "1.5" }')
    code, result = run_step(demo, "forward")
    assert code == 0, result["error"]
    assert result["environment"]["pythonpath"][0] == str(demo / "ref")
    assert result["environment"]["env"] == {"PADDLE_PORT_TEST_SCALE": "1.5"}


@pytest.mark.parametrize(
    ("run_table", "message"),
    [
        ('pythonpath = ["missing"]', r"\[run.pythonpath\] 'missing' is not a folder"),
        ("env = { THREADS = 4 }", r"\[run.env.THREADS\] expected a string value"),
        ('pythonpath = "ref"', r"\[run.pythonpath\] expected a list"),
    ],
)
def test_bad_environment_keys_are_one_line_errors(tmp_path: Path, run_table: str, message: str) -> None:
    text = f'[reference]\nmodel = "a:b"\n[paddle]\nmodel = "c:d"\n[run]\n{run_table}\n'
    with pytest.raises(ConfigError, match=message):
        parse_config(text, tmp_path / "paddle_port.toml")


def test_a_ports_own_result_files_are_moved_aside_never_deleted(tmp_path: Path) -> None:
    root = copy_demo(tmp_path)
    theirs = {"result/forward_paddle.npy": b"the tutorial's own array", "result/log/forward_diff.log": b"their log\n"}
    for relative, content in theirs.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_bytes(content)
    code, result = run_step(root, "forward")
    assert code == 0, result["error"]
    for relative, content in theirs.items():
        aside = root / "result" / ".before-paddle-port" / relative.removeprefix("result/")
        assert aside.read_bytes() == content, f"{relative} must survive, moved aside"
        assert any(relative in warning and "moved" in warning for warning in result["warnings"])
    code, again = run_step(root, "forward")
    assert code == 0 and not any("moved" in warning for warning in again["warnings"]), "our own files are replaced"
    assert sorted(p.name for p in (root / "result" / ".before-paddle-port").rglob("*") if p.is_file()) == [
        "forward_diff.log",
        "forward_paddle.npy",
    ]


def test_evidence_of_an_earlier_paddle_port_without_a_record_is_recognised_not_moved(tmp_path: Path) -> None:
    root = copy_demo(tmp_path)
    code, _ = run_step(root, "forward")
    assert code == 0
    (root / "result" / ".paddle_port_written.json").unlink()  # as an earlier version left it: no record
    code, again = run_step(root, "forward")
    assert code == 0 and not any("moved" in warning for warning in again["warnings"])
    assert not (root / "result" / ".before-paddle-port").exists()
