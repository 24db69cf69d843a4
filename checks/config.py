"""The workspace config, `paddle_port.toml`: parsed and validated without importing any framework.

Both the app (which must stay free of torch and paddle) and the check scripts (which run in the porter's
ML environment) read the config through this module, so a bad config gets the same message everywhere:
the file, the dotted key, and what was expected.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .catalogue import DEFAULT_MAPPING_FILE, DEFAULT_THRESHOLDS, STEP_IDS, STEPS
from .samples import DATA_FORMATS
from .tipc_settings import DEFAULT_FLAGS, LITE_TRAIN_MODES, TIPC_MODES, TIPC_PROGRAMS, TipcSettings

CONFIG_NAME = "paddle_port.toml"


class ConfigError(ValueError):
    """A config problem, phrased for the porter: which file, which key, what was expected."""

    def __init__(self, path: Path | str, key: str, message: str) -> None:
        self.path = Path(path)
        self.key = key
        super().__init__(f"{self.path}: [{key}] {message}" if key else f"{self.path}: {message}")


@dataclass(frozen=True)
class Side:
    """One framework's half of the port: model factory, weights, data pipeline, metric."""

    model: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    checkpoint: str = ""
    dataset: str = ""
    dataset_kwargs: dict[str, Any] = field(default_factory=dict)
    loader: str = ""  # the porter's own builder: returns a DataLoader, a Dataset, or a tuple holding them
    loader_kwargs: dict[str, Any] = field(default_factory=dict)
    metric: str = ""  # callable(outputs, labels, **metric_kwargs); default: top-k accuracy of [B, C] logits
    metric_kwargs: dict[str, Any] = field(default_factory=dict)
    metric_keys: tuple[str, ...] = ()  # names of a metric that returns a list or tuple
    # Training (the loss and backward steps): module:callable factories, the porter's own or the framework's;
    # "" = the tutorials' defaults (training.py). The scheduler is optional.
    loss: str = ""
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    optimizer: str = ""
    optimizer_kwargs: dict[str, Any] = field(default_factory=dict)
    scheduler: str = ""
    scheduler_kwargs: dict[str, Any] = field(default_factory=dict)


def key_and_parents(key: str) -> list[str]:
    """A result key, then each parent: "weight/fc.weight", "weight" (how per-key settings are looked up)."""
    parts = key.split("/")
    return ["/".join(parts[:end]) for end in range(len(parts), 0, -1)]


@dataclass(frozen=True)
class Tolerance:
    """How a key (or every key of a step, "*") is decided: by a threshold on the step's statistic, or, with
    atol/rtol, element by element, `|paddle - ref| <= atol + rtol * |ref|` (numpy.allclose's rule)."""

    threshold: float | None = None
    atol: float | None = None
    rtol: float | None = None

    @property
    def allclose(self) -> tuple[float, float] | None:
        if self.atol is None and self.rtol is None:
            return None
        return (self.atol or 0.0, self.rtol or 0.0)


# [train] mode: "train" = BatchNorm in training mode (its running statistics move) with dropout held off;
# "eval" = the tutorials' backward check, every layer in eval mode.
TRAIN_MODES = ("train", "eval")
# The factories of the training steps, checked to be given on both sides or neither (a scheduler may be one-sided:
# that is a finding of the backward step, not a config error).
PAIRED_TRAINING_KEYS = ("loss", "optimizer")

INPUT_DTYPES = ("float32", "float64", "float16", "int64", "int32", "bool")
DEFAULT_INPUT_FILE = "result/forward_input.npy"
# What paddle.jit.save writes into [predict] export_dir: <EXPORT_NAME><suffix> (Paddle 3 PIR: .json; older: .pdmodel).
EXPORT_NAME = "model"
EXPORT_SUFFIXES = (".json", ".pdmodel", ".pdiparams", ".pdiparams.info")


@dataclass(frozen=True)
class InputSpec:
    """One input of the model. `[inputs.<name>]` tables are passed by name, `model(**inputs)`, in declared
    order; the `[input]` shorthand is one positional input, `model(x)` (`positional`)."""

    name: str
    shape: tuple[int, ...]
    dtype: str = "float32"
    low: int = 0  # integers are drawn (seeded) in [low, high)
    high: int | None = None
    fill: float | None = None  # a constant instead of random values
    file: str = ""  # a .npy that holds the input (wins over everything else)
    positional: bool = False
    allow_outside: bool = False  # `file` may resolve outside the workspace (it is written when missing)

    @property
    def key(self) -> str:
        """The dotted config key, for errors."""
        return "input" if self.positional else f"inputs.{self.name}"


