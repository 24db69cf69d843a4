"""The five checks on the real demo port, with real torch and paddle: they pass, and fail correctly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from workspaces import copy_demo, key, run_step, set_config

from paddle_port_checks.steps import forward

PADDLE_MODEL = 'model = "demo_port.paddle_model:resnet18"'
PADDLE_KWARGS = PADDLE_MODEL + "\nkwargs = { num_classes = 10 }"


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_demo(tmp_path)


def test_forward_passes_writes_evidence_and_reuses_the_reference(demo: Path) -> None:
    code, result = run_step(demo, "forward")
    assert code == 0 and result["status"] == "passed"
    logits = key(result, "logits")
    assert logits["passed"] and logits["mean"] <= 1e-5 and logits["cosine"] > 0.999999
    for path in result["evidence"]:
        assert (demo / path).is_file(), path
    assert result["reference"]["reused"] is False
    assert result["environment"]["paddle_device"] == "cpu" and result["environment"]["seed"] == 33

    code, again = run_step(demo, "forward")
    assert code == 0 and again["reference"]["reused"] is True
    assert key(again, "logits")["mean"] == logits["mean"]

    # A changed reference (another seed) must not reuse the old golden outputs.
    set_config(demo, "seed = 33", "seed = 34")
    _, changed = run_step(demo, "forward")
    assert changed["reference"]["reused"] is False


def test_forward_evidence_loads_with_reprod_log(demo: Path) -> None:
    from reprod_log import ReprodDiffHelper

    run_step(demo, "forward")
    helper = ReprodDiffHelper()
    ref = helper.load_info(str(demo / "result/forward_ref.npy"))
    ours = helper.load_info(str(demo / "result/forward_paddle.npy"))
    assert ref["logits"].shape == ours["logits"].shape == (1, 10)
    lines = (demo / "result/log/forward_diff.log").read_text().splitlines()
    assert lines[0].endswith("root INFO: logits: ") and lines[-1].endswith("root INFO: diff check passed")


def test_bn_epsilon_twin_fails_forward_with_the_diff(demo: Path) -> None:
    set_config(demo, PADDLE_KWARGS, PADDLE_KWARGS.replace("num_classes = 10", "num_classes = 10, bn_epsilon = 1e-3"))
    code, result = run_step(demo, "forward")
    assert code == 1 and result["status"] == "failed"
    logits = key(result, "logits")
    assert not logits["passed"] and logits["mean"] > 1e-4 and logits["min_passing_threshold"] == logits["mean"]
    assert "check passed: False" in (demo / "result/log/forward_diff.log").read_text()


def test_square_linear_copied_without_transpose_fails_forward(demo: Path) -> None:
    """A porter's own .pdparams made by a naive copy: fc is 512x10, so we make the head square to hide it."""
    import paddle

    square = "num_classes = 512"
    set_config(demo, 'checkpoint = "weights/reference.pth"', "# seeded init: the checkpoint has a 10-class head")
    set_config(demo, "kwargs = { num_classes = 10 }", "kwargs = { num_classes = 512 }")
    set_config(demo, "kwargs = { num_classes = 10 }", "kwargs = { " + square + " }")
    code, good = run_step(demo, "forward")
    assert code == 0, good["error"]
    state = np.load(demo / "result/cache/reference_state.npz")
    naive = {
        name.replace("running_mean", "_mean").replace("running_var", "_variance"): state[name]
        for name in state.files
        if not name.endswith("num_batches_tracked")
    }
    paddle.save({name: paddle.to_tensor(value) for name, value in naive.items()}, str(demo / "naive.pdparams"))
    set_config(demo, PADDLE_MODEL, PADDLE_MODEL + '\ncheckpoint = "naive.pdparams"')
    code, result = run_step(demo, "forward")
    assert code == 1 and not key(result, "logits")["passed"]


def test_nan_output_fails_and_missing_key_is_named(demo: Path) -> None:
    def nan_outputs(model, x):
        return {"logits": model(x) * float("nan")}

    code, result = run_step(demo, "forward", lambda context: forward.run(context, paddle_outputs=nan_outputs))
    assert code == 1 and "NaN/Inf in paddle output" in key(result, "logits")["problem"]

    def renamed_outputs(model, x):
        return {"logit": model(x)}

    code, result = run_step(demo, "forward", lambda context: forward.run(context, paddle_outputs=renamed_outputs))
    assert code == 1
    assert "missing" in key(result, "logits")["problem"] and "extra" in key(result, "logit")["problem"]


def test_near_zero_reference_is_flagged(demo: Path) -> None:
    def tiny(model, x):
        return {"logits": model(x) * 1e-9}

    code, result = run_step(demo, "forward", lambda context: forward.run(context, tiny, tiny))
    assert code == 0
    assert any("proves nothing" in warning for warning in result["warnings"])


