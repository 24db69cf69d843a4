"""Checkpoint 5: the prediction program — one image through both training engines, then the exported
static model through Paddle Inference, compared with the Paddle training engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks.golden import file_digest
from paddle_port_checks.outputs import primary, to_numpy
from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.steps.data import paddle_dataset, reference_dataset


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return probabilities


def prediction(logits: np.ndarray) -> dict[str, np.ndarray]:
    """What a prediction program prints: the top class and its probability."""
    probabilities = softmax(logits.astype(np.float64))
    return {"class_id": probabilities.argmax(axis=-1), "prob": probabilities.max(axis=-1)}


def image_path(context: CheckContext) -> Path:
    cfg = context.config
    return cfg.resolve(cfg.predict_image) if cfg.predict_image else Path(context.samples()[0][0])


def export_and_infer(context: CheckContext, model: Any, x: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """paddle.jit.save the model, load it with a Paddle Inference predictor, run the same input."""
    paddle = context.paddle()
    from paddle import inference

    prefix = context.config.resolve(context.config.export_dir) / "model"
    spec = paddle.static.InputSpec([None, *x.shape[1:]], str(x.dtype), "x")
    paddle.jit.save(model, str(prefix), input_spec=[spec])
    program = next((prefix.with_suffix(s) for s in (".json", ".pdmodel") if prefix.with_suffix(s).is_file()), None)
    if program is None:
        raise FileNotFoundError(f"paddle.jit.save wrote no program file next to {prefix}")
    params = prefix.with_suffix(".pdiparams")
    config = inference.Config(str(program), str(params))
    config.disable_glog_info()
    if context.device.is_gpu:
        config.enable_use_gpu(256, context.device.index)
    else:
        config.disable_gpu()
    predictor = inference.create_predictor(config)
    handle = predictor.get_input_handle(predictor.get_input_names()[0])
    handle.reshape(list(x.shape))
    handle.copy_from_cpu(np.ascontiguousarray(x))
    predictor.run()
    output = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    root = context.config.root
    return output, [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in (program, params)]


def run(context: CheckContext) -> Outcome:
    image = image_path(context)
    sample = [(str(image), 0)]

    def reference() -> dict[str, np.ndarray]:
        torch = context.torch()
        x = reference_dataset(context, sample)[0][0]
        with torch.no_grad():
            logits = to_numpy(
                primary(context.reference_model()(torch.as_tensor(x)[None].to(context.reference_device.torch)))
            )
        return {**prediction(logits), "logits": logits}

    ref = context.reference_arrays(reference, file_digest(image))
    paddle = context.paddle()
    model = context.paddle_model()
    x = np.asarray(paddle_dataset(context, sample)[0][0])[None]
    with paddle.no_grad():
        logits = to_numpy(primary(model(paddle.to_tensor(x))))
    inferred, exported = export_and_infer(context, model, x)
    ours = prediction(logits)
    reference_side = {
        "class_id": ref["class_id"],
        "prob": ref["prob"],
        # For the inference keys the reference is the Paddle training engine itself.
        "inference_logits": logits,
        "inference_class_id": ours["class_id"],
    }
    paddle_side = {**ours, "inference_logits": inferred, "inference_class_id": prediction(inferred)["class_id"]}
    details = {
        "image": str(image),
        "reference_class_id": int(ref["class_id"][0]),
        "reference_prob": float(ref["prob"][0]),
        "paddle_class_id": int(ours["class_id"][0]),
        "paddle_prob": float(ours["prob"][0]),
        "exported": exported,
        "inference_reference": "paddle training engine (dygraph) on the same preprocessed input",
    }
    # The class ids must be equal; probabilities and logits are float outputs (mean).
    exact = {"class_id": "max", "inference_class_id": "max"}
    return Outcome(
        ref=reference_side, paddle=paddle_side, details=details, methods=exact, float_outputs={"inference_logits"}
    )