@dataclass(frozen=True)
class Config:
    """The validated workspace config. Paths stay as written; `resolve` makes them absolute."""

    path: Path
    reference: Side
    paddle: Side
    inputs: tuple[InputSpec, ...] = (InputSpec("x", (1, 3, 224, 224), file=DEFAULT_INPUT_FILE, positional=True),)
    data_list: str = "lite_data.txt"
    data_root: str = "."
    data_format: str = "auto"  # list | folder | tsv | jsonl; auto: by the list's suffix (a folder: ImageFolder)
    label_field: str = "label"
    batch_size: int = 4
    num_batches: int = 2
    weights_output: str = "result/weights/model.pdparams"
    weights_mapping: str = DEFAULT_MAPPING_FILE
    weights_allow_outside: bool = False  # output and mapping may resolve outside the workspace
    predict_image: str = ""
    predict_onednn: bool = True  # CPU inference tries oneDNN first, then without it
    # The porter's own prediction programs: callable(sample, **kwargs) -> outputs, compared by step 5.
    predict_reference: str = ""
    predict_reference_kwargs: dict[str, Any] = field(default_factory=dict)
    predict_paddle: str = ""
    predict_paddle_kwargs: dict[str, Any] = field(default_factory=dict)
    export_dir: str = "result/inference"
    export_allow_outside: bool = False
    python: str = ""
    device: str = "cpu"
    reference_device: str = ""
    seed: int = 33
    timeout_s: float = 0.0  # per step, when the app runs it; 0 = no limit
    pythonpath: tuple[str, ...] = ()  # workspace-relative import roots, ahead of the workspace root
    env: dict[str, str] = field(default_factory=dict)  # environment variables for every check
    float64_replay: bool = True  # replay a forward or backward difference in float64 (checks/replay.py)
    output_names: tuple[str, ...] = ()  # [outputs] names: both sides' outputs renamed by position
    train_iterations: int = 3  # [train] iterations of the backward step
    train_mode: str = "train"  # one of TRAIN_MODES
    train_labels: str = ""  # a .npy of labels for the fixed inputs; "" = seeded class ids
    # The train step: its short run's iterations ([train] train_iterations) on [data] train_list ("" = the fixed
    # inputs and labels), and the porter's full-training results: top-1 accuracies (a fraction or a percentage)
    # and training logs, the Paddle one held to the TIPC fields.
    train_run_iterations: int = 10
    train_list: str = ""
    reference_accuracy: float | None = None
    paddle_accuracy: float | None = None
    accuracy_tolerance: float = 0.15  # percentage points of top-1 (the guide's 0.15 %)
    reference_log: str = ""
    paddle_log: str = ""
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    # [thresholds.<step>] tables: step -> {"*" (the step's own atol/rtol) or a key: its Tolerance}
    tolerances: dict[str, dict[str, Tolerance]] = field(default_factory=dict)
    tipc: TipcSettings = field(default_factory=TipcSettings)

    @property
    def root(self) -> Path:
        """The workspace root: the folder that holds the config file."""
        return self.path.parent

    def resolve(self, relative: str) -> Path:
        """An absolute path for a path written in the config (relative to the workspace root)."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.root / candidate

    def export_files(self) -> list[Path]:
        """Every file an export into `[predict] export_dir` may write (or leave from an earlier export)."""
        prefix = self.resolve(self.export_dir) / EXPORT_NAME
        return [prefix.with_name(prefix.name + suffix) for suffix in EXPORT_SUFFIXES]

    def import_roots(self) -> list[Path]:
        """Where the porter's code is imported from, in order: `[run] pythonpath`, then the workspace root."""
        return [*(self.resolve(entry) for entry in self.pythonpath), self.root]

    def threshold(self, step: str) -> float:
        return self.thresholds.get(step, DEFAULT_THRESHOLDS[step])

    def tolerance(self, step: str, key: str) -> tuple[Tolerance | None, bool]:
        """The porter's tolerance for one key of a step, and whether it names the key itself (the key, or
        a parent: "weight" for "weight/fc.weight") rather than the whole step ("*")."""
        table = self.tolerances.get(step, {})
        named = next((name for name in key_and_parents(key) if name in table), None)
        return (table[named], True) if named is not None else (table.get("*"), False)


