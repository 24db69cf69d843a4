"""The porter's own data pipelines, named as they are: builders with no arguments and a hard-coded folder,
returning (dataset, loader), shuffling ones included (real torch and paddle, the demo's images)."""

from __future__ import annotations

from pathlib import Path

import pytest
from workspaces import copy_demo, key, run_step, set_config

# Like the tutorial ports' utilities.build_{torch,paddle}_data_pipeline(): no arguments, their own folder.
BUILDERS = """
import paddle
import torch

from paddle_port_checks.samples import read_list_file
from demo_port import paddle_data, torch_data

ROOT = __import__("pathlib").Path(__file__).resolve().parents[1]


def build_torch_data_pipeline():
    dataset = torch_data.build_dataset(read_list_file(ROOT / "lite_data.txt", ROOT))
    return dataset, torch.utils.data.DataLoader(dataset, batch_size=4, shuffle=True)


def build_paddle_data_pipeline():
    dataset = paddle_data.build_dataset(read_list_file(ROOT / "lite_data.txt", ROOT))
    return paddle.io.DataLoader(dataset, batch_size=4, shuffle=False)


def build_nothing_useful():
    return 42
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = copy_demo(tmp_path)
    (root / "demo_port" / "utilities.py").write_text(BUILDERS)
    set_config(
        root,
        'dataset = "demo_port.torch_data:build_dataset"',
        'loader = "demo_port.utilities:build_torch_data_pipeline"',
    )
    set_config(
        root,
        'dataset = "demo_port.paddle_data:build_dataset"',
        'loader = "demo_port.utilities:build_paddle_data_pipeline"',
    )
    return root


def test_own_builders_pass_the_data_and_metric_steps_and_a_shuffling_loader_is_rebuilt(demo: Path) -> None:
    code, result = run_step(demo, "data")
    assert code == 0, result["error"]
    assert key(result, "length")["values"] == [12.0, 12.0]
    assert {"dataloader_0", "label_0", "dataloader_1", "label_1"} <= {entry["key"] for entry in result["keys"]}
    assert any("[reference.loader] rebuilt without shuffling" in warning for warning in result["warnings"])
    code, result = run_step(demo, "metric")
    assert code == 0, result["error"]


def test_a_builder_that_returns_no_data_is_a_one_line_error_naming_the_key(demo: Path) -> None:
    set_config(demo, "demo_port.utilities:build_paddle_data_pipeline", "demo_port.utilities:build_nothing_useful")
    code, result = run_step(demo, "data")
    assert code == 2 and "[paddle.loader] returned int" in result["error"]
