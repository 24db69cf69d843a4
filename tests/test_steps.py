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
    assert code == 0 and "first_divergence" not in result
    momentum = [f for f in result["lint"] if f["attribute"] == "momentum"]
    assert len(momentum) == 20 and not momentum[0]["visible_in_eval"]