class _Reader:
    """Typed access to one TOML table, with errors that name the dotted key."""

    def __init__(self, path: Path, data: dict[str, Any], prefix: str) -> None:
        self.path, self.data, self.prefix = path, data, prefix
        self.used: set[str] = set()

    def _key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def fail(self, name: str, message: str) -> ConfigError:
        return ConfigError(self.path, self._key(name), message)

    def get(self, name: str, kind: type | tuple[type, ...], default: Any, expected: str) -> Any:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        # bool is an int in Python; a porter writing `batch_size = true` deserves an error, not 1.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(name, f"expected {expected}, got {value!r}")
        if not isinstance(value, kind):
            raise self.fail(name, f"expected {expected}, got {type(value).__name__} {value!r}")
        return value

    def factory(self, name: str, required: bool) -> str:
        value: str = self.get(name, str, "", 'a "module:callable" string')
        if not value:
            if required:
                raise self.fail(name, 'is required: a "module:callable" string, e.g. "mypkg.models:resnet18"')
            return ""
        module, sep, attr = value.partition(":")
        if not sep or not module or not attr or " " in value:
            raise self.fail(name, f'expected "module:callable" (e.g. "mypkg.models:resnet18"), got {value!r}')
        return value

    def positive_int(self, name: str, default: int) -> int:
        value: int = self.get(name, int, default, "a positive integer")
        if value <= 0:
            raise self.fail(name, f"expected a positive integer, got {value}")
        return value

    def reject_unknown(self, known: set[str]) -> None:
        for name in self.data:
            if name not in known:
                raise self.fail(name, f"unknown key; expected one of: {', '.join(sorted(known))}")


def _table(path: Path, raw: dict[str, Any], name: str, required: bool) -> _Reader:
    if name not in raw:
        if required:
            raise ConfigError(path, name, "table is missing")
        return _Reader(path, {}, name)
    if not isinstance(raw[name], dict):
        raise ConfigError(path, name, f"expected a table [{name}], got {type(raw[name]).__name__}")
    return _Reader(path, raw[name], name)


KWARGS_HELP = "an inline table of keyword arguments"


def _side(path: Path, raw: dict[str, Any], name: str) -> Side:
    table = _table(path, raw, name, required=True)
    # Each optional factory of a side comes with its keyword arguments: `dataset` and `dataset_kwargs`, ...
    factories: dict[str, Any] = {}
    for name in ("dataset", "loader", "metric", "loss", "optimizer", "scheduler"):
        factories[name] = table.factory(name, required=False)
        factories[f"{name}_kwargs"] = table.get(f"{name}_kwargs", dict, {}, KWARGS_HELP)
    side = Side(
        model=table.factory("model", required=True),
        kwargs=table.get("kwargs", dict, {}, KWARGS_HELP),
        checkpoint=table.get("checkpoint", str, "", "a path string"),
        metric_keys=tuple(table.get("metric_keys", list, [], 'a list of names, e.g. ["top1", "top5"]')),
        **factories,
    )
    table.reject_unknown(set(Side.__dataclass_fields__))
    return side


def _input_spec(table: _Reader, name: str, positional: bool) -> InputSpec:
    """One input's table: shape, dtype, and how its values are made (low/high, fill, file)."""
    shape = table.get("shape", list, [1, 3, 224, 224] if positional else None, "a list of positive integers")
    if shape is None:
        raise table.fail("shape", "is required: a list of positive integers, e.g. [2, 16]")
    if not shape or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in shape):
        raise table.fail("shape", f"expected a list of positive integers, e.g. [1, 3, 224, 224], got {shape!r}")
    dtype = table.get("dtype", str, "float32", 'a dtype name such as "float32"')
    if dtype not in INPUT_DTYPES:
        raise table.fail("dtype", f"expected one of {', '.join(INPUT_DTYPES)}, got {dtype!r}")
    integer = dtype.startswith("int")
    low = table.get("low", int, 0, "an integer")
    high = table.get("high", int, None, "an integer (exclusive)")
    fill = table.get("fill", (int, float, bool), None, "a number")
    file = table.get("file", str, DEFAULT_INPUT_FILE if positional else "", "a path string")
    allow_outside = table.get("allow_outside", bool, False, "true or false")
    if (low or high is not None) and not integer:
        raise table.fail("low" if low else "high", f"applies to integer inputs only; this one is {dtype}")
    if integer and fill is None and not file and high is None:
        raise table.fail("high", "is required for an integer input: ids are drawn in [low, high), e.g. the vocab size")
    if high is not None and high <= low:
        raise table.fail("high", f"must be greater than low ({low}), got {high}")
    table.reject_unknown({"shape", "dtype", "low", "high", "fill", "file", "allow_outside"})
    made = None if fill is None else float(fill)
    return InputSpec(name, tuple(shape), dtype, low, high, made, file, positional, allow_outside)


