"""The standard TIPC files: the 32-line config read back by the documented line positions, `[tipc]` validated
with errors that name the key, and the files written edit-safe (an edited runner is the porter's, kept)."""

from __future__ import annotations

from pathlib import Path

import pytest

from paddle_port_checks.config import ConfigError, parse_config
from paddle_port_checks.tipc_files import CONFIG_LINES, COPIED, write_standard_files
from paddle_port_checks.tipc_settings import DEFAULT_FLAGS

BASE = """
[reference]
model = "m:torch_net"
[paddle]
model = "pkg.models:resnet18"
"""


def config(tmp_path: Path, tipc: str = ""):
    path = tmp_path / "paddle_port.toml"
    text = BASE + ("\n[tipc]\n" + tipc if tipc else "")
    path.write_text(text)
    return parse_config(text, path)


def read_back(path: Path) -> dict[int, tuple[str, str]]:
    """Line number (1-based, as docs/tipc.md numbers them) -> (key, value), split on the first ':'."""
    lines = path.read_text().splitlines()
    assert len(lines) == CONFIG_LINES
    return {number: tuple(line.split(":", 1)) if ":" in line else (line, "") for number, line in enumerate(lines, 1)}


def test_the_config_holds_each_value_at_its_documented_line(tmp_path: Path) -> None:
    written = write_standard_files(
        config(
            tmp_path,
            'train = "tools/train.py"\neval = "tools/eval.py --quick"\ngpu_list = "-1|0|0,1"\n'
            "epochs = { lite_train_lite_infer = 2, whole_train_whole_infer = 90 }\nbatch_size = 8\n"
            'image = "./images/x.jpg"\ninfer_batch_sizes = [1, 2]\n[tipc.flags]\nimage = "--image"\n',
        )
    )
    path = tmp_path / "test_tipc/configs/resnet18/train_infer_python.txt"
    assert "test_tipc/configs/resnet18/train_infer_python.txt" in written.written
    lines = read_back(path)
    assert lines[1][0].startswith("=") and "train_params" in lines[1][0]
    assert lines[2] == ("model_name", "resnet18")  # from the Paddle factory's name
    assert lines[3] == ("python", "python")
    assert lines[4] == ("gpu_list", "-1|0|0,1")
    assert lines[5] == ("--device", "gpu|cpu")
    assert lines[6] == ("--epochs", "lite_train_lite_infer=2|whole_train_whole_infer=90")
    assert lines[7][0] == "--output-dir"
    assert lines[8] == ("--batch-size", "lite_train_lite_infer=8|lite_train_whole_infer=8")
    assert lines[9] == ("--pretrained", "null")
    assert lines[10] == ("train_model_name", "latest.pdparams")
    assert lines[11] == ("--data-path", "./lite_data")
    assert [lines[n][0] for n in (12, 15, 18, 23, 26)] == ["##"] * 5
    assert lines[13] == ("trainer", "norm_train")
    assert lines[14] == ("norm_train", "tools/train.py")
    assert "eval_params" in lines[16][0] and "infer_params" in lines[19][0]
    assert lines[17] == ("eval", "tools/eval.py --quick")
    assert lines[20][0] == "--save-inference-dir"
    assert lines[21] == ("--pretrained", "")
    assert lines[22] == ("norm_export", "tools/export_model.py")
    assert lines[24] == ("train_model", "null")
    assert lines[25] == ("infer_export", "tools/export_model.py")
    assert lines[27] == ("inference", "deploy/inference_python/infer.py")
    assert lines[28] == ("--use-gpu", "True|False")
    assert lines[29] == ("--batch-size", "1|2")
    assert lines[30][0] == "--model-dir"
    assert lines[31] == ("--image", "./images/x.jpg")
    assert lines[32] == ("--benchmark", "False")