def test_crashing_model_is_an_error_with_the_traceback(demo: Path) -> None:
    (demo / "demo_port" / "broken.py").write_text("def build(**kwargs):\n    raise RuntimeError('typo in the port')\n")
    set_config(demo, '"demo_port.paddle_model:resnet18"', '"demo_port.broken:build"')
    code, result = run_step(demo, "forward")
    assert code == 2 and result["status"] == "error"
    assert "RuntimeError: typo in the port" in result["error"] and "broken.py" in result["error"]


def test_bad_factory_is_an_error_naming_the_key(demo: Path) -> None:
    set_config(demo, '"demo_port.paddle_model:resnet18"', '"demo_port.paddle_model:resnet81"')
    code, result = run_step(demo, "forward")
    assert code == 2 and "[paddle.model]" in result["error"] and "resnet81" in result["error"]


def test_data_step_passes_and_nearest_resize_fails(demo: Path) -> None:
    code, result = run_step(demo, "data")
    assert code == 0, result["error"]
    assert [k["key"] for k in result["keys"]] == ["length", "dataloader_0", "label_0", "dataloader_1", "label_1"]
    set_config(
        demo,
        'dataset = "demo_port.paddle_data:build_dataset"',
        'dataset = "demo_port.paddle_data:build_dataset"\ndataset_kwargs = { interpolation = "nearest" }',
    )
    code, result = run_step(demo, "data")
    assert code == 1 and not key(result, "dataloader_0")["passed"] and key(result, "label_0")["passed"]
    assert result["reference"]["reused"] is True  # only the paddle side changed


def test_metric_step_passes_and_a_wrong_top_k_fails(demo: Path) -> None:
    code, result = run_step(demo, "metric")
    assert code == 0, result["error"]
    (demo / "demo_port" / "wrong_metric.py").write_text(
        "import paddle\n\n"
        "def accuracy(logits, labels):\n"
        "    labels = labels.reshape([-1, 1])\n"
        "    # the porter's bug: top-1 computed with k=5\n"
        "    return {'acc_top1': float(paddle.metric.accuracy(logits, labels, k=5)),\n"
        "            'acc_top5': float(paddle.metric.accuracy(logits, labels, k=5))}\n"
    )
    set_config(
        demo,
        'dataset = "demo_port.paddle_data:build_dataset"',
        'dataset = "demo_port.paddle_data:build_dataset"\nmetric = "demo_port.wrong_metric:accuracy"',
    )
    code, result = run_step(demo, "metric")
    assert code == 1 and not key(result, "acc_top1")["passed"] and key(result, "acc_top5")["passed"]


def test_weights_step_converts_verifies_and_names_a_missing_tensor(demo: Path) -> None:
    import paddle

    code, result = run_step(demo, "weights")
    assert code == 0, result["error"]
    pdparams = demo / "result/weights/model.pdparams"
    assert pdparams.is_file() and key(result, "weight/fc.weight")["passed"]
    transposed = [m["paddle_name"] for m in result["details"]["conversion"]["mapped"] if m["transposed"]]
    assert transposed == ["fc.weight"]
    # The porter's own converted checkpoint, missing one tensor.
    state = paddle.load(str(pdparams))
    del state["layer2.0.bn1._variance"]
    paddle.save(state, str(demo / "mine.pdparams"))
    set_config(demo, PADDLE_MODEL, PADDLE_MODEL + '\ncheckpoint = "mine.pdparams"')
    code, result = run_step(demo, "weights")
    assert code == 1
    problem = key(result, "weight/layer2.0.bn1._variance")["problem"]
    assert "layer2.0.bn1._variance" in problem and "mine.pdparams" in problem


def test_predict_step_exports_and_matches_paddle_inference(demo: Path) -> None:
    code, result = run_step(demo, "predict")
    assert code == 0, result["error"]
    assert {k["key"] for k in result["keys"]} == {"class_id", "prob", "inference_logits", "inference_class_id"}
    assert all((demo / path).is_file() for path in result["details"]["exported"])
    assert result["details"]["reference_class_id"] == result["details"]["paddle_class_id"]
    assert not [warning for warning in result["warnings"] if "proves little" in warning]  # real weights: no alarm


def test_forward_failure_names_the_first_divergent_layer_and_why(demo: Path) -> None:
    set_config(
        demo, PADDLE_KWARGS, PADDLE_KWARGS.replace("num_classes = 10", "num_classes = 10, maxpool_ceil_mode = true")
    )
    code, result = run_step(demo, "forward", after_compare=forward.explain)
    assert code == 1
    first = result["first_divergence"]
    assert (first["reference_layer"], first["paddle_layer"], first["verdict"]) == ("maxpool", "maxpool", "layer")
    assert any(f["attribute"] == "ceil_mode" for f in first["lint"])
    assert [layer["diverged"] for layer in first["layers"][:4]] == [False, False, False, True]


