"""Reading porters' checkpoint files without running what is inside them.

A `.pdparams` / `.pdopt` is a pickle, and `paddle.load` unpickles it as it stands: a file that names
`os.system` in it runs it. Here such files go through a restricted unpickler that admits only what
`paddle.save` and numpy's own pickling write (dicts, lists, tuples, sets, numpy arrays, scalars and dtypes,
and the two rebuild calls Paddle writes, each accepted only in the exact form Paddle writes it). Anything
else is refused before it is called, with the file and the global named. The result is what
`paddle.load(path, return_numpy=True)` returns for the same file.

A PyTorch checkpoint is read with `torch.load(weights_only=True)` plus the few containers training scripts
put beside the weights (`argparse.Namespace` under `args`, as torchvision's reference scripts save). A file
torch cannot read, or one it refuses, is one line naming the file; torch's own advice to retry with
`weights_only=False` is never passed on.

Both kinds of checkpoint are unwrapped the same way: the state dict under `state_dict`, `model_state_dict`
or `model`, and the `module.` prefix DataParallel puts on every name, each said in a note. Every error is a
`CheckpointError`, a set-up error (a step reports it in one line and exits 2).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import pathlib
import pickle
import re
import warnings
from collections.abc import Callable
from collections.abc import Mapping as MappingABC
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from paddle_port_checks.models import WeightsError

if TYPE_CHECKING:
    from paddle_port_checks.context import CheckContext

# Checkpoint containers that wrap the state dict one level down (training scripts' habits), in the order
# they are looked for.
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model")
DATA_PARALLEL_PREFIX = "module."

# Keys `paddle.save` adds to a state dict and `paddle.load` takes out again.
PADDLE_NAME_TABLE_KEY = "StructuredToParameterName@@"
PADDLE_BIG_PARAM_KEY = "UnpackBigParamInfor@@"  # a tensor over 1 GiB saved in slices (pickle protocol 2, 3)

# What torch may build beside tensors and the containers weights_only admits by default: argument namespaces
# (torchvision's reference scripts save `args`), and the paths an `argparse` `type=Path` option puts in them.
# Each only stores the values it is given; none runs anything of the file's choosing.
TORCH_CONTAINERS: tuple[type, ...] = (
    argparse.Namespace,
    collections.OrderedDict,
    pathlib.PosixPath,
    pathlib.PurePosixPath,
)


class CheckpointError(WeightsError):
    """A checkpoint file that cannot be used as it is (unreadable, refused, not a state dict); names the file."""


class UnsafeFileError(CheckpointError):
    """A checkpoint that would call a function or build a class outside the allow-list when loaded: refused
    before anything of it runs."""


Warn = Callable[[str], None]


def warn_once(context: CheckContext) -> Warn:
    """`context.warn`, skipping a message already given: a step may read the same checkpoint twice."""

    def warn(message: str) -> None:
        if message not in context.warnings:
            context.warn(message)

    return warn


# ----------------------------------------------------------------------------------------------------------
# Paddle: the restricted unpickler


class _Refused(Exception):
    """Raised inside the unpickler; `load_paddle_file` turns it into an UnsafeFileError naming the file."""

    def __init__(self, global_name: str, why: str) -> None:
        super().__init__(global_name, why)
        self.global_name, self.why = global_name, why


def _paddle_dense_tensor(expression: Any, namespace: Any = None, *rest: Any) -> Any:
    """Stands in for `builtins.eval`: Paddle saves a DenseTensor as `eval('data', {'data': array})`, which
    only hands back the array. That exact form is answered without evaluating anything; any other refused."""
    if (
        expression == "data"
        and not rest
        and isinstance(namespace, dict)
        and list(namespace) == ["data"]
        and isinstance(namespace["data"], np.ndarray)
    ):
        return namespace["data"]
    shown = expression if isinstance(expression, str) else type(expression).__name__
    raise _Refused("builtins.eval", f"evaluates {shown[:80]!r}, not the form paddle.save writes for a tensor")


def _latin1_bytes(text: Any, encoding: Any = "latin1", *rest: Any) -> bytes:
    """Stands in for `_codecs.encode`: pickle protocols 2 and 3 write bytes (an array's data) as
    `_codecs.encode(text, 'latin1')`; only that is done."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or rest:
        raise _Refused("_codecs.encode", "is called other than as pickle writes bytes")
    return text.encode("latin1")


def _plain_dtype(spec: Any, *args: Any) -> np.dtype[Any]:
    """`numpy.dtype`, refusing the object dtype: an array of Python objects is no tensor."""
    dtype: np.dtype[Any] = np.dtype(spec, *args)
    if dtype.hasobject:
        raise _Refused("numpy.dtype", f"asks for {dtype}, an array of Python objects rather than numbers")
    return dtype


def _numpy_pickle_functions() -> tuple[Any, Any, Any]:
    """numpy's own rebuild functions, taken from what numpy pickles: numpy 1 writes them under `numpy.core`,
    numpy 2 under `numpy._core`, and either file must load with the installed numpy."""
    reconstruct = np.zeros(0).__reduce__()[0]
    scalar = np.float32(0).__reduce__()[0]
    frombuffer = np.zeros(1).__reduce_ex__(5)[0]  # protocol 5 (plain pickle.dump's default) writes this
    return reconstruct, scalar, frombuffer


def _paddle_save_globals() -> dict[tuple[str, str], Any]:
    """The allow-list: every global `paddle.save` (protocols 2-4) and numpy's pickling write, and nothing else.
    Found by saving Layer and optimizer state dicts, nested objects, DenseTensors and every dtype with
    Paddle 3.3 and reading the globals back (tests/test_safe_loading.py holds the list to that)."""
    reconstruct, scalar, frombuffer = _numpy_pickle_functions()

    def reconstruct_array(subtype: Any, *args: Any) -> Any:
        # numpy writes `_reconstruct(ndarray, ...)`; a subclass (matrix, memmap, a stranger's) is refused.
        if subtype is not np.ndarray:
            raise _Refused("numpy._core.multiarray._reconstruct", f"rebuilds a {subtype!r}, not a numpy.ndarray")
        return reconstruct(subtype, *args)

    allowed: dict[tuple[str, str], Any] = {
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): _plain_dtype,
        ("collections", "OrderedDict"): collections.OrderedDict,  # a nested state dict
        ("_codecs", "encode"): _latin1_bytes,
    }
    for numpy_core in ("numpy.core", "numpy._core"):
        allowed[(f"{numpy_core}.multiarray", "_reconstruct")] = reconstruct_array
        allowed[(f"{numpy_core}.multiarray", "scalar")] = scalar
        allowed[(f"{numpy_core}.numeric", "_frombuffer")] = frombuffer
    # Python 2 named the builtins module `__builtin__`; pickle protocol 2 and 3 still write that name.
    for builtins_module in ("builtins", "__builtin__"):
        allowed[(builtins_module, "tuple")] = tuple  # a Tensor inside an object: (name, array)
        allowed[(builtins_module, "set")] = set
        allowed[(builtins_module, "frozenset")] = frozenset
        allowed[(builtins_module, "eval")] = _paddle_dense_tensor
    return allowed


