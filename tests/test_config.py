"""The config contract: defaults, and errors that name the file, the key and what was expected."""

from __future__ import annotations

from pathlib import Path

import pytest

from paddle_port_checks.config import ConfigError, Tolerance, load_config, parse_config

MINIMAL = """
[reference]
model = "pkg.torch_model:build"
[paddle]
model = "pkg.paddle_model:build"
"""


def test_minimal_config_gets_documented_defaults(tmp_path: Path) -> None:
    config = parse_config(MINIMAL, tmp_path / "paddle_port.toml")
    assert config.reference.model == "pkg.torch_model:build"
    assert config.inputs[0].shape == (1, 3, 224, 224) and config.inputs[0].positional
    assert config.device == "cpu" and config.seed == 33
    assert config.threshold("forward") == 1e-5 and config.threshold("data") == 1e-6
    assert config.resolve("lite_data.txt") == tmp_path / "lite_data.txt"


def test_repository_demo_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[1] / "paddle_port.toml")
    assert config.paddle.dataset == "demo_port.paddle_data:build_dataset"


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ('[paddle]\nmodel = "a:b"\n', "reference", "table is missing"),
        (MINIMAL.replace('"pkg.torch_model:build"', '"pkg.torch_model"'), "reference.model", "module:callable"),
        (MINIMAL + "[input]\nshape = [1, 0, 3]\n", "input.shape", "positive integers"),
        (MINIMAL + "[data]\nbatch_size = true\n", "data.batch_size", "positive integer"),
        (MINIMAL + '[run]\ndevice = "tpu:0"\n', "run.device", '"cpu", "gpu" or "gpu:N"'),
        (MINIMAL + "[thresholds]\nforward = -1\n", "thresholds.forward", "non-negative"),
        (MINIMAL + "[reference2]\n", "reference2", "unknown table"),
        (MINIMAL.replace("[paddle]", "[paddle]\nkwarg = {}"), "paddle.kwarg", "unknown key"),
    ],
)
def test_bad_config_names_file_key_and_expectation(tmp_path: Path, text: str, key: str, expected: str) -> None:
    path = tmp_path / "paddle_port.toml"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, path)
    message = str(caught.value)
    assert str(path) in message and f"[{key}]" in message and expected in message
    assert caught.value.key == key


def test_invalid_toml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        parse_config("[reference\n", tmp_path / "paddle_port.toml")
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path)


def test_cuda_spelling_is_accepted_as_gpu(tmp_path: Path) -> None:
    from paddle_port_checks.device import parse_device

    config = parse_config(MINIMAL + '[run]\ndevice = "cuda:1"\n', tmp_path / "paddle_port.toml")
    device = parse_device(config.device)
    assert (device.paddle, device.torch) == ("gpu:1", "cuda:1")
    assert parse_device("gpu").torch == "cuda:0" and parse_device("cpu").paddle == "cpu"


def test_the_library_version_is_the_distribution_version() -> None:
    """The checks' version is part of every golden fingerprint: it must move with each release."""
    import tomllib

    import paddle_port_checks

    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    assert paddle_port_checks.__version__ == pyproject["project"]["version"]


def test_predict_sample_is_the_new_name_of_image_and_both_at_once_is_an_error(tmp_path) -> None:
    from paddle_port_checks.config import ConfigError, parse_config

    head = '[reference]\nmodel = "a:b"\n[paddle]\nmodel = "c:d"\n[predict]\n'
    assert parse_config(head + 'sample = "s.txt"\n', tmp_path / "p.toml").predict_image == "s.txt"
    assert parse_config(head + 'image = "i.jpg"\n', tmp_path / "p.toml").predict_image == "i.jpg"
    with pytest.raises(ConfigError, match=r"\[predict.image\] is the older name of \[predict\] sample"):
        parse_config(head + 'sample = "s.txt"\nimage = "i.jpg"\n', tmp_path / "p.toml")


def test_a_workspace_parses_its_config_once_per_version_and_sees_an_edit(tmp_path) -> None:
    from paddle_port_tui.workspace import Workspace

    config = tmp_path / "paddle_port.toml"
    config.write_text('[reference]\nmodel = "a:b"\n[paddle]\nmodel = "c:d"\n[run]\ndevice = "cpu"\n')
    ws = Workspace(tmp_path)
    first = ws.load_config()
    assert ws.load_config() is first, "unchanged file: parsed once"
    config.write_text(config.read_text().replace('"cpu"', '"gpu:1"'))
    assert ws.load_config().device == "gpu:1"


def test_thresholds_take_atol_and_rtol_per_step_and_per_key(tmp_path: Path) -> None:
    text = MINIMAL + (
        "[thresholds]\nforward = 2e-5\n"
        "[thresholds.weights]\nthreshold = 1e-6\natol = 1e-7\nrtol = 1e-5\n"
        "keys = { logits = 1e-4, weight = { atol = 0, rtol = 1e-6 } }\n"
    )
    config = parse_config(text, tmp_path / "paddle_port.toml")
    assert config.threshold("forward") == 2e-5 and config.threshold("weights") == 1e-6
    assert config.tolerance("weights", "eval_top1") == (Tolerance(1e-6, 1e-7, 1e-5), False)
    assert config.tolerance("weights", "weight/fc.weight") == (Tolerance(None, 0.0, 1e-6), True)
    assert config.tolerance("weights", "logits")[0] == Tolerance(threshold=1e-4)
    assert config.tolerance("forward", "logits") == (None, False)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("[thresholds.forward]\natol = -1\n", r"\[thresholds.forward.atol\] expected a non-negative number"),
        ("[thresholds.forward]\ntol = 1\n", r"\[thresholds.forward.tol\] unknown key"),
        ("[thresholds.forward]\nkeys = { logits = { rtol = true } }\n", r"\[thresholds.forward.keys.logits.rtol\]"),
        ("[thresholds.forward]\nkeys = { logits = 'x' }\n", r"\[thresholds.forward.keys.logits\]"),
        ("[thresholds]\nforward = true\n", r"\[thresholds.forward\] expected a non-negative number"),
    ],
)
def test_bad_tolerances_name_their_key(tmp_path: Path, table: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config(MINIMAL + table, tmp_path / "paddle_port.toml")