def test_lint_runs_when_forward_passes(demo: Path) -> None:
    set_config(demo, PADDLE_KWARGS, PADDLE_KWARGS.replace("num_classes = 10", "num_classes = 10, bn_momentum = 0.1"))
    code, result = run_step(demo, "forward", after_compare=forward.explain)
    assert code == 0 and result["first_divergence"] is None
    momentum = [f for f in result["lint"] if f["attribute"] == "momentum"]
    assert len(momentum) == 20 and not momentum[0]["visible_in_eval"]


def test_one_wrong_element_in_a_converted_weight_fails_the_exact_step(demo: Path) -> None:
    import paddle

    code, _ = run_step(demo, "weights")
    assert code == 0
    state = paddle.load(str(demo / "result/weights/model.pdparams"))
    weight = state["layer3.0.conv1.weight"].numpy()
    weight.flat[7] += 1.0  # one element among 294,912: its mean error is 3e-6, under a 1e-5 mean rule
    state["layer3.0.conv1.weight"] = paddle.to_tensor(weight)
    paddle.save(state, str(demo / "mine.pdparams"))
    set_config(demo, PADDLE_MODEL, PADDLE_MODEL + '\ncheckpoint = "mine.pdparams"')
    code, result = run_step(demo, "weights")
    broken = key(result, "weight/layer3.0.conv1.weight")
    assert code == 1 and not broken["passed"] and broken["method"] == "max" and abs(broken["max"] - 1.0) < 1e-6


def test_editing_the_paddle_side_keeps_the_golden_reference(demo: Path) -> None:
    run_step(demo, "forward")
    with (demo / "demo_port/paddle_model.py").open("a") as handle:
        handle.write("\n# a fix to the port\n")
    _, result = run_step(demo, "forward")
    assert result["reference"]["reused"] is True
    with (demo / "demo_port/torch_model.py").open("a") as handle:
        handle.write("\n# the reference changed\n")
    _, result = run_step(demo, "forward")
    assert result["reference"]["reused"] is False


def test_an_input_file_of_another_shape_is_an_error_and_is_kept(demo: Path) -> None:
    porter_input = np.ones((1, 3, 256, 256), dtype=np.float32)
    (demo / "result").mkdir()
    np.save(demo / "result/forward_input.npy", porter_input)
    code, result = run_step(demo, "forward")
    assert code == 2 and "[input.shape]" in result["error"] and "(1, 3, 256, 256)" not in result["error"]
    assert "[1, 3, 256, 256]" in result["error"]
    assert np.array_equal(np.load(demo / "result/forward_input.npy"), porter_input)


def test_models_returning_tuples_are_compared_whole_and_evaluated_on_their_logits(demo: Path) -> None:
    (demo / "demo_port/heads.py").write_text(
        "import paddle\nimport torch\n\nfrom demo_port import paddle_model, torch_model\n\n\n"
        "class TorchTwoHeads(torch.nn.Module):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__()\n"
        "        self.net = torch_model.resnet18(**kwargs)\n\n"
        "    def forward(self, x):\n"
        "        logits = self.net(x)\n"
        "        return logits, logits * 2\n\n\n"
        "class PaddleTwoHeads(paddle.nn.Layer):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__()\n"
        "        self.net = paddle_model.resnet18(**kwargs)\n\n"
        "    def forward(self, x):\n"
        "        logits = self.net(x)\n"
        "        return logits, logits * 2\n\n\n"
        "torch_two_heads, paddle_two_heads = TorchTwoHeads, PaddleTwoHeads\n"
    )
    set_config(demo, 'checkpoint = "weights/reference.pth"', "# seeded init: the wrappers' names are net.*")
    set_config(demo, '"demo_port.torch_model:resnet18"', '"demo_port.heads:torch_two_heads"')
    set_config(demo, '"demo_port.paddle_model:resnet18"', '"demo_port.heads:paddle_two_heads"')
    code, result = run_step(demo, "forward")
    assert code == 0, result["error"]
    assert [k["key"] for k in result["keys"]] == ["output_0", "output_1"]
    code, result = run_step(demo, "metric")
    assert code == 0, result["error"]


def test_setup_errors_name_the_key_without_a_traceback(demo: Path) -> None:
    code, result = run_step(demo, "forward", None, "--device", "gpu:0")
    assert code == 2 and "gpu:0" in result["error"] and "doctor" in result["error"]
    assert "Traceback" not in result["error"]
    set_config(demo, 'checkpoint = "weights/reference.pth"', 'checkpoint = "weights/nope.pth"')
    code, result = run_step(demo, "forward")
    assert code == 2 and "[reference.checkpoint]" in result["error"] and "nope.pth" in result["error"]


def test_no_near_zero_warning_for_exact_keys_that_are_zero(demo: Path) -> None:
    code, result = run_step(demo, "metric")
    assert code == 0 and result["warnings"] == []