# The modules a pickle records under names a reader would not look for: `os.system` is written as
# `posix.system`, and protocols 2 and 3 write `builtins.exec` as `__builtin__.exec`.
_PLAIN_MODULE_NAMES = {"posix": "os", "nt": "os", "__builtin__": "builtins"}


class _PaddleSaveUnpickler(pickle.Unpickler):
    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file, encoding="latin1")  # as paddle.load reads Python 2's str
        self._allowed = _paddle_save_globals()

    def find_class(self, module: str, name: str) -> Any:
        found = self._allowed.get((module, name))
        if found is None:
            raise _Refused(_shown_global(f"{module}.{name}"), "is not in what paddle.save or numpy write")
        return found


def _shown_global(qualified: str) -> str:
    module, _, name = qualified.rpartition(".")
    plain = _PLAIN_MODULE_NAMES.get(module)
    return f"{qualified} (that is {plain}.{name})" if plain else qualified


def load_paddle_file(path: str | Path) -> Any:
    """A file `paddle.save` wrote, read as `paddle.load(path, return_numpy=True)` returns it, without running
    anything but the allow-list above. Raises UnsafeFileError for a refused global, CheckpointError for a file
    that is not such a pickle (truncated, another format)."""
    path = Path(path)
    try:
        with path.open("rb") as file:
            loaded = _PaddleSaveUnpickler(file).load()
        return _as_paddle_load_returns(loaded)
    except _Refused as refused:
        raise UnsafeFileError(
            f"{path}: refused: loading it would call {refused.global_name}, which {refused.why}; nothing in the "
            "file was run (paddle-port reads .pdparams with an unpickler that admits only Paddle's own saves)"
        ) from None
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read: {error.strerror or error}") from None
    except Exception as error:  # any fault of a malformed pickle (or of its layout): the file is at fault
        raise CheckpointError(f"{path}: not a readable Paddle checkpoint: {_unpickling_fault(error)}") from None


