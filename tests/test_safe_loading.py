"""Porters' checkpoint files read without running them (issue 11, item 4): the restricted unpickler for
Paddle's files, torch's weights_only with the containers training scripts save, the wrappers, and every
fault of a checkpoint as one line naming the file. Real torch and paddle."""

from __future__ import annotations

import argparse
import io
import os
import pathlib
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import paddle
import pytest
import torch
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks.convert import load_torch_checkpoint
from paddle_port_checks.safe_load import (
    CheckpointError,
    UnsafeFileError,
    _paddle_save_globals,
    load_paddle_file,
    load_paddle_state,
    warn_once,
)
from paddle_port_checks.session import SETUP_ERRORS

PADDLE_MODEL = 'model = "demo_port.paddle_model:resnet18"'


# ----------------------------------------------------------------------------------------------------------
# What real paddle.save files hold


def _small_net() -> paddle.nn.Layer:
    paddle.seed(0)
    return paddle.nn.Sequential(
        paddle.nn.Conv2D(3, 4, 3), paddle.nn.BatchNorm2D(4), paddle.nn.Flatten(), paddle.nn.Linear(4, 2)
    )


def _trained_optimizer(net: paddle.nn.Layer, **kwargs: Any) -> paddle.optimizer.Optimizer:
    """An optimizer after one step, so its state dict holds moments, a scheduler and (bf16) master weights."""
    scheduler = paddle.optimizer.lr.StepDecay(learning_rate=0.1, step_size=2)
    optimizer = paddle.optimizer.AdamW(learning_rate=scheduler, parameters=net.parameters(), **kwargs)
    net(paddle.randn([2, 3, 3, 3])).mean().backward()
    optimizer.step()
    scheduler.step()
    return optimizer


def _dense_tensor() -> Any:
    tensor = paddle.base.core.DenseTensor()
    tensor.set(np.arange(6, dtype=np.float32).reshape(2, 3), paddle.CPUPlace())
    return tensor


SAVED_OBJECTS: dict[str, Callable[[], Any]] = {
    "layer state dict": lambda: _small_net().state_dict(),
    "optimizer state dict (.pdopt)": lambda: _trained_optimizer(_small_net()).state_dict(),
    "nested dicts": lambda: {
        "model": _small_net().state_dict(),
        "optimizer": _trained_optimizer(_small_net()).state_dict(),
        "epoch": 3,
        "history": [0.5, None, True, "text", (1, 2)],
        "tags": {"a", "b"},
    },
    "every dtype": lambda: {
        dtype: paddle.ones([2, 3], dtype=dtype)
        for dtype in ("float16", "bfloat16", "float32", "float64", "int8", "int32", "int64", "uint8", "bool")
    },
    "a DenseTensor and a list of tensors": lambda: {"dense": _dense_tensor(), "list": [paddle.ones([2])]},
    "a bare tensor": lambda: paddle.arange(5, dtype="float32"),
}


def _saved(obj: Any, protocol: int = 4) -> bytes:
    buffer = io.BytesIO()
    paddle.save(obj, buffer, protocol=protocol)
    return buffer.getvalue()


def _assert_same(ours: Any, theirs: Any, where: str = "") -> None:
    """Equal structure, keys, types and arrays (dtype and values)."""
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), where
        assert ours.dtype == theirs.dtype and ours.shape == theirs.shape, where
        np.testing.assert_array_equal(ours, theirs, err_msg=where)
        return
    assert type(ours) is type(theirs), f"{where}: {type(ours)} vs {type(theirs)}"
    if isinstance(theirs, dict):
        assert list(ours) == list(theirs), where
        for name in theirs:
            _assert_same(ours[name], theirs[name], f"{where}/{name}")
    elif isinstance(theirs, list | tuple):
        assert len(ours) == len(theirs), where
        for index, (mine, other) in enumerate(zip(ours, theirs, strict=True)):
            _assert_same(mine, other, f"{where}[{index}]")
    else:
        assert ours == theirs, where