def test_no_eval_and_no_flag_are_null(tmp_path: Path) -> None:
    write_standard_files(config(tmp_path, 'eval = ""\n[tipc.flags]\npretrained = ""\n'))
    lines = read_back(tmp_path / "test_tipc/configs/resnet18/train_infer_python.txt")
    assert lines[17] == ("eval", "null")
    assert lines[9] == ("null", "null")


@pytest.mark.parametrize(
    ("tipc", "key", "words"),
    [
        ('train = "a:b.py"', "tipc.train", "cannot hold ':'"),
        ('infer = "x.py | y"', "tipc.infer", "cannot hold '|'"),
        ('export = ""', "tipc.export", "is required"),
        ('gpu_list = "gpu0"', "tipc.gpu_list", "-1 (CPU)"),
        ('mode = "lite"', "tipc.mode", "lite_train_lite_infer"),
        ("epochs = 0", "tipc.epochs", "positive integer"),
        ("epochs = { lite = 2 }", "tipc.epochs.lite", "unknown TIPC mode"),
        ('device_values = ["gpu"]', "tipc.device_values", "two strings"),
        ("infer_use_gpu = [1]", "tipc.infer_use_gpu", "true/false"),
        ('colour = "red"', "tipc.colour", "unknown key"),
        ('[tipc.flags]\nimages = "--img"', "tipc.flags.images", "unknown key"),
        ('model_name = "my net"', "tipc.model_name", "cannot hold a space"),
        ('data_path = "./lite data"', "tipc.data_path", "cannot hold a space"),
        ('data_path = "$HOME/data"', "tipc.data_path", "cannot hold '$'"),
        ('train = "train.py; rm -rf x"', "tipc.train", "cannot hold ';'"),
        ('device_values = ["gpu\\nx", "cpu"]', "tipc.device_values", "cannot hold a line break"),
        ('[tipc.flags]\nimage = "--img path"', "tipc.flags.image", "cannot hold a space"),
    ],
)
def test_a_bad_tipc_table_names_its_key(tmp_path: Path, tipc: str, key: str, words: str) -> None:
    with pytest.raises(ConfigError) as raised:
        config(tmp_path, tipc)
    assert raised.value.key == key
    assert words in str(raised.value)
    assert "\n" not in str(raised.value)


def test_every_flag_has_a_default() -> None:
    assert set(DEFAULT_FLAGS) >= {"output", "pretrained", "save_inference", "model_dir", "image", "use_gpu", "device"}


def test_files_are_written_once_and_an_edited_one_is_kept(tmp_path: Path) -> None:
    settings = config(tmp_path)
    first = write_standard_files(settings)
    assert set(COPIED.values()) <= set(first.written)
    assert not first.kept
    assert write_standard_files(settings).written == []  # current: nothing to do
    runner = tmp_path / "test_tipc/test_train_inference_python.sh"
    runner.write_text(runner.read_text() + "\n# the porter's own line\n")
    third = write_standard_files(settings)
    assert third.kept == ["test_tipc/test_train_inference_python.sh"]
    assert runner.read_text().endswith("# the porter's own line\n")


def test_a_file_of_ours_that_lags_behind_is_brought_up_to_date(tmp_path: Path) -> None:
    write_standard_files(config(tmp_path))
    path = tmp_path / "test_tipc/configs/resnet18/train_infer_python.txt"
    again = write_standard_files(config(tmp_path, "batch_size = 2\n"))
    assert "test_tipc/configs/resnet18/train_infer_python.txt" in again.written
    assert read_back(path)[8][1] == "lite_train_lite_infer=2|lite_train_whole_infer=2"


def test_a_strangers_file_is_never_overwritten(tmp_path: Path) -> None:
    readme = tmp_path / "test_tipc/README.md"
    readme.parent.mkdir(parents=True)
    readme.write_text("# our TIPC notes\n")
    written = write_standard_files(config(tmp_path))
    assert "test_tipc/README.md" in written.kept
    assert readme.read_text() == "# our TIPC notes\n"