def _unpickling_fault(error: Exception) -> str:
    if isinstance(error, EOFError) or "truncated" in str(error):
        return "the file ends early (truncated, or still being written?)"
    reason = " ".join(str(error).split())[:160] or type(error).__name__
    return f"{reason} (paddle.save writes a pickle; is this file one?)"


def _as_paddle_load_returns(loaded: Any) -> Any:
    """What paddle.load does after unpickling, with return_numpy=True: a state dict loses the name table
    `paddle.save` adds and gets its sliced big tensors joined; any other object has every `(name, array)`
    pair Paddle writes for a Tensor turned back into the array."""
    if isinstance(loaded, dict):
        _join_big_tensors(loaded)
        if PADDLE_NAME_TABLE_KEY in loaded:
            del loaded[PADDLE_NAME_TABLE_KEY]
            return loaded
    if _contains_saved_tensor(loaded):
        return _saved_tensors_to_arrays(loaded)
    return loaded


def _join_big_tensors(state: dict[Any, Any]) -> None:
    slicing = state.pop(PADDLE_BIG_PARAM_KEY, None)
    if not isinstance(slicing, dict):
        return
    for name, info in slicing.items():
        slices = [state.pop(part) for part in info["slices"]]
        state[name] = np.concatenate(slices).reshape(info["OriginShape"])


def _is_saved_tensor(value: Any) -> bool:
    """Paddle writes a Tensor inside an object (not a flat state dict) as the pair (tensor name, array)."""
    return (
        isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], np.ndarray)
    )


def _contains_saved_tensor(value: Any) -> bool:
    if _is_saved_tensor(value):
        return True
    if type(value) in (dict, collections.OrderedDict):
        return any(_contains_saved_tensor(item) for item in value.values())
    if type(value) in (list, tuple):
        return any(_contains_saved_tensor(item) for item in value)
    return False


def _saved_tensors_to_arrays(value: Any) -> Any:
    """Every (name, array) pair as its array, in place in dicts and lists, as paddle.load walks the object."""
    if _is_saved_tensor(value):
        return value[1]
    if type(value) in (dict, collections.OrderedDict):
        for key in list(value):
            value[key] = _saved_tensors_to_arrays(value[key])
        return value
    if type(value) is list:
        value[:] = [_saved_tensors_to_arrays(item) for item in value]
        return value
    if type(value) in (tuple, set):
        return type(value)(_saved_tensors_to_arrays(item) for item in value)
    return value


def load_paddle_state(path: str | Path, warn: Warn | None = None) -> dict[str, np.ndarray]:
    """A Paddle state dict file (`.pdparams`) as name -> numpy array, read safely and unwrapped."""
    path = Path(path)
    return unwrap_state_dict(load_paddle_file(path), path, _is_numeric_array, warn)


def _is_numeric_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and not value.dtype.hasobject


# ----------------------------------------------------------------------------------------------------------
# PyTorch

# torch names the global it refused: "Unsupported global: GLOBAL argparse.Namespace was not an allowed global",
# "unsupported GLOBAL posix.system whose module posix is blocked"; torch before 2.4: "Unsupported class x.Y".
_TORCH_REFUSED_GLOBAL = re.compile(r"(?:GLOBAL|Unsupported class) ([\w.]+)")
_TORCH_REASON = re.compile(r"WeightsUnpickler error:\s*(.+?)(?:\.\s|\n|$)", re.DOTALL)


def load_torch_file(path: str | Path) -> Any:
    """`torch.load(path, weights_only=True)` on the CPU, admitting `TORCH_CONTAINERS` too. Raises
    UnsafeFileError for what weights_only refuses, CheckpointError for a file torch cannot read."""
    import torch

    path = Path(path)
    # safe_globals came with torch 2.5; an older torch reads the same files bar the extra containers.
    safe_globals = getattr(torch.serialization, "safe_globals", None)
    admitted = safe_globals(list(TORCH_CONTAINERS)) if safe_globals is not None else contextlib.nullcontext()
    try:
        with warnings.catch_warnings(), admitted:
            warnings.simplefilter("ignore")  # "Detected pickle protocol 4 in the checkpoint ...": not news
            return torch.load(path, map_location="cpu", weights_only=True)
    except OSError as error:
        raise CheckpointError(f"{path}: cannot be read: {error.strerror or error}") from None
    except pickle.UnpicklingError as error:
        refused = _TORCH_REFUSED_GLOBAL.search(str(error))
        if refused is None:
            raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {_torch_reason(error)}") from None
        name = refused.group(1)
        # A class (not a function) there is most often the model itself, pickled whole by torch.save(model).
        whole_model = (
            ": a pickled model is not read, save its state_dict()" if name.rpartition(".")[2][:1].isupper() else ""
        )
        raise UnsafeFileError(
            f"{path}: refused: loading it would call {_shown_global(name)}, which is neither a tensor nor a "
            f"container paddle-port admits ({_names(TORCH_CONTAINERS)}, dicts, lists, tuples); nothing in the "
            f"file was run{whole_model}"
        ) from None
    except Exception as error:  # torch's readers raise RuntimeError, KeyError, EOFError, ... for a bad file
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint: {_torch_reason(error)}") from None