@pytest.mark.parametrize("protocol", [2, 3, 4])
@pytest.mark.parametrize("what", list(SAVED_OBJECTS))
def test_a_real_paddle_save_loads_as_paddle_load_returns_it(tmp_path: Path, what: str, protocol: int) -> None:
    path = tmp_path / "saved.pdparams"
    path.write_bytes(_saved(SAVED_OBJECTS[what](), protocol))
    _assert_same(load_paddle_file(path), paddle.load(str(path), return_numpy=True))


def test_a_layer_state_dict_loads_as_the_tensors_paddle_load_gives(tmp_path: Path) -> None:
    net = _small_net()
    path = tmp_path / "model.pdparams"
    paddle.save(net.state_dict(), str(path))
    state = load_paddle_state(path)
    theirs = paddle.load(str(path))
    assert list(state) == list(theirs) == list(net.state_dict())
    for name, tensor in theirs.items():
        assert state[name].dtype == tensor.numpy().dtype
        np.testing.assert_array_equal(state[name], tensor.numpy())


def test_the_allow_list_is_exactly_what_paddle_save_writes() -> None:
    """Every global in a real save is admitted, and nothing is admitted that no Paddle or numpy save writes
    (the aliases for numpy 1's `numpy.core`, Python 2's `__builtin__` and protocol 5's `_frombuffer` aside)."""
    seen: set[tuple[str, str]] = set()

    class Recording(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            seen.add((module, name))
            return super().find_class(module, name)

    for make in SAVED_OBJECTS.values():
        for protocol in (2, 3, 4):
            Recording(io.BytesIO(_saved(make(), protocol)), encoding="latin1").load()
    Recording(io.BytesIO(pickle.dumps({"a": np.zeros(3), "s": np.float64(1.5)}, protocol=5))).load()
    allowed = set(_paddle_save_globals())
    assert seen <= allowed, seen - allowed
    numpy_core = "numpy._core" if np.__version__ >= "2" else "numpy.core"
    aliases = {
        (module.replace(numpy_core, other), name) for module, name in seen for other in ("numpy.core", "numpy._core")
    } | {("__builtin__", name) for module, name in seen if module == "builtins"}
    assert allowed - seen - aliases <= {("builtins", "frozenset"), ("__builtin__", "frozenset")}


def test_a_big_tensor_saved_in_slices_is_joined_as_paddle_load_joins_it(tmp_path: Path) -> None:
    """paddle.save (protocol 2, 3) slices a tensor over 1 GiB; the same layout, small, read both ways."""
    whole = np.arange(12, dtype=np.float32).reshape(3, 4)
    flat = whole.reshape(-1)
    saved = {
        "w@@.0": flat[:5],
        "w@@.1": flat[5:],
        "b": np.ones(2, np.float32),
        "UnpackBigParamInfor@@": {"w": {"OriginShape": (3, 4), "slices": ["w@@.0", "w@@.1"]}},
        "StructuredToParameterName@@": {"w": "linear_0.w_0", "b": "linear_0.b_0"},
    }
    path = tmp_path / "big.pdparams"
    path.write_bytes(pickle.dumps(saved, protocol=2))
    ours = load_paddle_file(path)
    _assert_same(ours, paddle.load(str(path), return_numpy=True))
    np.testing.assert_array_equal(ours["w"], whole)


# ----------------------------------------------------------------------------------------------------------
# Payloads: refused, never run


class _RunsCommand:
    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[Any, ...]:
        return (os.system, (self.command,))


class _Evaluates:
    def __init__(self, expression: str) -> None:
        self.expression = expression

    def __reduce__(self) -> tuple[Any, ...]:
        return (eval, (self.expression,))


class _Calls:
    """A payload through a function Paddle's saves do contain, called another way."""

    def __init__(self, function: Any, *args: Any) -> None:
        self.function, self.args = function, args

    def __reduce__(self) -> tuple[Any, ...]:
        return (self.function, self.args)


def _state_with(payload: Any) -> dict[str, Any]:
    """A real-looking state dict with the payload as one more entry."""
    return {"fc.weight": np.ones((2, 3), np.float32), "fc.bias": np.zeros(2, np.float32), "fc.scale": payload}


def _payloads(marker: Path) -> dict[str, tuple[Any, str]]:
    """name -> (payload, the global the refusal must name)."""
    touch = f"touch {marker}"
    write = f"open({str(marker)!r}, 'w').close()"
    return {
        "os.system": (_RunsCommand(touch), "posix.system (that is os.system)"),
        "builtins.eval": (_Evaluates(write), "builtins.eval"),
        "builtins.exec": (_Calls(exec, write), "builtins.exec"),
        "eval in Paddle's own form, another namespace": (_Calls(eval, "data", {"data": write}), "builtins.eval"),
        "_codecs.encode with another codec": (_Calls(__import__("_codecs").encode, "x", "rot13"), "_codecs.encode"),
        "an array of Python objects": (np.array([1, "two"], dtype=object), "numpy.dtype"),
    }


@pytest.mark.parametrize("name", list(_payloads(Path("marker"))))
@pytest.mark.parametrize("protocol", [2, 4])
def test_a_pickle_payload_in_a_pdparams_is_refused_without_running(tmp_path: Path, name: str, protocol: int) -> None:
    marker = tmp_path / "pwned"
    payload, global_name = _payloads(marker)[name]
    path = tmp_path / "mine.pdparams"
    path.write_bytes(pickle.dumps(_state_with(payload), protocol=protocol))

    with pytest.raises(UnsafeFileError) as refused:
        load_paddle_state(path)
    message = str(refused.value)
    assert str(path) in message and global_name in message and "nothing in the file was run" in message
    assert "\n" not in message
    assert not marker.exists()
    assert isinstance(refused.value, SETUP_ERRORS)  # a step reports it in one line and exits 2


def test_the_payload_is_live_under_plain_unpickling(tmp_path: Path) -> None:
    """What the refusal prevents: the same bytes run their command under pickle (so paddle.load runs it)."""
    marker = tmp_path / "pwned"
    data = pickle.dumps(_state_with(_RunsCommand(f"touch {marker}")))
    pickle.loads(data)  # noqa: S301 - the point of the test
    assert marker.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "the file ends early"),
        (b"not a pickle at all", "paddle.save writes a pickle"),
        ("truncated", "the file ends early"),
    ],
)
def test_an_unreadable_pdparams_is_one_line_naming_the_file(tmp_path: Path, content: Any, reason: str) -> None:
    path = tmp_path / "broken.pdparams"
    if content == "truncated":
        data = _saved(_small_net().state_dict())
        content = data[: len(data) // 2]
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as error:
        load_paddle_state(path)
    message = str(error.value)
    assert message.startswith(f"{path}: not a readable Paddle checkpoint: ") and reason in message
    assert "\n" not in message and not isinstance(error.value, UnsafeFileError)


def test_a_pdparams_that_is_no_state_dict_names_its_entries(tmp_path: Path) -> None:
    path = tmp_path / "odd.pdparams"
    paddle.save({"w": paddle.ones([2]), "epoch": 3}, str(path))
    with pytest.raises(CheckpointError, match=r"odd\.pdparams: not a state dict: entries \['epoch'\]"):
        load_paddle_state(path)


def test_a_wrapped_data_parallel_pdparams_is_unwrapped_and_said_so(tmp_path: Path) -> None:
    net = _small_net()
    path = tmp_path / "wrapped.pdparams"
    paddle.save({"state_dict": {f"module.{k}": v for k, v in net.state_dict().items()}, "epoch": 3}, str(path))
    notes: list[str] = []
    state = load_paddle_state(path, notes.append)
    assert list(state) == list(net.state_dict())
    assert notes == [
        "wrapped.pdparams: the weights were taken from its 'state_dict' entry (beside 'epoch', not used)",
        "wrapped.pdparams: the 'module.' prefix (DataParallel) was taken off every tensor name",
    ]


# ----------------------------------------------------------------------------------------------------------
# PyTorch checkpoints


def _torch_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).state_dict()


