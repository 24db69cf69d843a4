"""Create `paddle_port.toml` for a porter's repo, validated before anything touches the disk.

Every key a porter may set is declared once, in `FIELDS`: the `init` flags and the wizard's config form are
both made from it, and both turn what the porter typed into TOML tables with `config_tables`. The result is
parsed by the same `parse_config` the checks use, so a value `init` accepts is one every check script accepts
too, and a wrong one is refused with the key it belongs to (and, through `field_for_key`, its flag or field).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

from paddle_port_checks.samples import DATA_FORMATS

PYTORCH, PADDLE = "PyTorch", "Paddle"
SECTIONS = ("Models", "Data", "Metric", "Inputs", "Predict", "Train", "Run")
INPUT_SPEC = "SHAPE[:DTYPE][:low=N][:high=N][:fill=V][:file=PATH]"
NAMED_EXAMPLE = "input_ids:2x16:int64:high=30522, attention_mask:2x16:int64:fill=1"
# The last two: predict.<side>.
FACTORY_KEYS = ("model", "dataset", "loader", "metric", "loss", "optimizer", "scheduler", "reference", "paddle")
METAVARS = {  # by kind; a text is a PATH unless TEXT_METAVARS or FACTORY_KEYS say otherwise
    "table": "TABLE",
    "names": "A,B",
    "paths": "DIR",
    "env": "NAME=VALUE",
    "int": "N",
    "number": "SECONDS",
    "input": "SHAPE",
    "inputs": "NAME:SHAPE",
}
TEXT_METAVARS = {
    "device": "DEVICE",
    "reference_device": "DEVICE",
    "format": "FORMAT",
    "label_field": "NAME",
    "mode": "MODE",
}
# Numbers other than a timeout's seconds, by leaf.
NUMBER_METAVARS = {"reference_accuracy": "TOP1", "paddle_accuracy": "TOP1", "accuracy_tolerance": "POINTS"}
HEADER = "# paddle-port workspace config; every key is described in the README, section 'Configuration'.\n"


@dataclass(frozen=True)
class Field:
    """One config key as the porter types it: a flag of `paddle-port init` and an input of the config form."""

    name: str  # the flag's dest and the form input's id: "reference_kwargs"
    key: str  # the dotted config key it fills, as `ConfigError.key` names it: "reference.kwargs"
    kind: str  # how the typed text becomes a TOML value: a key of PARSERS
    label: str  # the form's row label; a PyTorch/Paddle pair shares one row
    help: str
    example: str = ""  # the form's placeholder
    side: str = ""  # PYTORCH or PADDLE for the two halves of a pair, else ""
    flag_name: str = ""  # when the flag is not `--<name>`
    section: str = ""  # the form's section (one of SECTIONS)

    @property
    def flag(self) -> str:
        return "--" + (self.flag_name or self.name).replace("_", "-")

    @property
    def metavar(self) -> str:
        leaf = self.key.rsplit(".", 1)[-1]
        if self.kind == "text":
            return "MODULE:CALLABLE" if leaf in FACTORY_KEYS else TEXT_METAVARS.get(leaf, "PATH")
        if self.kind == "number":
            return NUMBER_METAVARS.get(leaf, METAVARS["number"])
        return METAVARS[self.kind]

    @property
    def repeatable(self) -> bool:
        """A flag given several times (`--env A=1 --env B=2`), a comma list in the form."""
        return self.kind in ("paths", "env", "inputs")


def _pair(key: str, kind: str, label: str, help_text: str, examples: tuple[str, str] = ("", "")) -> tuple[Field, ...]:
    """The PyTorch and the Paddle half of one key, `reference.<key>` and `paddle.<key>`; a key `predict.<x>`
    gives `predict.reference_<x>` and `predict.paddle_<x>` (`predict.reference` for `predict.`)."""
    table, _, leaf = key.rpartition(".")
    halves = []
    for side, half, example in ((PYTORCH, "reference", examples[0]), (PADDLE, "paddle", examples[1])):
        dotted = f"{table}.{half}{'_' if leaf else ''}{leaf}" if table else f"{half}.{leaf}"
        name = dotted.replace(".", "_")
        halves.append(Field(name, dotted, kind, label, help_text.format(side=side), example, side))
    return tuple(halves)


def _section(section: str, *fields: Field | tuple[Field, ...]) -> tuple[Field, ...]:
    flat = [item for entry in fields for item in (entry if isinstance(entry, tuple) else (entry,))]
    return tuple(replace(field, section=section) for field in flat)


FIELDS: tuple[Field, ...] = (
    *_section(
        "Models",
        _pair(
            "model",
            "text",
            "model",
            "the {side} model factory",
            ("pkg.torch_model:resnet18", "pkg.paddle_model:resnet18"),
        ),
        _pair(
            "kwargs",
            "table",
            "kwargs",
            "its keyword arguments, e.g. '{{ num_classes = 10 }}'",
            ("{ num_classes = 10 }", ""),
        ),
        _pair("checkpoint", "text", "checkpoint", "the {side} weights file", ("weights/reference.pth", "(converted)")),
    ),
    *_section(
        "Data",
        _pair(
            "dataset",
            "text",
            "dataset",
            "the {side} dataset factory(samples, **dataset_kwargs)",
            ("pkg.data:build", ""),
        ),
        _pair("dataset_kwargs", "table", "dataset kwargs", "its keyword arguments, a TOML inline table"),
        _pair("loader", "text", "or loader", "or the {side} loader builder(**loader_kwargs)", ("pkg.utils:loader", "")),
        _pair("loader_kwargs", "table", "loader kwargs", "its keyword arguments, a TOML inline table"),
        Field(
            "data_list",
            "data.list",
            "text",
            "data list",
            "list file, ImageFolder folder, .tsv or .jsonl",
            "lite_data.txt",
        ),
        Field("data_format", "data.format", "text", "format", " | ".join(DATA_FORMATS), " | ".join(DATA_FORMATS)),
        Field("label_field", "data.label_field", "text", "label field", "a jsonl record's label field", "label"),
        Field("data_root", "data.root", "text", "root", "the folder the list's paths are relative to", "."),
        Field("batch_size", "data.batch_size", "int", "batch size", "samples per batch", "4"),
        Field("num_batches", "data.num_batches", "int", "batches", "batches the data step compares", "2"),
        Field(
            "train_list",
            "data.train_list",
            "text",
            "train list",
            "the small train set of the train step (list file or folder)",
            "(the fixed inputs)",
        ),
    ),
    *_section(
        "Metric",
        _pair(
            "metric", "text", "metric", "the {side} metric(outputs, labels, **metric_kwargs)", ("(top-k)", "(top-k)")
        ),
        _pair("metric_kwargs", "table", "metric kwargs", "its keyword arguments, e.g. '{{ topk = [1, 5] }}'"),
        _pair("metric_keys", "names", "metric keys", "names of a list answer, comma separated", ("top1, top5", "")),
    ),
    *_section(
        "Inputs",
        Field(
            "input_shape",
            "input",
            "input",
            "input shape",
            f"one positional input, {INPUT_SPEC}, e.g. 1x3x224x224",
            "1,3,224,224",
        ),
        Field(
            "inputs",
            "inputs",
            "inputs",
            "named inputs",
            f"a named input, NAME:{INPUT_SPEC}, e.g. input_ids:2x16:int64:high=30522",
            NAMED_EXAMPLE,
            "",
            "input",
        ),
        Field(
            "output_names", "outputs.names", "names", "output names", "the outputs' names, comma separated", "logits"
        ),
    ),
    *_section(
        "Predict",
        Field(
            "predict_sample", "predict.sample", "text", "sample", "the sample to predict", "(first of the data list)"
        ),
        _pair("predict.", "text", "program", "your own {side} prediction program", ("pkg.predict:main", "")),
        _pair("predict.kwargs", "table", "program kwargs", "its keyword arguments, a TOML inline table"),
    ),
    *_section(
        "Train",
        _pair(
            "loss",
            "text",
            "loss",
            "the {side} loss factory(**loss_kwargs)",
            ("(torch.nn:CrossEntropyLoss)", "(paddle.nn:CrossEntropyLoss)"),
        ),
        _pair("loss_kwargs", "table", "loss kwargs", "its keyword arguments, e.g. '{{ label_smoothing = 0.1 }}'"),
        _pair(
            "optimizer",
            "text",
            "optimizer",
            "the {side} optimizer factory, given the parameters the framework's way",
            ("(torch.optim:SGD)", "(paddle.optimizer:Momentum)"),
        ),
        _pair(
            "optimizer_kwargs",
            "table",
            "optimizer kwargs",
            "its keyword arguments, e.g. '{{ momentum = 0.9 }}' (torch's lr is Paddle's learning_rate)",
            ("{ lr = 0.001, momentum = 0.9 }", "{ learning_rate = 0.001, momentum = 0.9 }"),
        ),
        _pair(
            "scheduler",
            "text",
            "scheduler",
            "the {side} LR scheduler factory (optional; Paddle's becomes the optimizer's learning_rate)",
            ("torch.optim.lr_scheduler:StepLR", "paddle.optimizer.lr:StepDecay"),
        ),
        _pair("scheduler_kwargs", "table", "scheduler kwargs", "its keyword arguments, e.g. '{{ step_size = 1 }}'"),
        Field("train_iterations", "train.iterations", "int", "iterations", "iterations of the backward step", "3"),
        Field("train_mode", "train.mode", "text", "mode", "train (BatchNorm trains, no dropout) | eval", "train"),
        Field("train_labels", "train.labels", "text", "labels", "a .npy of labels for the fixed inputs", "(seeded)"),
        Field(
            "train_run_iterations",
            "train.train_iterations",
            "int",
            "train iterations",
            "iterations of the train step's short run",
            "10",
        ),
        _pair("train.accuracy", "number", "full top-1", "the {side} full training's top-1 (0.7612 or 76.12)"),
        _pair("train.log", "text", "training log", "the {side} full training's log (Paddle's: TIPC fields)"),
        Field(
            "accuracy_tolerance",
            "train.accuracy_tolerance",
            "number",
            "top-1 tolerance",
            "percentage points between the full-training top-1s",
            "0.15",
        ),
    ),
    *_section(
        "Run",
        Field("device", "run.device", "text", "device", "cpu, gpu or gpu:N", "cpu | gpu | gpu:N"),
        Field(
            "reference_device",
            "run.reference_device",
            "text",
            "PyTorch device",
            "the PyTorch side's (default: device)",
            "(device)",
        ),
        Field("python", "run.python", "text", "python", "interpreter of the ML environment", "(this interpreter)"),
        Field("pythonpath", "run.pythonpath", "paths", "pythonpath", "an import root in the workspace", "ref, vendor"),
        Field("env", "run.env", "env", "env", "a variable for every check", "FLAGS_cudnn_deterministic=1"),
        Field("seed", "run.seed", "int", "seed", "seed of inputs and random inits", "33"),
        Field("timeout_s", "run.timeout_s", "number", "timeout (s)", "per step (0 = no limit)", "0"),
    ),
)
FIELD_BY_NAME = {field.name: field for field in FIELDS}


def field_for_key(key: str) -> Field | None:
    """The field a config key belongs to: `inputs.input_ids.high` -> named inputs, `run.env.X` -> env, and a
    whole table (`reference`, "table is missing") -> its first field."""
    matches = [field for field in FIELDS if key == field.key or key.startswith(field.key + ".")]
    inside = (field for field in FIELDS if field.key.startswith(key + "."))
    return max(matches, key=lambda field: len(field.key), default=None) or next(inside, None)


# --- typed text -> TOML values ------------------------------------------------------------------------


def _error(path: Path | str, key: str, message: str) -> Exception:
    from paddle_port_checks.config import ConfigError

    return ConfigError(path, key, message)


def parse_shape(text: str, path: Path | str, key: str = "input.shape") -> list[int]:
    """'1,3,224,224' or '1x3x224x224' -> [1, 3, 224, 224]; a ConfigError on `key` otherwise."""
    parts = [part for part in re.split(r"[,x\s\[\]]+", text.strip()) if part]
    if not parts or not all(part.isdigit() and int(part) > 0 for part in parts):
        raise _error(path, key, f"expected positive integers such as 1,3,224,224, got {text!r}")
    return [int(part) for part in parts]


def _table(text: str, path: Path | str, key: str) -> dict[str, Any]:
    """A TOML inline table, braces optional: '{ num_classes = 10 }' or 'num_classes = 10, pretrained = false'."""
    import tomllib

    body = text.strip()
    inline = body if body.startswith("{") else "{ " + body + " }"
    try:
        value = tomllib.loads(f"value = {inline}")["value"]
    except tomllib.TOMLDecodeError as error:
        # The position tomllib names is in the wrapped text, not in what the porter typed.
        reason = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(error)).rstrip(".")
        example = "{ num_classes = 10 }"
        raise _error(path, key, f"expected a TOML inline table such as {example}, got {text!r}: {reason}") from None
    if not isinstance(value, dict):
        raise _error(path, key, f"expected a TOML inline table such as {{ num_classes = 10 }}, got {text!r}")
    return value


def _names(text: str, path: Path | str, key: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _items(text: str, separator: str) -> list[str]:
    """Comma separated items, where a comma inside an item (`CUDA_VISIBLE_DEVICES=0,1`, a shape `2,16`) is not a
    separator: only a comma followed by the start of the next item (`NAME=` or `NAME:`) splits."""
    return [item.strip() for item in re.split(rf",\s*(?=[A-Za-z_]\w*{separator})", text) if item.strip()]


def _named(text: str, path: Path | str, key: str, separator: str, expected: str) -> list[tuple[str, str]]:
    """`NAME<separator>REST` items -> [(name, rest)]; a ConfigError naming the key for an item without a name."""
    named = []
    for item in _items(text, separator):
        name, sep, rest = item.partition(separator)
        if not sep or not name.strip().isidentifier():
            raise _error(path, key, f"expected {expected}, got {item!r}")
        named.append((name.strip(), rest))
    return named


def _env(text: str, path: Path | str, key: str) -> dict[str, str]:
    return {name: value.strip() for name, value in _named(text, path, key, "=", "NAME=VALUE")}


def _number(text: str, path: Path | str, key: str, kind: Callable[[str], Any], expected: str) -> Any:
    try:
        return kind(text.strip())
    except ValueError:
        raise _error(path, key, f"expected {expected}, got {text!r}") from None


def _input(text: str, path: Path | str, key: str) -> dict[str, Any]:
    """SHAPE[:DTYPE][:low=N][:high=N][:fill=V][:file=PATH] -> an input table ({"shape": [...], "dtype": ...})."""
    shape, *rest = text.strip().split(":")
    table: dict[str, Any] = {"shape": parse_shape(shape, path, f"{key}.shape")}
    for part in rest:
        option, sep, value = part.partition("=")
        if not sep:
            table["dtype"] = option.strip()
        elif option in ("low", "high"):
            table[option] = _number(value, path, f"{key}.{option}", int, "an integer")
        elif option == "fill":
            table[option] = _number(value, path, f"{key}.{option}", float, "a number")
        elif option == "file":
            table[option] = value.strip()
        else:
            raise _error(path, key, f"unknown option {option!r}; expected low=, high=, fill= or file=")
    return table


def _named_inputs(text: str, path: Path | str, key: str) -> dict[str, Any]:
    expected = "NAME:SHAPE[:DTYPE], e.g. input_ids:2x16:int64:high=30522"
    return {name: _input(spec, path, f"{key}.{name}") for name, spec in _named(text, path, key, ":", expected)}


PARSERS: dict[str, Callable[[str, Path | str, str], Any]] = {
    "text": lambda text, path, key: text.strip(),
    "table": _table,
    "names": _names,
    "paths": _names,
    "env": _env,
    "int": lambda text, path, key: _number(text, path, key, int, "an integer"),
    "number": lambda text, path, key: _number(text, path, key, float, "a number"),
    "input": _input,
    "inputs": _named_inputs,
}


def config_tables(values: Mapping[str, str], path: Path | str) -> dict[str, Any]:
    """The TOML tables for what the porter typed ({field name: text}); a blank text keeps the documented
    default. Raises ConfigError naming the key of the first value that cannot be read."""
    tables: dict[str, Any] = {"reference": {}, "paddle": {}}  # so a missing model is named, not its table
    for field in FIELDS:
        text = values.get(field.name, "")
        if not text.strip():
            continue
        *parents, leaf = field.key.split(".")
        table = tables
        for parent in parents:
            table = table.setdefault(parent, {})
        table[leaf] = PARSERS[field.kind](text, path, field.key)
    if "input" in tables and "inputs" in tables:
        raise _error(path, "input", "give one positional input shape or named inputs, not both: clear one of them")
    return tables


# --- TOML tables -> the file --------------------------------------------------------------------------


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def _value(value: Any) -> str:
    """One TOML value, inline: `{ num_classes = 10 }` reads better than a `[reference.kwargs]` section."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's string escapes are a subset of TOML's
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_text(tables: Mapping[str, Any]) -> str:
    """The tables as TOML; a table of tables only (`[inputs.<name>]`) gets one section per entry."""
    sections = []
    for name, table in tables.items():
        if table and all(isinstance(value, dict) for value in table.values()):
            entries = [(f"{name}.{_key(sub)}", value) for sub, value in table.items()]
        else:
            entries = [(name, table)]
        for header, entry in entries:
            lines = [f"[{header}]", *(f"{_key(key)} = {_value(value)}" for key, value in entry.items())]
            sections.append("\n".join(lines) + "\n")
    return "\n".join(sections)


def config_text(tables: Mapping[str, Any], path: Path | str) -> str:
    """The config file's text for `tables`, validated by `parse_config` (ConfigError naming the key)."""
    from paddle_port_checks.config import parse_config

    text = HEADER + "\n" + toml_text(tables)
    parse_config(text, path)
    return text


def write_config(path: Path | str, values: Mapping[str, Any]) -> Path:
    """Validate `values` (TOML tables) and write them to `path`; an existing file is kept as a backup first."""
    from paddle_port_checks.atomic import write_text_atomic
    from paddle_port_checks.config import CONFIG_NAME

    path = Path(path)
    if path.is_dir():
        path = path / CONFIG_NAME
    text = config_text(values, path)  # raises ConfigError naming the key; nothing is written then
    if path.exists():
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        shutil.copy2(path, path.with_name(f"{path.name}.bak-{stamp}"))
    return write_text_atomic(path, text)