def _torch_reason(error: Exception) -> str:
    """The cause in a few words, without torch's advice to load with weights_only=False."""
    text = str(error)
    if isinstance(error, EOFError):
        return "the file is empty or ends early (truncated?)"
    if isinstance(error, KeyError):
        return f"neither a torch.save zip archive nor a legacy torch pickle (bad record {text})"
    if "central directory" in text:
        return "the zip archive torch.save writes is truncated or corrupt (no central directory)"
    found = _TORCH_REASON.search(text)
    reason = found.group(1) if found else text.split(". ")[0]
    reason = " ".join(reason.split()) or type(error).__name__
    return reason if "weights_only" not in reason else type(error).__name__


def _names(kinds: tuple[type, ...]) -> str:
    return ", ".join(f"{kind.__module__}.{kind.__qualname__}" for kind in kinds)


# ----------------------------------------------------------------------------------------------------------
# Both: the state dict inside a checkpoint


def unwrap_state_dict(
    checkpoint: Any, path: Path, is_tensor: Callable[[Any], bool], warn: Warn | None = None
) -> dict[str, Any]:
    """The state dict in a checkpoint: the checkpoint itself, or its `WRAPPER_KEYS` entry, with the
    DataParallel prefix taken off. Each unwrapping is said through `warn`, so the porter knows which part
    of the file was read."""
    if not isinstance(checkpoint, dict):
        raise CheckpointError(
            f"{path}: expected a state dict (tensor names to tensors), got a {type(checkpoint).__name__}"
        )
    state: dict[Any, Any] = checkpoint
    notes: list[str] = []
    wrapper = next((key for key in WRAPPER_KEYS if isinstance(checkpoint.get(key), dict)), None)
    if wrapper is not None:
        state = checkpoint[wrapper]
        others = [str(key) for key in checkpoint if key != wrapper]
        also = f" (beside {_listed(others)}, not used)" if others else ""
        notes.append(f"the weights were taken from its '{wrapper}' entry{also}")
    not_tensors = [str(name) for name, value in state.items() if not (isinstance(name, str) and is_tensor(value))]
    if not_tensors:
        raise CheckpointError(
            f"{path}: not a state dict: entries {not_tensors[:5]} are not tensors "
            f"(a wrapped checkpoint should keep its weights under one of {list(WRAPPER_KEYS)})"
        )
    if state and all(name.startswith(DATA_PARALLEL_PREFIX) for name in state):
        state = {name.removeprefix(DATA_PARALLEL_PREFIX): value for name, value in state.items()}
        notes.append(f"the '{DATA_PARALLEL_PREFIX}' prefix (DataParallel) was taken off every tensor name")
    if warn is not None:
        for note in notes:
            warn(f"{path.name}: {note}")
    return state


def refuse_misshapen(path: Path, state: MappingABC[str, Any], model_state: MappingABC[str, Any], owner: str) -> None:
    """One line naming the first tensor of the file whose shape the model does not have, and both shapes
    (the frameworks' loaders say it in a traceback, or only warn)."""
    misshapen = [
        (name, tuple(np.shape(state[name])), tuple(int(size) for size in tensor.shape))
        for name, tensor in model_state.items()
        if name in state and tuple(np.shape(state[name])) != tuple(int(size) for size in tensor.shape)
    ]
    if misshapen:
        name, given, expected = misshapen[0]
        more = f" (and {len(misshapen) - 1} more misshapen tensors)" if len(misshapen) > 1 else ""
        raise CheckpointError(f"{path}: tensor '{name}' has shape {given}, {owner} expects {expected}{more}")


def _listed(names: list[str], most: int = 5) -> str:
    shown = ", ".join(f"'{name}'" for name in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")
