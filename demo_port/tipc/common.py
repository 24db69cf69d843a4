"""What the TIPC programs share: flag parsing, the model, weights, the data list and preprocessing.

One module so that train, predict and infer cannot drift apart: predict and infer must agree to 1e-5
(docs/tipc.md), which only holds when both see the very same preprocessed tensor.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import numpy as np
import paddle
from paddle import nn

from demo_port.paddle_data import build_dataset
from demo_port.paddle_model import resnet18

NUM_CLASSES = 10
INPUT_SHAPE = [None, 3, 224, 224]  # the crop demo_port.paddle_data produces


def str2bool(value: str) -> bool:
    """TIPC passes booleans as the words True/False (`--use-gpu:True|False`), which bool() cannot read."""
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise ValueError(f"not a boolean: {value!r}")


def optional_path(value: str) -> str | None:
    """`null` (TIPC's "no value") and `None` mean no file, e.g. `--pretrained null` trains from scratch."""
    return None if value.strip().lower() in ("", "null", "none") else value


def fail(message: str) -> NoReturn:
    """Exit 1 with one line on stderr: the runner's log should end in the reason, not a traceback."""
    sys.exit(f"error: {message}")


def set_device(device: str) -> None:
    """paddle.set_device, but a GPU request on a CPU-only Paddle is one line instead of a traceback."""
    if device.startswith("gpu") and not paddle.is_compiled_with_cuda():
        fail(f"--device {device}: this Paddle build has no CUDA support")
    paddle.set_device(device)


def build_model(pretrained: str | None = None) -> nn.Layer:
    """The demo's Paddle ResNet-18, with `pretrained` (a .pdparams) loaded when given."""
    model = resnet18(num_classes=NUM_CLASSES)
    if pretrained is not None:
        if not Path(pretrained).is_file():
            fail(f"pretrained weights not found: {pretrained}")
        missing, unexpected = model.set_state_dict(paddle.load(pretrained))
        if missing or unexpected:
            fail(f"{pretrained} does not fit the model (missing {missing}, unexpected {unexpected})")
    return model


def read_list(path: str) -> list[tuple[str, int]]:
    """A `<image path> <label>` list (lite_data.txt); paths are relative to the working directory."""
    if not Path(path).is_file():
        fail(f"data list not found: {path} (expected a file of '<image> <label>' lines)")
    samples = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            image, label = line.rsplit(maxsplit=1)
            samples.append((image, int(label)))
    return samples


def load_image(path: str) -> np.ndarray:
    """One image as a [1, 3, 224, 224] float32 batch, through the port's own eval dataset transform."""
    if not Path(path).is_file():
        fail(f"image not found: {path}")
    return build_dataset([(path, 0)])[0][0][np.newaxis]


def format_prediction(logits: np.ndarray) -> str:
    """The line the tipc step compares between predict and infer: top class and its softmax probability.

    Both programs hand their raw logits here, so the softmax itself cannot be a source of disagreement.
    """
    shifted = logits.astype(np.float64) - logits.max()
    probs = np.exp(shifted) / np.exp(shifted).sum()
    class_id = int(np.argmax(probs))
    return f"class_id: {class_id}, prob: {probs[class_id]:.8f}"