def _assert_torch_arrays(arrays: dict[str, np.ndarray], state: dict[str, torch.Tensor]) -> None:
    assert list(arrays) == list(state)
    for name, tensor in state.items():
        np.testing.assert_array_equal(arrays[name], tensor.numpy())


def test_a_torchvision_style_checkpoint_with_args_loads_and_says_what_was_taken(tmp_path: Path) -> None:
    """torchvision's reference train.py saves the model beside an argparse.Namespace and the epoch."""
    state = _torch_state()
    model = torch.nn.Linear(3, 4)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    args = argparse.Namespace(lr=0.1, epochs=90, output_dir="out", data_path=pathlib.Path("/data"), resume=None)
    path = tmp_path / "checkpoint.pth"
    torch.save({"model": state, "optimizer": optimizer.state_dict(), "args": args, "epoch": 3}, path)
    notes: list[str] = []
    _assert_torch_arrays(load_torch_checkpoint(path, notes.append), state)
    assert notes == [
        "checkpoint.pth: the weights were taken from its 'model' entry (beside 'optimizer', 'args', 'epoch', not used)"
    ]


@pytest.mark.parametrize("wrapper", ["model_state_dict", "state_dict"])
def test_a_wrapped_data_parallel_checkpoint_is_unwrapped_and_said_so(tmp_path: Path, wrapper: str) -> None:
    state = _torch_state()
    path = tmp_path / "ddp.pth"
    torch.save({wrapper: {f"module.{k}": v for k, v in state.items()}}, path)
    notes: list[str] = []
    _assert_torch_arrays(load_torch_checkpoint(path, notes.append), state)
    assert notes == [
        f"ddp.pth: the weights were taken from its '{wrapper}' entry",
        "ddp.pth: the 'module.' prefix (DataParallel) was taken off every tensor name",
    ]


