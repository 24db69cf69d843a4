"""`paddle-port init`: a flag for every key, validated before anything is written, and `--from-repo`, which
reads a porter's sources (never imports them) for the factories to propose. Fast: no torch, no paddle."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from paddle_port_checks.config import ConfigError, load_config, parse_config
from paddle_port_tui import repo_scan
from paddle_port_tui.cli import main
from paddle_port_tui.init import FIELDS, config_tables, config_text, field_for_key
from paddle_port_tui.repo_proposal import propose

# --- a repo laid out like the tutorial ports: each side vendors a package imported by its top-level name ------

ALEXNET_TORCH = """\
import torch
import torch.nn as nn
from typing import Any


class AlexNet(nn.Module):
    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.classifier(torch.flatten(x, 1))


def alexnet(pretrained: bool = False, progress: bool = True, **kwargs: Any) -> AlexNet:
    model = AlexNet(**kwargs)
    return model
"""

ALEXNET_PADDLE = """\
import paddle
from paddle import nn


class AlexNet(nn.Layer):
    def __init__(self, num_classes=1000):
        super().__init__()
        self.classifier = nn.Linear(64, num_classes)

    def forward(self, x):
        return self.classifier(paddle.flatten(x, 1))


def alexnet(pretrained=False, **kwargs):
    return AlexNet(**kwargs)
"""

UTILITIES = """\
import numpy as np
import paddle
import paddlevision
import torch
import torchvision


def build_paddle_data_pipeline():
    return paddle.io.DataLoader(None)


def build_torch_data_pipeline():
    return torch.utils.data.DataLoader(None)


def accuracy_torch(output, target, topk=(1,)):
    return [0.0 for _ in topk]


def accuracy_paddle(output, target, topk=(1,)):
    return [0.0 for _ in topk]


def evaluate(image, labels, model, acc, tag, reprod_logger):
    return acc(model(image), labels)


def predict_torch(image_path, num_classes=10):
    return torchvision.models.alexnet(num_classes=num_classes)


def predict_paddle(image_path, num_classes=10):
    return paddlevision.models.alexnet(num_classes=num_classes)
