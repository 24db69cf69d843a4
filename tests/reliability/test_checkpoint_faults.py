"""The porter's checkpoints as training scripts and accidents leave them (issue 11 item 7): a payload is
refused naming the global and never runs; a corrupt, truncated, misshapen or incomplete file is one line
naming the file and the tensor with exit 2; the wrappers training scripts save work, with a note. The
real demo port; the payloads and checkpoints are built by tests/test_safe_loading.py's builders."""

from __future__ import annotations

import argparse
import pickle
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from harness import EXIT_ERROR, EXIT_PASSED, assert_sound, run_check
from test_safe_loading import PADDLE_MODEL, _RunsCommand, _state_with, _truncated_pth
from workspaces import copy_demo, forget_workspace_modules, install_demo_checkpoint, set_config

REFERENCE = "weights/reference.pth"
PORTERS_PDPARAMS = "mine.pdparams"
MARKER = "pwned"  # what a payload would create if it ran


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo(tmp_path_factory.mktemp("checkpoint-faults") / "ws")


@pytest.fixture
def demo(shared_demo: Path) -> Iterator[Path]:
    """The module's demo copy; each case's checkpoint and config are put back afterwards."""
    pristine = (shared_demo / "paddle_port.toml").read_text()
    yield shared_demo
    (shared_demo / "paddle_port.toml").write_text(pristine)
    install_demo_checkpoint(shared_demo)
    for made in ("result", MARKER, PORTERS_PDPARAMS):
        path = shared_demo / made
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def reference_state(workspace: Path) -> dict[str, torch.Tensor]:
    return torch.load(workspace / REFERENCE, weights_only=True)


def save_reference(workspace: Path, content: Any) -> None:
    torch.save(content, workspace / REFERENCE)


def use_porters_pdparams(workspace: Path, data: bytes) -> None:
    (workspace / PORTERS_PDPARAMS).write_bytes(data)
    set_config(workspace, PADDLE_MODEL, PADDLE_MODEL + f'\ncheckpoint = "{PORTERS_PDPARAMS}"')


# --- payloads: refused naming the global, never run ----------------------------------------------------------


def _pdparams_payload(workspace: Path) -> None:
    use_porters_pdparams(workspace, pickle.dumps(_state_with(_RunsCommand(f"touch {workspace / MARKER}"))))


def _pth_payload(workspace: Path) -> None:
    payload = _RunsCommand(f"touch {workspace / MARKER}")
    save_reference(workspace, {"model": reference_state(workspace), "hook": payload})


PAYLOADS = {
    "in the porter's .pdparams": (_pdparams_payload, PORTERS_PDPARAMS),
    "in the reference .pth": (_pth_payload, REFERENCE),
}


@pytest.mark.parametrize("where", PAYLOADS)
def test_a_pickle_payload_is_refused_naming_the_global_and_never_runs(
    demo: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    plant, checkpoint = PAYLOADS[where]
    plant(demo)
    outcome = run_check(demo, "forward", capsys)
    assert_sound(outcome, EXIT_ERROR, [checkpoint, "refused", "posix.system (that is os.system)", "nothing"])
    assert not (demo / MARKER).exists(), "the payload ran"


# --- files that are no checkpoint, or half of one -----------------------------------------------------------

UNREADABLE = {
    "truncated": (lambda path: _truncated_pth(path), "truncated or corrupt"),
    "not a zip nor a pickle": (lambda path: b"hello, not a checkpoint", "neither a torch.save zip archive"),
    "empty": (lambda path: b"", "empty or ends early"),
}


@pytest.mark.parametrize("fault", UNREADABLE)
def test_an_unreadable_reference_checkpoint_is_one_line_naming_the_file(
    demo: Path, capsys: pytest.CaptureFixture[str], fault: str
) -> None:
    make, reason = UNREADABLE[fault]
    path = demo / REFERENCE
    path.write_bytes(make(path))
    error = assert_sound(run_check(demo, "forward", capsys), EXIT_ERROR, [REFERENCE, "not a readable", reason])
    assert "weights_only" not in error  # never the advice to unpickle it as it is


def test_a_checkpoint_that_is_not_there_names_the_key_and_the_file(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / REFERENCE).unlink()
    assert_sound(run_check(demo, "forward", capsys), EXIT_ERROR, ["[reference.checkpoint]", "not found", REFERENCE])


# --- checkpoints of another model: a misshapen, a missing, an extra tensor ---------------------------------


def _with_tensor(name: str, tensor: torch.Tensor) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    return lambda state: {**state, name: tensor}


def _without(name: str) -> Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]:
    return lambda state: {key: value for key, value in state.items() if key != name}


MISFITS = {
    "a tensor of the wrong shape": (
        _with_tensor("layer1.0.conv1.weight", torch.zeros(64, 64, 1, 1)),
        [REFERENCE, "'layer1.0.conv1.weight'", "(64, 64, 1, 1)", "(64, 64, 3, 3)"],
    ),
    "a tensor missing": (_without("layer1.0.conv1.weight"), ["[reference.checkpoint]", "missing", "layer1.0.conv1"]),
    "a tensor too many": (_with_tensor("head.extra", torch.zeros(3)), ["[reference.checkpoint]", "head.extra"]),
}


@pytest.mark.parametrize("step", ["forward", "weights"])
@pytest.mark.parametrize("fault", MISFITS)
def test_a_reference_checkpoint_of_another_model_names_the_tensor(
    demo: Path, capsys: pytest.CaptureFixture[str], fault: str, step: str
) -> None:
    edit, names = MISFITS[fault]
    save_reference(demo, edit(reference_state(demo)))
    assert_sound(run_check(demo, step, capsys), EXIT_ERROR, names)


def test_a_porters_pdparams_missing_a_tensor_names_the_key_and_the_tensor(
    demo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import paddle

    state = paddle_model_state()
    del state["fc.bias"]
    paddle.save(state, str(demo / PORTERS_PDPARAMS))
    use_porters_pdparams(demo, (demo / PORTERS_PDPARAMS).read_bytes())
    assert_sound(run_check(demo, "forward", capsys), EXIT_ERROR, ["[paddle.checkpoint]", "missing", "fc.bias"])


def paddle_model_state() -> dict[str, Any]:
    """The demo Paddle model's own state dict (the repository's copy of demo_port, forgotten afterwards)."""
    from demo_port.paddle_model import resnet18

    try:
        return dict(resnet18(num_classes=10).state_dict())
    finally:
        forget_workspace_modules()


# --- what training scripts save: read, with a note -----------------------------------------------------------

WRAPPERS = {
    "argparse.Namespace beside the weights": (
        lambda state: {"model": state, "args": argparse.Namespace(lr=0.1, epochs=90), "epoch": 3},
        "reference.pth: the weights were taken from its 'model' entry (beside 'args', 'epoch', not used)",
    ),
    "model_state_dict": (
        lambda state: {"model_state_dict": state},
        "reference.pth: the weights were taken from its 'model_state_dict' entry",
    ),
    "DataParallel's module. prefix": (
        lambda state: {f"module.{name}": tensor for name, tensor in state.items()},
        "reference.pth: the 'module.' prefix (DataParallel) was taken off every tensor name",
    ),
}


@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_a_wrapped_training_checkpoint_passes_with_a_note(
    demo: Path, capsys: pytest.CaptureFixture[str], wrapper: str
) -> None:
    wrap, note = WRAPPERS[wrapper]
    save_reference(demo, wrap(reference_state(demo)))
    assert_sound(run_check(demo, "forward", capsys), EXIT_PASSED)
    assert note in (demo / "result" / "forward.json").read_text()