def _truncated_pth(path: Path) -> bytes:
    buffer = io.BytesIO()
    torch.save(_torch_state(), buffer)
    return buffer.getvalue()[: len(buffer.getvalue()) // 2]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (_truncated_pth, "truncated or corrupt"),
        (lambda path: b"", "empty or ends early"),
        (lambda path: b"hello, not a checkpoint", "neither a torch.save zip archive"),
        (lambda path: pickle.dumps({"a": 1}, protocol=4), "Unsupported operand"),
    ],
    ids=["truncated", "empty", "garbage", "plain pickle"],
)
def test_an_unreadable_pth_is_one_line_never_suggesting_weights_only_false(
    tmp_path: Path, make: Callable[[Path], bytes], reason: str
) -> None:
    path = tmp_path / "reference.pth"
    path.write_bytes(make(path))
    with pytest.raises(CheckpointError) as error:
        load_torch_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"{path}: not a readable PyTorch checkpoint: ") and reason in message
    assert "\n" not in message and "weights_only" not in message


def test_a_payload_in_a_pth_is_refused_naming_the_global(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "reference.pth"
    torch.save({"model": _torch_state(), "hook": _RunsCommand(f"touch {marker}")}, path)
    with pytest.raises(UnsafeFileError) as refused:
        load_torch_checkpoint(path)
    message = str(refused.value)
    assert str(path) in message and "posix.system (that is os.system)" in message
    assert "weights_only" not in message and "state_dict()" not in message
    assert not marker.exists()


def test_a_whole_pickled_model_is_refused_with_the_way_out(tmp_path: Path) -> None:
    path = tmp_path / "model.pth"
    torch.save({"model": torch.nn.Linear(2, 2)}, path)
    with pytest.raises(
        UnsafeFileError,
        match=r"torch\.nn\.modules\.linear\.Linear.*: a pickled model is not read, save its state_dict\(\)$",
    ):
        load_torch_checkpoint(path)


# ----------------------------------------------------------------------------------------------------------
# End to end: the steps' verdicts


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


def _one_line_error(result: dict[str, Any], *names: str) -> str:
    error: str = result["error"]
    assert result["status"] == "error" and "\n" not in error and "Traceback" not in error, error
    for name in names:
        assert name in error, (name, error)
    return error


@pytest.mark.parametrize("step", ["weights", "forward"])
def test_a_malicious_porter_pdparams_is_exit_2_naming_file_and_global(demo: Path, step: str) -> None:
    marker = demo / "pwned"
    (demo / "mine.pdparams").write_bytes(pickle.dumps(_state_with(_RunsCommand(f"touch {marker}"))))
    set_config(demo, PADDLE_MODEL, PADDLE_MODEL + '\ncheckpoint = "mine.pdparams"')
    code, result = run_step(demo, step)
    assert code == 2
    _one_line_error(result, "mine.pdparams", "posix.system (that is os.system)", "refused")
    assert not marker.exists()


def test_a_misshapen_porter_pdparams_is_one_line_naming_tensor_and_shapes(demo: Path) -> None:
    # torch's layout for the classifier: the transpose forgotten. Named before any other tensor is looked at.
    paddle.save({"fc.weight": paddle.zeros([10, 512])}, str(demo / "mine.pdparams"))
    set_config(demo, PADDLE_MODEL, PADDLE_MODEL + '\ncheckpoint = "mine.pdparams"')
    code, result = run_step(demo, "forward")
    assert code == 2
    _one_line_error(result, "mine.pdparams", "'fc.weight'", "(10, 512)", "(512, 10)")


def test_reference_checkpoint_faults_are_one_line(demo: Path) -> None:
    reference = demo / "weights/reference.pth"
    state = torch.load(reference, weights_only=True)
    misshapen = dict(state, **{"fc.weight": torch.zeros(3, 512)})
    torch.save(misshapen, reference)
    code, result = run_step(demo, "forward", None, "--fresh")
    assert code == 2
    _one_line_error(result, "reference.pth", "'fc.weight'", "(3, 512)", "(10, 512)")

    reference.write_bytes(_truncated_pth(reference))
    code, result = run_step(demo, "forward", None, "--fresh")
    assert code == 2
    error = _one_line_error(result, "reference.pth", "not a readable PyTorch checkpoint")
    assert "weights_only" not in error


def test_a_torchvision_reference_checkpoint_passes_with_its_notes(demo: Path) -> None:
    reference = demo / "weights/reference.pth"
    state = torch.load(reference, weights_only=True)
    args = argparse.Namespace(model="resnet18", lr=0.1, epochs=90, output_dir="out")
    torch.save({"model_state_dict": {f"module.{k}": v for k, v in state.items()}, "args": args}, reference)
    code, result = run_step(demo, "forward")
    assert code == 0, result["error"]
    notes = [warning for warning in result["warnings"] if warning.startswith("reference.pth: ")]
    assert notes == [
        "reference.pth: the weights were taken from its 'model_state_dict' entry (beside 'args', not used)",
        "reference.pth: the 'module.' prefix (DataParallel) was taken off every tensor name",
    ]


def test_a_checkpoint_read_twice_in_a_step_is_noted_once() -> None:
    """The weights step reads the reference checkpoint for the conversion and again for the reference model."""

    class Context:
        def __init__(self) -> None:
            self.warnings: list[str] = []

        def warn(self, message: str) -> None:
            self.warnings.append(message)

    context = Context()
    for _ in range(2):
        warn = warn_once(context)  # type: ignore[arg-type]
        warn("reference.pth: the weights were taken from its 'model' entry")
    assert context.warnings == ["reference.pth: the weights were taken from its 'model' entry"]