def _inputs(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """`[inputs.<name>]` tables (named, in order) or the `[input]` shorthand (one positional input)."""
    if "input" in raw and "inputs" in raw:
        raise ConfigError(path, "inputs", "give [input] (one positional input) or [inputs.<name>] tables, not both")
    if "inputs" not in raw:
        return {"inputs": (_input_spec(_table(path, raw, "input", required=False), "x", positional=True),)}
    inputs = raw["inputs"]
    if not isinstance(inputs, dict) or not inputs:
        raise ConfigError(path, "inputs", "expected one table per input, e.g. [inputs.input_ids]")
    specs = []
    for name, table in inputs.items():
        if not isinstance(table, dict):
            raise ConfigError(path, f"inputs.{name}", f"expected a table [inputs.{name}], got {type(table).__name__}")
        if not name.isidentifier():
            raise ConfigError(path, f"inputs.{name}", "must be a Python identifier: it is passed as a keyword argument")
        specs.append(_input_spec(_Reader(path, table, f"inputs.{name}"), name, positional=False))
    return {"inputs": tuple(specs)}


def _data(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    table = _table(path, raw, "data", required=False)
    values = {
        "data_list": table.get("list", str, "lite_data.txt", "a path to a list file or an ImageFolder directory"),
        "data_root": table.get("root", str, ".", "a directory path string"),
        "batch_size": table.positive_int("batch_size", 4),
        "num_batches": table.positive_int("num_batches", 2),
        "data_format": table.get("format", str, "auto", f"one of {', '.join(DATA_FORMATS)}"),
        "label_field": table.get("label_field", str, "label", "the name of a jsonl record's label field"),
        "train_list": table.get("train_list", str, "", "a path to the small train set's list file or folder"),
    }
    if values["data_format"] not in DATA_FORMATS:
        raise table.fail("format", f"expected one of {', '.join(DATA_FORMATS)}, got {values['data_format']!r}")
    table.reject_unknown({"list", "root", "batch_size", "num_batches", "format", "label_field", "train_list"})
    return values


def _run(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    from paddle_port_checks.device import DeviceError, parse_device

    table = _table(path, raw, "run", required=False)
    values = {
        "python": table.get("python", str, "", "a path to a Python interpreter"),
        "device": table.get("device", str, "cpu", 'a device string: "cpu", "gpu" or "gpu:N"'),
        "reference_device": table.get("reference_device", str, "", 'a device string: "cpu", "gpu" or "gpu:N"'),
        "seed": table.get("seed", int, 33, "an integer seed"),
        "timeout_s": float(table.get("timeout_s", (int, float), 0, "a number of seconds (0 = no limit)")),
    }
    if values["timeout_s"] < 0 or values["timeout_s"] != values["timeout_s"]:
        raise table.fail("timeout_s", f"expected a number of seconds >= 0, got {values['timeout_s']!r}")
    for name in ("device", "reference_device"):
        if values[name]:
            try:
                parse_device(values[name])
            except DeviceError as error:
                raise table.fail(name, str(error)) from None
    pythonpath = table.get("pythonpath", list, [], "a list of workspace-relative folders")
    for entry in pythonpath:
        if not isinstance(entry, str) or not entry:
            raise table.fail("pythonpath", f"expected a list of folder paths, got {pythonpath!r}")
        folder = (path.parent / entry) if not Path(entry).is_absolute() else Path(entry)
        if not folder.is_dir():
            raise table.fail("pythonpath", f"{entry!r} is not a folder (looked for {folder})")
    env = table.get("env", dict, {}, 'an inline table of strings, e.g. { CUDA_VISIBLE_DEVICES = "0" }')
    bad = [name for name, value in env.items() if not isinstance(value, str)]
    if bad:
        raise table.fail(f"env.{bad[0]}", f"expected a string value, got {env[bad[0]]!r} (write it in quotes)")
    values["pythonpath"], values["env"] = tuple(pythonpath), dict(env)
    values["float64_replay"] = table.get("float64_replay", bool, True, "true or false")
    known = {"python", "device", "reference_device", "seed", "timeout_s", "pythonpath", "env", "float64_replay"}
    table.reject_unknown(known)
    return values


def _non_negative(reader: _Reader, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        raise reader.fail(name, f"expected a non-negative number such as 1e-5, got {value!r}")
    return float(value)


def _tolerance(reader: _Reader) -> Tolerance:
    """`threshold`, `atol`, `rtol` of a [thresholds.<step>] table or of one key's inline table."""
    values = {name: reader.data[name] for name in ("threshold", "atol", "rtol") if name in reader.data}
    return Tolerance(**{name: _non_negative(reader, name, value) for name, value in values.items()})


def _thresholds(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    """`<step> = 1e-5`, or a table `[thresholds.<step>]` with `threshold`, `atol`/`rtol` for every key of the
    step, and `keys = { name = 1e-4, other = { atol = 1e-6, rtol = 1e-4 } }` per key (a key's name, or a
    parent of it: "weight" for every "weight/..." key)."""
    table = _table(path, raw, "thresholds", required=False)
    thresholds = dict(DEFAULT_THRESHOLDS)
    tolerances: dict[str, dict[str, Tolerance]] = {}
    expected = "a non-negative number such as 1e-5, or a table of threshold, atol, rtol and keys"
    for step in STEP_IDS:
        value = table.get(step, (int, float, dict), thresholds[step], expected)
        if not isinstance(value, dict):
            thresholds[step] = _non_negative(table, step, value)
            continue
        step_table = _Reader(path, value, f"thresholds.{step}")
        own = _tolerance(step_table)
        if own.threshold is not None:
            thresholds[step] = own.threshold
        per_key = {"*": own} if own.allclose else {}
        keys = step_table.get("keys", dict, {}, "a table of key names, e.g. { logits = 1e-4 }")
        for name, spec in keys.items():
            if isinstance(spec, dict):
                key_table = _Reader(path, spec, f"thresholds.{step}.keys.{name}")
                per_key[name] = _tolerance(key_table)
                key_table.reject_unknown({"threshold", "atol", "rtol"})
            else:
                per_key[name] = Tolerance(
                    threshold=_non_negative(_Reader(path, keys, f"thresholds.{step}.keys"), name, spec)
                )
        step_table.reject_unknown({"threshold", "atol", "rtol", "keys"})
        if per_key:
            tolerances[step] = per_key
    table.reject_unknown(set(STEP_IDS))
    return {"thresholds": thresholds, "tolerances": tolerances}


def _weights(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    table = _table(path, raw, "weights", required=False)
    values = {
        "weights_output": table.get("output", str, "result/weights/model.pdparams", "a path string"),
        "weights_mapping": table.get("mapping", str, DEFAULT_MAPPING_FILE, "a path string"),
        "weights_allow_outside": table.get("allow_outside", bool, False, "true or false"),
    }
    table.reject_unknown({"output", "mapping", "allow_outside"})
    return values


TABLES = (
    *("reference", "paddle", "input", "inputs", "outputs", "data", "weights", "predict", "run", "train"),
    *("tipc", "thresholds"),
)


def _train(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    table = _table(path, raw, "train", required=False)
    values = {
        "train_iterations": table.positive_int("iterations", 3),
        "train_mode": table.get("mode", str, "train", f"one of {', '.join(TRAIN_MODES)}"),
        "train_labels": table.get("labels", str, "", "a path to a .npy of labels"),
        "train_run_iterations": table.positive_int("train_iterations", 10),
        "reference_log": table.get("reference_log", str, "", "a path to the reference's training log"),
        "paddle_log": table.get("paddle_log", str, "", "a path to the Paddle training log"),
    }
    if values["train_mode"] not in TRAIN_MODES:
        raise table.fail("mode", f"expected one of {', '.join(TRAIN_MODES)}, got {values['train_mode']!r}")
    for name in ("reference_accuracy", "paddle_accuracy"):
        accuracy = table.get(name, (int, float), None, "a top-1 accuracy: a fraction (0.7612) or a percentage (76.12)")
        if accuracy is not None and not 0 <= accuracy <= 100:
            raise table.fail(name, f"expected a fraction in [0, 1] or a percentage in [0, 100], got {accuracy!r}")
        values[name] = None if accuracy is None else float(accuracy)
    values["accuracy_tolerance"] = _non_negative(
        table, "accuracy_tolerance", table.get("accuracy_tolerance", (int, float), 0.15, "percentage points")
    )
    table.reject_unknown(
        {"iterations", "mode", "labels", "train_iterations", "reference_accuracy", "paddle_accuracy"}
        | {"accuracy_tolerance", "reference_log", "paddle_log"}
    )
    return values


# The TIPC config splits a line on ":" and its values on "|", and the runner builds each command by joining words
# and running it with `eval`, as the standard runner does: no value may hold a separator, a line break or a
# character the shell would read; only a program line (a script and its fixed arguments) holds spaces.
_TIPC_SEPARATORS = (":", "|")
_SHELL_CHARACTERS = frozenset("$`;&<>()'\"\\*?[]{}~#!")


def _tipc_value(table: _Reader, name: str, value: str, program: bool = False) -> str:
    bad = [sep for sep in _TIPC_SEPARATORS if sep in value]
    if bad:
        raise table.fail(
            name, f"cannot hold {bad[0]!r}: the TIPC config splits its lines on ':' and '|'; got {value!r}"
        )
    shell = sorted(_SHELL_CHARACTERS.intersection(value))
    if shell:
        raise table.fail(
            name, f"cannot hold {shell[0]!r}: the TIPC runner passes values through the shell; got {value!r}"
        )
    if any(char.isspace() for char in value.strip()) and not program or "\n" in value or "\r" in value:
        what = "a line break" if "\n" in value or "\r" in value else "a space"
        raise table.fail(name, f"cannot hold {what}: the TIPC runner splits its commands on spaces; got {value!r}")
    return value.strip()


def _tipc_text(table: _Reader, name: str, default: str, expected: str, program: bool = False) -> str:
    return _tipc_value(table, name, table.get(name, str, default, expected), program)


def _per_mode(table: _Reader, name: str, default: dict[str, int]) -> dict[str, int]:
    """`epochs = 2` (the lite modes) or `epochs = { lite_train_lite_infer = 2, whole_train_whole_infer = 90 }`."""
    value = table.get(name, (int, dict), default, "a positive integer, or a table of them by TIPC mode")
    by_mode = dict.fromkeys(LITE_TRAIN_MODES, value) if isinstance(value, int) else dict(value)
    for mode, number in by_mode.items():
        if mode not in TIPC_MODES:
            raise table.fail(f"{name}.{mode}", f"unknown TIPC mode; expected one of {', '.join(TIPC_MODES)}")
        if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
            raise table.fail(
                f"{name}.{mode}" if isinstance(value, dict) else name, f"expected a positive integer, got {number!r}"
            )
    return by_mode


def _tipc(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    table = _table(path, raw, "tipc", required=False)
    defaults = TipcSettings()
    texts = {
        name: _tipc_text(table, name, getattr(defaults, name), expected, program=name in TIPC_PROGRAMS)
        for name, expected in (
            ("model_name", "a model name"),
            ("python", "an interpreter name or path"),
            ("train", 'a workspace-relative script with optional arguments, e.g. "train.py"'),
            ("eval", 'a script with optional arguments, e.g. "train.py --test-only" ("" = no eval)'),
            ("export", 'a script, e.g. "tools/export_model.py"'),
            ("infer", 'a script, e.g. "deploy/inference_python/infer.py"'),
            ("predict", 'a script, e.g. "tools/predict.py" ("" = none)'),
            ("pretrained", "a path to start weights"),
            ("train_model_name", 'a file name, e.g. "latest.pdparams"'),
            ("data_path", "a path"),
            ("image", "a path to an image"),
            ("train_model", "a path to trained weights (whole_infer)"),
        )
    }
    for name in ("train", "export", "infer"):
        if not texts[name]:
            raise table.fail(name, "is required: the TIPC test runs it")
    gpu_list = table.get("gpu_list", str, defaults.gpu_list, 'entries separated by "|", e.g. "-1|0|0,1"')
    entries = gpu_list.split("|")
    if not all(entry == "-1" or all(part.isdigit() for part in entry.split(",")) for entry in entries):
        raise table.fail(
            "gpu_list", f'expected entries of -1 (CPU), a card (0) or cards (0,1) split by "|", got {gpu_list!r}'
        )
    device_values = table.get(
        "device_values", list, list(defaults.device_values), "two strings: [on a GPU, on the CPU]"
    )
    if len(device_values) != 2 or not all(isinstance(value, str) and value.strip() for value in device_values):
        raise table.fail("device_values", f'expected two strings, e.g. ["gpu", "cpu"], got {device_values!r}')
    device_values = [_tipc_value(table, "device_values", value) for value in device_values]
    sizes = table.get("infer_batch_sizes", list, list(defaults.infer_batch_sizes), "a list of positive integers")
    if not sizes or not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes):
        raise table.fail("infer_batch_sizes", f"expected a list of positive integers, got {sizes!r}")
    use_gpu = table.get("infer_use_gpu", list, list(defaults.infer_use_gpu), "a list of true/false")
    if not use_gpu or not all(isinstance(flag, bool) for flag in use_gpu):
        raise table.fail("infer_use_gpu", f"expected a list of true/false, got {use_gpu!r}")
    mode = table.get("mode", str, defaults.mode, f"one of {', '.join(TIPC_MODES)}")
    if mode not in TIPC_MODES:
        raise table.fail("mode", f"expected one of {', '.join(TIPC_MODES)}, got {mode!r}")
    time_limit = float(table.get("time_limit_s", (int, float), defaults.time_limit_s, "a number of seconds"))
    if not time_limit > 0:
        raise table.fail("time_limit_s", f"expected a number of seconds > 0, got {time_limit!r}")
    flags_table = _Reader(path, table.get("flags", dict, {}, "a table of flag names"), "tipc.flags")
    flags = {name: _tipc_text(flags_table, name, default, "a flag name") for name, default in DEFAULT_FLAGS.items()}
    flags_table.reject_unknown(set(DEFAULT_FLAGS))
    settings = TipcSettings(
        **texts,
        gpu_list=gpu_list,
        device_values=(device_values[0], device_values[1]),
        epochs=_per_mode(table, "epochs", defaults.epochs),
        batch_size=_per_mode(table, "batch_size", defaults.batch_size),
        infer_batch_sizes=tuple(sizes),
        infer_use_gpu=tuple(use_gpu),
        benchmark=table.get("benchmark", bool, False, "true or false"),
        mode=mode,
        time_limit_s=time_limit,
        flags=flags,
    )
    table.reject_unknown(set(TipcSettings.__dataclass_fields__))
    return {"tipc": settings}


def _check_paired_training(path: Path, reference: Side, paddle: Side) -> None:
    """A loss or optimizer named on one side only would be compared with the other side's default: a
    comparison of two different things that the porter did not ask for."""
    for name in PAIRED_TRAINING_KEYS:
        ours, theirs = getattr(reference, name), getattr(paddle, name)
        if bool(ours) != bool(theirs):
            missing, given = ("paddle", "reference") if ours else ("reference", "paddle")
            message = f"is required when [{given}] {name} is given (both or neither)"
            raise ConfigError(path, f"{missing}.{name}", message)


def _predict(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    table = _table(path, raw, "predict", required=False)
    sample = table.get("sample", str, "", "a path string (the sample to predict)")
    image = table.get("image", str, "", "a path string (the sample to predict; the older name of [predict] sample)")
    if sample and image:
        raise table.fail("image", "is the older name of [predict] sample: give one of them")
    values = {
        "predict_image": sample or image,
        "export_dir": table.get("export_dir", str, "result/inference", "a path string"),
        "export_allow_outside": table.get("allow_outside", bool, False, "true or false"),
        "predict_onednn": table.get("onednn", bool, True, "true or false"),
    }
    for side in ("reference", "paddle"):
        values[f"predict_{side}"] = table.factory(side, required=False)
        values[f"predict_{side}_kwargs"] = table.get(f"{side}_kwargs", dict, {}, KWARGS_HELP)
    known = {
        *("sample", "image", "export_dir", "allow_outside", "onednn"),
        *("reference", "reference_kwargs", "paddle", "paddle_kwargs"),
    }
    table.reject_unknown(known)
    return values


def _outputs(path: Path, raw: dict[str, Any]) -> dict[str, Any]:
    table = _table(path, raw, "outputs", required=False)
    names = table.get("names", list, [], "a list of output names, in the model's output order")
    if not all(isinstance(name, str) and name for name in names):
        raise table.fail("names", f"expected a list of non-empty strings, got {names!r}")
    table.reject_unknown({"names"})
    return {"output_names": tuple(names)}


@dataclass(frozen=True)
class _Written:
    """A file (or folder) the tool writes, as the config names it."""

    key: str  # the dotted key, for errors
    value: str  # as written in the config
    table: str  # the table whose `allow_outside` admits it outside the workspace
    allow_outside: bool
    files: tuple[Path, ...]  # what is written: the file itself, or an export folder's files
    only_when_missing: bool = False  # created when absent, then the porter's: read, never rewritten


def _written_paths(config: Config) -> list[_Written]:
    """Every path the tool may write that the config names."""
    resolve = config.resolve
    weights = ("weights", config.weights_allow_outside)
    written = []
    if not config.paddle.checkpoint:  # with [paddle] checkpoint the porter's file is verified; nothing is written
        written.append(_Written("weights.output", config.weights_output, *weights, (resolve(config.weights_output),)))
    mapping = (resolve(config.weights_mapping),)
    written.append(_Written("weights.mapping", config.weights_mapping, *weights, mapping, only_when_missing=True))
    export = ("predict", config.export_allow_outside, tuple(config.export_files()))
    written.append(_Written("predict.export_dir", config.export_dir, *export))
    for spec in config.inputs:
        if spec.file:
            files = (resolve(spec.file),)
            written.append(_Written(f"{spec.key}.file", spec.file, spec.key, spec.allow_outside, files, True))
    return written


def _located(path: Path) -> tuple[Path, Path]:
    """A path as named and as resolved (after `..` and symlinks), for `_same_file`."""
    return path, path.resolve()


def _same_file(first: tuple[Path, Path], second: tuple[Path, Path]) -> bool:
    """The same after `..` and symlinks, or hard links to one file."""
    if first[1] == second[1]:
        return True
    return first[0].exists() and second[0].exists() and os.path.samefile(first[0], second[0])


def check_written_paths(config: Config) -> None:
    """What the tool writes stays inside the workspace unless `allow_outside = true` in the key's table, and
    never lands on a file the config names for something else: `[weights] output = "weights/reference.pth"`
    would replace the porter's checkpoint with the converted one. A path written only when missing (the
    mapping, an input file) is checked for the outside only while it is missing: an existing one is read."""
    root = config.root.resolve()
    written = _written_paths(config)
    for item in written:
        if item.allow_outside or (item.only_when_missing and item.files[0].is_file()):
            continue
        target = config.resolve(item.value).resolve()
        if not target.is_relative_to(root):
            hint = " (or create the file: an existing one is only read)" if item.only_when_missing else ""
            raise ConfigError(
                config.path,
                item.key,
                f"{item.value!r} resolves outside the workspace ({target}); "
                f"set allow_outside = true in [{item.table}] to allow it{hint}",
            )
    porters_files = (  # what the steps read, and what to call it when an output would overwrite it
        ("reference.checkpoint", config.reference.checkpoint, "your checkpoint"),
        ("paddle.checkpoint", config.paddle.checkpoint, "your checkpoint"),
        ("data.list", config.data_list, "your data list"),
        ("predict.sample", config.predict_image, "your sample"),
        ("train.labels", config.train_labels, "your labels"),
        ("data.train_list", config.train_list, "your train list"),
        ("train.reference_log", config.reference_log, "your training log"),
        ("train.paddle_log", config.paddle_log, "your training log"),
    )
    # In this order, so an error names the porter's file first, then the tool's own evidence, then outputs.
    taken = [(f"[{key}]", what, _located(config.resolve(value))) for key, value, what in porters_files if value]
    for step in STEPS:
        for relative in (*step.evidence, step.result_file):
            taken.append((f"the {step.id} step's {relative}", "that evidence", _located(config.resolve(relative))))
    for item in written:
        for file in item.files:
            here = _located(file)
            for name, what, there in taken:
                if _same_file(here, there):
                    # A file written only when missing would be misread rather than overwritten: still wrong.
                    why = "one file cannot be both" if item.only_when_missing else f"the tool would overwrite {what}"
                    raise ConfigError(config.path, item.key, f"is the same file as {name} ({here[1]}): {why}")
            taken.append((f"[{item.key}]", "one output with the other", here))


def parse_config(text: str, path: Path | str) -> Config:
    """Validate the TOML text of a config; `path` names the file in errors and anchors relative paths."""
    path = Path(path).absolute()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, "", f"is not valid TOML: {error}") from None
    for name in raw:
        if name not in TABLES:
            raise ConfigError(path, name, f"unknown table; expected one of: {', '.join(TABLES)}")
    config = Config(
        path=path,
        reference=_side(path, raw, "reference"),
        paddle=_side(path, raw, "paddle"),
        **_inputs(path, raw),
        **_outputs(path, raw),
        **_data(path, raw),
        **_weights(path, raw),
        **_predict(path, raw),
        **_run(path, raw),
        **_train(path, raw),
        **_tipc(path, raw),
        **_thresholds(path, raw),
    )
    _check_paired_training(path, config.reference, config.paddle)
    check_written_paths(config)
    return config


def load_config(path: Path | str) -> Config:
    """Read and validate a config file (or the `paddle_port.toml` inside a workspace folder)."""
    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(path, "", "not found; create it with `paddle-port init` or the wizard") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(path, "", f"cannot be read: {error}") from None
    return parse_config(text, path)
