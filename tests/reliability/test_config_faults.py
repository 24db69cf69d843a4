"""A porter's config and command line, wrong in every way they meet (issue 11 item 7): each is one line
naming the file and the key (or the flag, the step, the line) with exit 2, before any check runs where the
app can tell, and never a traceback, a lost file or a stale verdict. The real demo port, copied once."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import EXIT_ERROR, assert_sound, run_check, run_cli
from workspaces import copy_demo, set_config

from paddle_port_checks.catalogue import STEPS

CONFIG = "paddle_port.toml"
REFERENCE_MODEL = 'model = "demo_port.torch_model:resnet18"'
PADDLE_MODEL = 'model = "demo_port.paddle_model:resnet18"'


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo(tmp_path_factory.mktemp("config-faults") / "ws")


@pytest.fixture
def demo(shared_demo: Path) -> Iterator[Path]:
    """The module's demo copy; each case breaks its config, which is put back afterwards with no results left."""
    pristine = (shared_demo / CONFIG).read_text()
    yield shared_demo
    (shared_demo / CONFIG).write_text(pristine)
    for made in ("result", ".paddle_port", "test_tipc"):
        shutil.rmtree(shared_demo / made, ignore_errors=True)


# --- the config, refused by the app before any check starts ------------------------------------------------


def test_a_toml_syntax_error_names_the_file_and_its_line(demo: Path) -> None:
    config = demo / CONFIG
    config.write_text(config.read_text() + "seed = = 3\n")
    line = len(config.read_text().splitlines())
    assert_sound(run_cli(demo, "run", "forward"), EXIT_ERROR, [str(config), "not valid TOML", f"line {line}"])


BAD_VALUES = {
    "unknown key": ("[run]\n", "[run]\ncolour = 1\n", ["[run.colour]", "unknown key", "expected one of"]),
    "unknown table": ("[run]\n", "[bogus]\nx = 1\n[run]\n", ["[bogus]", "unknown table"]),
    "wrong type": ("batch_size = 4", 'batch_size = "four"', ["[data.batch_size]", "positive integer", "'four'"]),
    "factory without a callable": (REFERENCE_MODEL, 'model = "demo_port.torch_model"', ["[reference.model]"]),
    "zero dimension": ("shape = [1, 3, 224, 224]", "shape = [1, 0, 224, 224]", ["[input.shape]", "[1, 0, 224"]),
    "negative dimension": ("shape = [1, 3, 224, 224]", "shape = [1, -3, 224, 224]", ["[input.shape]", "-3"]),
    "dtype name": ("[input]\n", '[input]\ndtype = "float33"\n', ["[input.dtype]", "'float33'", "float32"]),
    "negative threshold": ("[run]\n", "[thresholds]\nforward = -1e-5\n[run]\n", ["[thresholds.forward]", "-1e-05"]),
    "device name": ('device = "cpu"', 'device = "tpu"', ["[run.device]", "'tpu'", "gpu:N"]),
}


@pytest.mark.parametrize("fault", BAD_VALUES)
def test_a_bad_config_value_is_one_line_naming_file_and_key(demo: Path, fault: str) -> None:
    old, new, names = BAD_VALUES[fault]
    set_config(demo, old, new)
    assert_sound(run_cli(demo, "run", "forward"), EXIT_ERROR, [str(demo / CONFIG), *names])


# --- the command line ----------------------------------------------------------------------------------------

BAD_ARGUMENTS = {
    "unknown step name": (["run", "bogus"], ["unknown step 'bogus'", "forward"]),
    "step number out of range": (["run", str(len(STEPS) + 1)], [f"unknown step '{len(STEPS) + 1}'"]),
    "unknown device flag": (["run", "forward", "--device", "tpu"], ["--device", "'tpu'"]),
}


@pytest.mark.parametrize("fault", BAD_ARGUMENTS)
def test_a_bad_command_line_is_one_line_naming_the_argument(demo: Path, fault: str) -> None:
    argv, names = BAD_ARGUMENTS[fault]
    assert_sound(run_cli(demo, *argv), EXIT_ERROR, names)


def test_a_folder_without_a_config_says_how_to_make_one(tmp_path: Path) -> None:
    assert_sound(run_cli(tmp_path, "run"), EXIT_ERROR, [str(tmp_path / CONFIG), "not found", "paddle-port init"])


# --- what only the check can tell: factories that do not import, a GPU that is not there -------------------

MISSING_FACTORIES = {
    "reference module not importable": (REFERENCE_MODEL, "nowhere_pkg.models:resnet18", "[reference.model]"),
    "reference callable not in its module": (REFERENCE_MODEL, "demo_port.torch_model:resnet99", "[reference.model]"),
    "paddle callable not in its module": (PADDLE_MODEL, "demo_port.paddle_model:resnet99", "[paddle.model]"),
}


@pytest.mark.parametrize("fault", MISSING_FACTORIES)
def test_a_factory_that_cannot_be_found_names_the_key_and_the_factory(
    demo: Path, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    old, factory, config_key = MISSING_FACTORIES[fault]
    set_config(demo, old, f'model = "{factory}"')
    module, name = factory.split(":")
    missing = "nowhere_pkg" if module.startswith("nowhere") else name
    assert_sound(run_check(demo, "forward", capsys), EXIT_ERROR, [config_key, missing])


def test_a_gpu_the_machine_does_not_have_is_an_error_of_the_step_never_a_pass(demo: Path) -> None:
    """The whole real path: the app, its worker, torch; the state records the error, not an old verdict."""
    import torch

    if torch.cuda.device_count() > 7:
        pytest.skip("this machine has a gpu:7")
    outcome = run_cli(demo, "run", "forward", "--device", "gpu:7", step="forward")
    error = assert_sound(outcome, EXIT_ERROR, ["gpu:7", "no CUDA GPU"])
    assert "paddle-port doctor" in error
