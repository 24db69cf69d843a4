"""Pitfall lint on real layers of both frameworks: each known silent mismatch is found, faithful pairs are not."""

from __future__ import annotations

import paddle
import pytest
import torch
from twins import disjoint_names_convnet

from paddle_port_checks import lint_registry
from paddle_port_checks.lint import layer_kind, lint, pair_by_definition
from paddle_port_checks.lint_registry import Setting, lint_rule

tnn, pnn = torch.nn, paddle.nn


@pytest.mark.parametrize(
    ("torch_layer", "paddle_layer", "attribute", "torch_value", "paddle_value"),
    [
        (tnn.AvgPool2d(3, 2, 1), pnn.AvgPool2D(3, 2, 1), "count_include_pad", True, False),
        (tnn.MaxPool2d(3, 2, 1), pnn.MaxPool2D(3, 2, 1, ceil_mode=True), "ceil_mode", False, True),
        (tnn.MaxPool2d(3, 2), pnn.MaxPool2D(3), "stride", (2, 2), (3, 3)),
        (
            tnn.Dropout(0.3),
            pnn.Dropout(0.3, mode="downscale_in_infer"),
            "mode",
            "upscale_in_train",
            "downscale_in_infer",
        ),
        (tnn.Dropout(0.3), pnn.Dropout(0.5), "p", 0.3, 0.5),
        (
            tnn.Upsample(scale_factor=2, mode="bilinear"),
            pnn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            "align_corners",
            False,
            True,
        ),
        (
            tnn.Upsample(scale_factor=2, mode="bilinear"),
            pnn.Upsample(scale_factor=2, mode="bilinear", align_mode=1),
            "align_mode",
            0,
            1,
        ),
        (
            tnn.UpsamplingBilinear2d(scale_factor=2),
            pnn.Upsample(scale_factor=2, mode="bilinear"),
            "align_corners",
            True,
            False,
        ),
        (tnn.GELU(approximate="tanh"), pnn.GELU(), "approximate", True, False),
        (tnn.LayerNorm(4, eps=1e-6), pnn.LayerNorm(4), "epsilon", 1e-6, 1e-5),
        (
            tnn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
            pnn.Conv2D(3, 4, 3, padding=1),
            "padding_mode",
            "reflect",
            "zeros",
        ),
        (tnn.Conv2d(3, 4, 3, padding=1), pnn.Conv2D(3, 4, 3, padding=1, bias_attr=False), "bias", True, False),
        (tnn.BatchNorm2d(4), pnn.BatchNorm2D(4, epsilon=1e-3), "epsilon", 1e-5, 1e-3),
        (tnn.LeakyReLU(0.2), pnn.LeakyReLU(), "negative_slope", 0.2, 0.01),
    ],
)
def test_each_known_mismatch_is_reported(torch_layer, paddle_layer, attribute, torch_value, paddle_value) -> None:
    findings = lint(torch_layer, paddle_layer)
    assert [(f.attribute, f.torch_value, f.paddle_value) for f in findings] == [(attribute, torch_value, paddle_value)]
    assert findings[0].why and findings[0].visible_in_eval


@pytest.mark.parametrize(
    ("torch_layer", "paddle_layer"),
    [
        (tnn.AvgPool2d(3, 2, 1, count_include_pad=False), pnn.AvgPool2D(3, 2, 1)),
        (tnn.MaxPool2d(2), pnn.MaxPool2D(2)),
        (tnn.BatchNorm2d(4, momentum=0.1), pnn.BatchNorm2D(4, momentum=0.9)),
        (tnn.UpsamplingBilinear2d(scale_factor=2), pnn.UpsamplingBilinear2D(scale_factor=2)),
        (tnn.Upsample(size=(4, 4)), pnn.Upsample(size=4)),
        (tnn.GELU(), pnn.GELU()),
        (tnn.Flatten(), pnn.Flatten()),
        (tnn.AdaptiveAvgPool2d((1, 1)), pnn.AdaptiveAvgPool2D(1)),
        (
            tnn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False),
            pnn.Conv2D(3, 4, 3, stride=2, padding=1, bias_attr=False),
        ),
    ],
)
def test_equivalent_settings_are_not_flagged(torch_layer, paddle_layer) -> None:
    assert lint(torch_layer, paddle_layer) == []


def test_bn_momentum_copied_verbatim_is_flagged_as_invisible_in_eval() -> None:
    (finding,) = lint(tnn.BatchNorm2d(4, momentum=0.1), pnn.BatchNorm2D(4, momentum=0.1))
    assert (finding.attribute, finding.expected_paddle_value, finding.visible_in_eval) == ("momentum", 0.9, False)
    assert "1 - torch" in finding.why


def test_whole_models_are_paired_by_kind_across_different_names_and_nesting() -> None:
    torch_model, paddle_model = disjoint_names_convnet(bn_epsilon=1e-3, maxpool_ceil_mode=True)
    pairs = pair_by_definition(torch_model, paddle_model)
    assert [(p.torch_name, p.paddle_name) for p in pairs][:4] == [
        ("0", "stem.conv"),
        ("1", "stem.norm"),
        ("2", "stem.act"),
        ("3", "stem.pool"),
    ]
    assert all(layer_kind(p.torch_module) == layer_kind(p.paddle_layer) for p in pairs)
    findings = lint(torch_model, paddle_model)
    assert [(f.torch_layer, f.paddle_layer, f.attribute) for f in findings] == [
        ("1", "stem.norm", "epsilon"),
        ("3", "stem.pool", "ceil_mode"),
        ("5", "body.norm", "epsilon"),
    ]
    assert findings[0].to_json()["paddle_value"] == 1e-3


