"""Any metric: the porter's own function on all the model's outputs, whatever it returns (real frameworks)."""

from __future__ import annotations

from pathlib import Path

import pytest
from workspaces import copy_demo, key, run_step, set_config

from paddle_port_checks.metric_values import MetricError, metric_values

# Like the tutorial ports' accuracy functions: a list of percentages, as framework tensors, k's as arguments.
METRICS = """
import paddle
import torch


def torch_accuracy(outputs, labels, topk=(1,)):
    top = outputs.topk(max(topk), dim=-1).indices
    return [(top[:, :k] == labels[:, None]).any(-1).float().mean() * 100 for k in topk]


def paddle_accuracy(outputs, labels, topk=(1,)):
    labels = labels.reshape([-1, 1]).astype("int64")
    return [paddle.metric.accuracy(outputs, labels, k=k) * 100 for k in topk]
"""


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    root = copy_demo(tmp_path)
    (root / "demo_port" / "my_metrics.py").write_text(METRICS)
    return root


def test_a_metric_returning_a_list_of_tensors_with_arguments_is_named_and_compared(demo: Path) -> None:
    for side, name in (("torch_data", "torch_accuracy"), ("paddle_data", "paddle_accuracy")):
        dataset = f'dataset = "demo_port.{side}:build_dataset"'
        metric = f'\nmetric = "demo_port.my_metrics:{name}"\nmetric_kwargs = {{ topk = [1, 5] }}'
        metric += '\nmetric_keys = ["top1", "top5"]'
        set_config(demo, dataset, dataset + metric)
    code, result = run_step(demo, "metric")
    assert code == 0, result["error"]
    top1, top5 = key(result, "top1"), key(result, "top5")
    assert top1["values"][0] == top1["values"][1] and 0 <= top1["values"][0] <= 100
    assert top5["values"][0] >= top1["values"][0]


def test_the_default_top_k_says_when_the_outputs_are_not_a_classifiers(demo: Path) -> None:
    (demo / "demo_port" / "maps.py").write_text(
        "import torch\n\nfrom demo_port import torch_model\n\n\nclass TorchMap(torch.nn.Module):\n"
        "    def __init__(self, **kwargs):\n        super().__init__()\n"
        "        self.net = torch_model.resnet18(**kwargs)\n\n"
        "    def forward(self, x):\n        return self.net(x)[:, :, None, None]\n"
    )
    set_config(demo, 'checkpoint = "weights/reference.pth"', "# seeded init: the wrapper's names are net.*")
    set_config(demo, '"demo_port.torch_model:resnet18"', '"demo_port.maps:TorchMap"')
    code, result = run_step(demo, "metric")
    assert code == 2 and "[reference.metric] the default metric is top-k accuracy" in result["error"]
    assert "Traceback" not in result["error"]


@pytest.mark.parametrize(
    ("value", "keys", "expected"),
    [
        ({"acc": 0.5}, (), {"acc": 0.5}),
        ([0.5, 0.75], (), {"metric_0": 0.5, "metric_1": 0.75}),
        ((0.5, 0.75), ("top1", "top5"), {"top1": 0.5, "top5": 0.75}),
        (0.25, (), {"metric": 0.25}),
    ],
)
def test_metric_results_of_every_shape_become_named_numbers(value: object, keys: tuple, expected: dict) -> None:
    assert metric_values(value, keys, "paddle") == expected


def test_a_metric_that_is_not_numbers_is_named() -> None:
    with pytest.raises(MetricError, match=r"\[paddle.metric_keys\] names 1 values but the metric returns 2"):
        metric_values([1.0, 2.0], ("top1",), "paddle")
    with pytest.raises(MetricError, match="'acc' is not one number"):
        metric_values({"acc": [1.0, 2.0]}, (), "paddle")