"""


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def tutorial_repo(root: Path) -> Path:
    return write(
        root,
        {
            "AlexNet_ref/torchvision/__init__.py": "from torchvision import models\n",
            "AlexNet_ref/torchvision/models/__init__.py": "from .alexnet import *\n",
            "AlexNet_ref/torchvision/models/alexnet.py": ALEXNET_TORCH,
            "AlexNet_paddle/paddlevision/__init__.py": "from paddlevision import models\n",
            "AlexNet_paddle/paddlevision/models/__init__.py": "from .alexnet import *\n",
            "AlexNet_paddle/paddlevision/models/alexnet.py": ALEXNET_PADDLE,
            "utilities.py": UTILITIES,
            "half_written.py": "import torch\nclass Oops(torch.nn.Module:\n    pass\n",
            # A virtual environment (any name: it is known by its pyvenv.cfg), tests and results are no port.
            ".venv/pyvenv.cfg": "home = /usr/bin\n",
            "env2/pyvenv.cfg": "home = /usr/bin\n",
            "env2/lib/site-packages/torchlib/net.py": "import torch\nclass VenvNet(torch.nn.Module): pass\n",
            ".venv/lib/site-packages/torch/nn.py": "import torch\nclass Module(torch.nn.Module): pass\n",
            "tests/test_models.py": "import torch\nclass TestNet(torch.nn.Module): pass\n",
            "result/scratch.py": "import torch\nclass Scratch(torch.nn.Module): pass\n",
        },
    )


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --- flags -------------------------------------------------------------------------------------------------


def test_every_flag_lands_in_the_written_config(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ref").mkdir()
    (tmp_path / "vendor").mkdir()
    code, out, err = run_cli(
        capsys, "init", "--workspace", str(tmp_path),
        "--reference-model", "ref_pkg.models:build", "--paddle-model", "pd_pkg.models:build",
        "--reference-kwargs", "{ num_classes = 10, depths = [2, 2] }", "--paddle-kwargs", "num_classes = 10",
        "--reference-checkpoint", "weights/ref.pth", "--paddle-checkpoint", "weights/pd.pdparams",
        "--reference-dataset", "ref_pkg.data:dataset", "--reference-dataset-kwargs", "{ size = 64 }",
        "--paddle-dataset", "pd_pkg.data:dataset", "--paddle-dataset-kwargs", "size = 64",
        "--reference-loader", "utilities:torch_loader", "--reference-loader-kwargs", "{ batch = 4 }",
        "--paddle-loader", "utilities:paddle_loader", "--paddle-loader-kwargs", "{ batch = 4 }",
        "--reference-metric", "utilities:acc_torch", "--reference-metric-kwargs", "{ topk = [1, 5] }",
        "--reference-metric-keys", "top1,top5",
        "--paddle-metric", "utilities:acc_paddle", "--paddle-metric-kwargs", "topk = [1, 5]",
        "--paddle-metric-keys", "top1, top5",
        "--input", "input_ids:2x16:int64:high=30522", "--input", "attention_mask:2,16:int64:fill=1",
        "--output-names", "logits,pooled",
        "--data-list", "data/val.jsonl", "--data-format", "jsonl", "--label-field", "gold", "--data-root", "data",
        "--batch-size", "8", "--num-batches", "3",
        "--predict-sample", "data/one.txt",
        "--predict-reference", "utilities:predict_torch", "--predict-reference-kwargs", "{ top = 1 }",
        "--predict-paddle", "utilities:predict_paddle", "--predict-paddle-kwargs", "{ top = 1 }",
        "--pythonpath", "ref", "--pythonpath", "vendor",
        "--env", "CUDA_VISIBLE_DEVICES=0,1", "--env", "FLAGS_cudnn_deterministic=1",
        "--device", "gpu:0", "--reference-device", "gpu:1", "--python", "/opt/ml/bin/python",
        "--seed", "7", "--timeout-s", "120",
    )  # fmt: skip
    assert code == 0, err
    assert "wrote" in out
    config = load_config(tmp_path)
    ref, pd = config.reference, config.paddle
    assert (ref.model, pd.model) == ("ref_pkg.models:build", "pd_pkg.models:build")
    assert ref.kwargs == {"num_classes": 10, "depths": [2, 2]} and pd.kwargs == {"num_classes": 10}
    assert (ref.checkpoint, pd.checkpoint) == ("weights/ref.pth", "weights/pd.pdparams")
    assert (ref.dataset, ref.dataset_kwargs, pd.dataset, pd.dataset_kwargs) == (
        "ref_pkg.data:dataset", {"size": 64}, "pd_pkg.data:dataset", {"size": 64},
    )  # fmt: skip
    assert (ref.loader, ref.loader_kwargs, pd.loader) == (
        "utilities:torch_loader",
        {"batch": 4},
        "utilities:paddle_loader",
    )
    assert ref.metric == "utilities:acc_torch" and ref.metric_kwargs == {"topk": [1, 5]}
    assert ref.metric_keys == pd.metric_keys == ("top1", "top5") and pd.metric_kwargs == {"topk": [1, 5]}
    ids, mask = config.inputs
    assert (ids.name, ids.shape, ids.dtype, ids.high) == ("input_ids", (2, 16), "int64", 30522)
    assert (mask.name, mask.shape, mask.fill) == ("attention_mask", (2, 16), 1.0)
    assert config.output_names == ("logits", "pooled")
    assert (config.data_list, config.data_format, config.label_field, config.data_root) == (
        "data/val.jsonl", "jsonl", "gold", "data",
    )  # fmt: skip
    assert (config.batch_size, config.num_batches) == (8, 3)
    assert config.predict_image == "data/one.txt"
    assert (config.predict_reference, config.predict_reference_kwargs) == ("utilities:predict_torch", {"top": 1})
    assert (config.predict_paddle, config.predict_paddle_kwargs) == ("utilities:predict_paddle", {"top": 1})
    assert config.pythonpath == ("ref", "vendor")
    assert config.env == {"CUDA_VISIBLE_DEVICES": "0,1", "FLAGS_cudnn_deterministic": "1"}
    assert (config.device, config.reference_device, config.python) == ("gpu:0", "gpu:1", "/opt/ml/bin/python")
    assert (config.seed, config.timeout_s) == (7, 120.0)
    # Written as a porter would write it: kwargs inline, not as sub-tables.
    assert "kwargs = { num_classes = 10, depths = [2, 2] }" in (tmp_path / "paddle_port.toml").read_text()


def test_only_the_keys_given_are_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = run_cli(capsys, "init", "-w", str(tmp_path), "--reference-model", "a:b", "--paddle-model", "c:d")
    assert code == 0
    text = (tmp_path / "paddle_port.toml").read_text()
    assert "[input]" not in text and "[run]" not in text and "[data]" not in text
    assert load_config(tmp_path).inputs[0].shape == (1, 3, 224, 224)  # the documented default


@pytest.mark.parametrize(
    ("flag", "value", "key"),
    [
        ("--reference-kwargs", "{num_classes: 10}", "reference.kwargs"),
        ("--paddle-metric-kwargs", "[1, 5]", "paddle.metric_kwargs"),
        ("--input", "input_ids:2x16:int64", "inputs.input_ids"),  # an integer input needs high (or fill, file)
        ("--input", "2x16", "inputs"),
        ("--env", "NOVALUE", "run.env"),
        ("--batch-size", "four", "data.batch_size"),
        ("--data-format", "csv", "data.format"),
        ("--reference-loader", "utilities.loader", "reference.loader"),
        ("--pythonpath", "no_such_folder", "run.pythonpath"),
        ("--predict-paddle", "no colon", "predict.paddle"),
    ],
)
def test_a_bad_value_names_its_key_and_flag_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, key: str
) -> None:
    code, _, err = run_cli(
        capsys, "init", "-w", str(tmp_path), "--reference-model", "a:b", "--paddle-model", "c:d", flag, value
    )
    assert code == 2
    assert err.count("\n") == 1 and f"[{key}" in err and f"(from {flag})" in err, err
    assert not (tmp_path / "paddle_port.toml").exists()


def test_a_missing_model_says_which_flag_sets_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(capsys, "init", "-w", str(tmp_path), "--paddle-model", "c:d")
    assert code == 2 and "[reference" in err and "(set it with --reference-model)" in err


def test_an_existing_config_is_backed_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["init", "-w", str(tmp_path), "--reference-model", "a:b", "--paddle-model", "c:d"]
    assert run_cli(capsys, *base, "--seed", "1")[0] == 0
    code, out, _ = run_cli(capsys, *base, "--seed", "2")
    assert code == 0 and "bak-" in out
    (backup,) = tmp_path.glob("paddle_port.toml.bak-*")
    assert load_config(backup).seed == 1 and load_config(tmp_path).seed == 2


def test_the_strings_to_tables_rules(tmp_path: Path) -> None:
    path = tmp_path / "paddle_port.toml"
    tables = config_tables(
        {
            "reference_model": " a:b ",
            "paddle_model": "c:d",
            "input_shape": "1x16:int64:low=1:high=100",
            "env": "CUDA_VISIBLE_DEVICES=0,1, FLAGS_x=1",
            "inputs": "",  # blank: the default
        },
        path,
    )
    assert tables["reference"] == {"model": "a:b"}
    assert tables["input"] == {"shape": [1, 16], "dtype": "int64", "low": 1, "high": 100}
    assert tables["run"]["env"] == {"CUDA_VISIBLE_DEVICES": "0,1", "FLAGS_x": "1"}
    assert "inputs" not in tables
    assert parse_config(config_text(tables, path), path).inputs[0].high == 100
    with pytest.raises(ConfigError) as both:
        config_tables({"input_shape": "1,3", "inputs": "ids:1x3"}, path)
    assert both.value.key == "input"


def test_every_field_is_found_again_by_the_key_an_error_names() -> None:
    for field in FIELDS:
        assert field_for_key(field.key) is field, field.name
    # Keys inside a field's value, and a whole table ("table is missing"), are the field's too.
    inside = {"inputs.ids.high": "inputs", "input.dtype": "input_shape", "run.env.FOO": "env", "paddle": "paddle_model"}
    for key, name in inside.items():
        field = field_for_key(key)
        assert field is not None and field.name == name, key
    assert field_for_key("weights.output") is None  # no flag sets it
    assert len({field.flag for field in FIELDS}) == len(FIELDS)


# --- the repo scan -------------------------------------------------------------------------------------------


def test_the_scan_proposes_the_twin_factories_with_their_import_roots(tmp_path: Path) -> None:
    repo = tutorial_repo(tmp_path / "port")
    proposal = propose(repo)
    assert proposal.values == {
        "reference_model": "torchvision.models.alexnet:alexnet",
        "paddle_model": "paddlevision.models.alexnet:alexnet",
        "reference_loader": "utilities:build_torch_data_pipeline",
        "paddle_loader": "utilities:build_paddle_data_pipeline",
        "reference_metric": "utilities:accuracy_torch",
        "paddle_metric": "utilities:accuracy_paddle",
        "predict_reference": "utilities:predict_torch",
        "predict_paddle": "utilities:predict_paddle",
        "pythonpath": "AlexNet_ref, AlexNet_paddle",
    }
    # Importable as named: the module's file under its import root.
    for definition in (c.definition for group in proposal.groups for c in group.candidates):
        module_file = definition.root.joinpath(*definition.module.split("."))
        assert definition.file in (module_file.with_suffix(".py"), module_file / "__init__.py"), definition
    reference = proposal.group("reference.model")
    assert [c.definition.spec for c in reference.candidates] == [
        "torchvision.models.alexnet:alexnet",  # the factory first, then the class; both twins
        "torchvision.models.alexnet:AlexNet",
    ]
    assert "import torchvision" in dict(proposal.pythonpath)["AlexNet_ref"]
    # `evaluate` is listed but cannot be the metric: it is no metric(outputs, labels).
    metric = proposal.group("reference.metric")
    assert [c.definition.name for c in metric.candidates] == ["accuracy_torch", "evaluate"]
    assert not metric.candidates[1].usable
    scan = proposal.scan
    assert scan.complete and any(skipped.startswith("half_written.py: does not parse") for skipped in scan.skipped)
    names = {definition.name for definition in scan.definitions}
    assert not names & {"VenvNet", "Module", "TestNet", "Scratch", "Oops"}


def test_subclasses_factories_of_factories_and_building_blocks(tmp_path: Path) -> None:
    """torchvision's shape: `resnet18` returns `_resnet(...)`, which returns `ResNet(...)`, built of
    `BasicBlock`; a subclass in another module imports its base relatively; the paddle side subclasses
    `paddle.nn.Layer` spelled out."""
    repo = write(
        tmp_path / "repo",
        {
            "nets/__init__.py": "",
            "nets/resnet.py": (
                "from torch import nn\n\n"
                "class BasicBlock(nn.Module):\n    def __init__(self, inplanes, planes):\n        pass\n\n"
                "class ResNet(nn.Module):\n    def __init__(self, block, layers, num_classes=1000):\n"
                "        self.layer = block(64, 64)\n\n"
                "def _resnet(block, layers, **kwargs):\n    return ResNet(block, layers, **kwargs)\n\n"
                "def resnet18(**kwargs):\n    return _resnet(BasicBlock, [2, 2, 2, 2], **kwargs)\n"
            ),
            "nets/wide.py": "from .resnet import ResNet\n\nclass WideResNet(ResNet):\n    pass\n",
            "pd/resnet.py": (
                "import paddle\n\n"
                "class BasicBlock(paddle.nn.Layer):\n    def __init__(self, inplanes, planes):\n        pass\n\n"
                "class ResNet(paddle.nn.Layer):\n    def __init__(self, block=BasicBlock, depth=18):\n        pass\n\n"
                "def resnet18(**kwargs):\n    return ResNet(BasicBlock, 18, **kwargs)\n"
                "def build_model(config):\n    return None\n"
            ),
        },
    )
    proposal = propose(repo)
    reference = [c.definition.spec for c in proposal.group("reference.model").candidates]
    assert reference[0] == "nets.resnet:resnet18" and reference[-1] == "nets.resnet:BasicBlock"
    assert "nets.wide:WideResNet" in reference  # a subclass of a model class found in another module
    wide = next(c for c in proposal.group("reference.model").candidates if c.definition.name == "WideResNet")
    assert wide.definition.required == ("block", "layers")  # inherited __init__
    assert any("needs block, layers" in note for note in wide.notes)
    paddle = [c.definition.spec for c in proposal.group("paddle.model").candidates]
    assert paddle[0] == "pd.resnet:resnet18" and "pd.resnet:build_model" in paddle
    assert "pythonpath" not in proposal.values  # everything imports from the workspace root


def test_a_folder_that_is_no_identifier_becomes_an_import_root(tmp_path: Path) -> None:
    repo = write(
        tmp_path / "repo",
        {
            "my-ref/net.py": "import torch.nn as nn\n\ndef build_net():\n    return nn.Linear(2, 2)\n",
            "my-paddle/net.py": "import paddle.nn as nn\n\ndef build_net():\n    return nn.Linear(2, 2)\n",
        },
    )
    proposal = propose(repo)
    assert (proposal.values["reference_model"], proposal.values["paddle_model"]) == ("net:build_net", "net:build_net")
    assert proposal.values["pythonpath"] == "my-ref, my-paddle"
    # Both sides' `net` in one process: the first on the path would shadow the other, and the porter is told.
    (warning,) = proposal.warnings
    assert "my-paddle/net.py and my-ref/net.py" in warning and "warning: " + warning in proposal.lines()


def test_the_scan_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    body = "import torch\n\n" + "".join(f"def helper_{n}(x):\n    return x + {n}\n\n" for n in range(200))
    write(tmp_path / "big", {f"pkg{n // 50}/mod{n}.py": body for n in range(300)})
    started = time.monotonic()
    scan = repo_scan.scan_repo(tmp_path / "big")
    assert time.monotonic() - started < 1.5  # the budget is half a second; a file may still be in hand
    assert scan.files <= 300
    monkeypatch.setattr(repo_scan, "MAX_FILES", 10)
    assert not repo_scan.scan_repo(tmp_path / "big").complete


# --- init --from-repo ---------------------------------------------------------------------------------------


def test_from_repo_yes_writes_a_config_that_parses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tutorial_repo(tmp_path / "port")
    code, out, err = run_cli(
        capsys, "init", "-w", str(repo), "--from-repo", "--yes", "--paddle-kwargs", "{ num_classes = 10 }"
    )
    assert code == 0, err
    assert "▸ torchvision.models.alexnet:alexnet" in out and "run.pythonpath:" in out
    config = load_config(repo)
    assert config.reference.model == "torchvision.models.alexnet:alexnet"
    assert config.paddle.loader == "utilities:build_paddle_data_pipeline"
    assert config.paddle.kwargs == {"num_classes": 10}  # a flag given beside the proposal
    assert config.pythonpath == ("AlexNet_ref", "AlexNet_paddle")
    assert config.predict_paddle == "utilities:predict_paddle"


def test_a_flag_wins_over_a_proposal(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = tutorial_repo(tmp_path / "port")
    code, _, _ = run_cli(capsys, "init", "-w", str(repo), "--from-repo", "-y", "--paddle-metric", "mine:acc")
    assert code == 0 and load_config(repo).paddle.metric == "mine:acc"


def test_from_repo_without_a_terminal_prints_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tutorial_repo(tmp_path / "port")
    code, out, _ = run_cli(capsys, "init", "-w", str(repo), "--from-repo")
    assert code == 0
    assert 'model = "paddlevision.models.alexnet:alexnet"' in out and "--yes" in out
    assert not (repo / "paddle_port.toml").exists()


def test_from_repo_at_a_terminal_asks_first(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tutorial_repo(tmp_path / "port")
    monkeypatch.setattr("paddle_port_tui.cli._interactive", lambda: True)
    answers = iter(["", "y"])
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    code, out, _ = run_cli(capsys, "init", "-w", str(repo), "--from-repo")
    assert code == 0 and "not written" in out and not (repo / "paddle_port.toml").exists()
    code, out, _ = run_cli(capsys, "init", "-w", str(repo), "--from-repo")
    assert code == 0 and "wrote" in out and load_config(repo).paddle.model == "paddlevision.models.alexnet:alexnet"


def test_from_repo_that_finds_no_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    repo = write(tmp_path / "repo", {"notes.py": "print('hello')\n"})
    code, _, err = run_cli(capsys, "init", "-w", str(repo), "--from-repo", "--yes")
    assert code == 2 and err.count("\n") == 1
    assert "found no PyTorch model" in err and "--reference-model" in err
    assert not (repo / "paddle_port.toml").exists()
    # Naming the models is enough: the scan's other finds (none here) are proposals, not requirements.
    code, _, _ = run_cli(
        capsys, "init", "-w", str(repo), "--from-repo", "--yes", "--reference-model", "a:b", "--paddle-model", "c:d"
    )
    assert code == 0 and load_config(repo).reference.model == "a:b"