def test_a_registered_rule_runs_on_the_pairs_of_its_kinds_after_the_built_in_ones(monkeypatch) -> None:
    monkeypatch.setattr(lint_registry, "_RULES", {kind: list(rules) for kind, rules in lint_registry._RULES.items()})

    @lint_rule("relu", "dropout")
    def inplace(torch_layer, paddle_layer):
        yield Setting("inplace", torch_layer.inplace, False, "paddle layers do not work in place")

    assert [f.attribute for f in lint(tnn.ReLU(inplace=True), pnn.ReLU())] == ["inplace"]
    assert [f.attribute for f in lint(tnn.Dropout(0.3, inplace=True), pnn.Dropout(0.5))] == ["p", "inplace"]
    assert lint(tnn.ReLU(), pnn.ReLU()) == []


def test_subclasses_and_transposed_convs_share_one_kind_across_the_frameworks() -> None:
    assert layer_kind(tnn.MultiheadAttention(8, 2).out_proj) == layer_kind(pnn.Linear(8, 8)) == "linear"
    assert layer_kind(tnn.ConvTranspose2d(3, 4, 3)) == layer_kind(pnn.Conv2DTranspose(3, 4, 3)) == "conv_transpose"
    assert layer_kind(tnn.UpsamplingBilinear2d(scale_factor=2)) == layer_kind(pnn.Upsample(scale_factor=2))
    assert layer_kind(tnn.SyncBatchNorm(4)) == layer_kind(pnn.BatchNorm(4)) == "batchnorm"


@pytest.mark.parametrize(
    ("torch_layer", "paddle_layer", "fix", "severity"),
    [
        (
            tnn.BatchNorm2d(4, momentum=0.1),
            pnn.BatchNorm2D(4, momentum=0.1),
            "paddle.nn.BatchNorm2D(momentum=0.9)",
            "warning",
        ),
        (tnn.AvgPool2d(3, 2, 1), pnn.AvgPool2D(3, 2, 1), "paddle.nn.AvgPool2D(exclusive=False)", "error"),
        (tnn.MaxPool2d(3, 2), pnn.MaxPool2D(3), "paddle.nn.MaxPool2D(stride=2)", "error"),  # (2, 2) written as 2
        (tnn.GELU(approximate="tanh"), pnn.GELU(), "paddle.nn.GELU(approximate=True)", "error"),
        (tnn.Softmax(dim=1), pnn.Softmax(axis=-1), "paddle.nn.Softmax(axis=1)", "error"),
        (tnn.Linear(4, 4, bias=False), pnn.Linear(4, 4), "paddle.nn.Linear(bias_attr=False)", "error"),
        (tnn.Conv2d(3, 4, 3), pnn.Conv2D(3, 4, 3, bias_attr=False), "remove bias_attr=False", "error"),
    ],
)
def test_each_finding_names_the_paddle_argument_that_fixes_it(torch_layer, paddle_layer, fix, severity) -> None:
    (finding,) = lint(torch_layer, paddle_layer)
    assert finding.fix.startswith(fix) and finding.severity == severity
    assert finding.defined_at == ""  # a bare framework layer is written nowhere of the porter's


class _TorchBlock(tnn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = tnn.Conv2d(3, 4, 3)
        self.norm = tnn.BatchNorm2d(4)
        self.head = tnn.Sequential(tnn.ReLU(), tnn.MaxPool2d(2), tnn.BatchNorm2d(4), tnn.BatchNorm2d(4))


class _PaddleBlock(pnn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.conv = pnn.Conv2D(3, 4, 3)
        self.norm = pnn.BatchNorm2D(4, momentum=0.9)
        self.head = pnn.Sequential(
            pnn.ReLU(),
            pnn.MaxPool2D(2, ceil_mode=True),  # <- head.1
            pnn.BatchNorm2D(4, momentum=0.9),
            pnn.BatchNorm2D(4, epsilon=1e-3),  # <- head.3: the second BatchNorm2D of the Sequential
        )


class _Model(pnn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.block = _PaddleBlock()


def _line(marker: str) -> int:
    import inspect

    lines, first = inspect.getsourcelines(_PaddleBlock)
    return first + next(n for n, line in enumerate(lines) if marker in line)


def test_a_finding_says_where_its_paddle_layer_is_built() -> None:
    findings = {f.paddle_layer: f for f in lint(_TorchBlock(), _PaddleBlock())}
    assert set(findings) == {"head.1", "head.3"}
    assert findings["head.1"].defined_at.endswith(f"tests/test_lint.py:{_line('<- head.1')}")
    assert findings["head.3"].defined_at.endswith(f"tests/test_lint.py:{_line('<- head.3')}")
    # nested one level deeper: the deepest class of the porter's that builds it decides
    from paddle_port_checks.layer_source import construction_site

    assert construction_site(_Model(), "block.head.1").endswith(f"tests/test_lint.py:{_line('<- head.1')}")
    assert construction_site(_Model(), "block.norm").endswith(f"tests/test_lint.py:{_line('self.norm = pnn.')}")
    assert construction_site(_Model(), "no.such.layer") == ""
