"""The porter's own prediction programs in step 5 (real torch and paddle): compared with each other and with
Paddle Inference, so a predict.py with its own preprocessing is verified, not only the tool's exporter."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from workspaces import copy_demo, key, run_step

from paddle_port_checks.predict_programs import comparable, is_probabilities

# A port's predict.py, as two functions: its own weights loading, preprocessing and softmax at the end.
PROGRAMS = """
import numpy as np


def predict_torch(path, checkpoint):
    import torch
    from demo_port.torch_data import build_dataset
    from demo_port.torch_model import resnet18

    model = resnet18(num_classes=10)
    model.load_state_dict(torch.load(checkpoint, weights_only=True))
    model.eval()
    image, _ = build_dataset([(path, 0)])[0]
    with torch.no_grad():
        return torch.softmax(model(image[None]), dim=-1)[0]


def predict_paddle(path, weights, interpolation="bilinear"):
    import paddle
    from demo_port.paddle_data import build_dataset
    from demo_port.paddle_model import resnet18

    model = resnet18(num_classes=10)
    model.set_state_dict(paddle.load(weights))
    model.eval()
    image, _ = build_dataset([(path, 0)], interpolation=interpolation)[0]
    with paddle.no_grad():
        return paddle.nn.functional.softmax(model(paddle.to_tensor(image[None])), axis=-1).numpy()[0]


def forgets_to_return(path):
    print(path)
"""
PROGRAM_KEYS = """
[predict]
reference = "my_predict:predict_torch"
reference_kwargs = { checkpoint = "weights/reference.pth" }
paddle = "my_predict:predict_paddle"
paddle_kwargs = { weights = "result/weights/model.pdparams" }
"""


@pytest.fixture(scope="module")
def converted_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Step 4's .pdparams, made once: the Paddle program loads the converted weights, as a port's does."""
    root = copy_demo(tmp_path_factory.mktemp("weights"))
    code, result = run_step(root, "weights")
    assert code == 0, result["error"]
    return root / "result/weights/model.pdparams"


@pytest.fixture
def demo(tmp_path: Path, converted_weights: Path) -> Path:
    root = copy_demo(tmp_path)
    (root / "my_predict.py").write_text(PROGRAMS)
    (root / "result/weights").mkdir(parents=True)
    shutil.copy2(converted_weights, root / "result/weights/model.pdparams")
    return root


def with_programs(root: Path, text: str = PROGRAM_KEYS) -> None:
    (root / "paddle_port.toml").write_text((root / "paddle_port.toml").read_text() + text)


def test_own_programs_are_compared_with_each_other_and_with_paddle_inference(demo: Path) -> None:
    with_programs(demo)
    code, result = run_step(demo, "predict")
    assert code == 0, result["error"]
    names = {k["key"] for k in result["keys"]}
    assert {"program", "program_class_id", "program_vs_inference", "program_vs_inference_class_id"} <= names
    assert key(result, "program")["shape_ref"] == [10]
    assert key(result, "program_vs_inference")["shape_ref"] == [1, 10], "a [C] answer meets [1, C] with a batch axis"
    said = " ".join(result["details"]["programs"])
    assert "[predict] paddle: probabilities, compared with the softmax of Paddle Inference" in said


def test_a_prediction_program_with_its_own_preprocessing_bug_fails_its_keys(demo: Path) -> None:
    with_programs(demo, PROGRAM_KEYS.replace('model.pdparams" }', 'model.pdparams", interpolation = "nearest" }'))
    code, result = run_step(demo, "predict")
    assert code == 1
    failed = {k["key"] for k in result["keys"] if not k["passed"]}
    assert {"program", "program_vs_inference"} <= failed
    assert key(result, "inference_logits")["passed"], "the tool's own export is right: the bug is in predict.py"


def test_a_reference_program_alone_is_compared_with_the_paddle_training_engine(demo: Path) -> None:
    with_programs(demo, PROGRAM_KEYS.split("paddle =")[0])
    code, result = run_step(demo, "predict")
    assert code == 0, result["error"]
    assert "program_vs_inference" not in {k["key"] for k in result["keys"]}
    assert result["details"]["programs"] == [
        "[predict] reference: probabilities, compared with the softmax of the paddle training engine"
    ]


def test_a_program_that_returns_nothing_is_a_one_line_error_naming_the_key(demo: Path) -> None:
    with_programs(demo, '[predict]\npaddle = "my_predict:forgets_to_return"\n')
    code, result = run_step(demo, "predict")
    assert code == 2
    assert result["error"].startswith("[predict.paddle] my_predict:forgets_to_return returned None")
    assert "\n" not in result["error"]


@pytest.mark.parametrize(
    ("answer", "probabilities"),
    [([0.2, 0.8], True), ([[0.5, 0.5]], True), ([2.0, -1.0], False), ([0.5, 0.4], False), ([1.0], False)],
)
def test_probabilities_are_told_from_logits(answer: list[float], probabilities: bool) -> None:
    assert is_probabilities(np.asarray(answer, dtype=np.float32)) is probabilities


def test_an_answer_of_probabilities_meets_the_softmax_of_the_engine_logits() -> None:
    logits = np.array([[1.0, 2.0, 0.5]], dtype=np.float32)
    probabilities = np.exp(logits[0]) / np.exp(logits[0]).sum()
    answer, engine, notes = comparable(probabilities.astype(np.float32), logits)
    assert answer.shape == engine.shape == (1, 3) and notes
    np.testing.assert_allclose(answer, engine, rtol=1e-6)
