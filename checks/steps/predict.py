"""Checkpoint 5: the prediction program — one image through both training engines, then the exported
static model through Paddle Inference, compared with the Paddle training engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks import degenerate
from paddle_port_checks.config import EXPORT_NAME, ConfigError, Side
from paddle_port_checks.golden import sample_digests
from paddle_port_checks.inputs import call_model, converted
from paddle_port_checks.outputs import model_outputs, pair_outputs
from paddle_port_checks.predict_programs import PROGRAM, own_programs, program_outputs, softmax
from paddle_port_checks.session import CheckContext, Outcome, error_line
from paddle_port_checks.steps.data import (
    data_identity,
    dataset_samples,
    own_dataset,
    paddle_dataset,
    read_item,
    reference_dataset,
)
from paddle_port_checks.written import make_way_for_output, record_written


def prediction(logits: np.ndarray) -> dict[str, np.ndarray]:
    """What a prediction program prints: the top class and its probability."""
    probabilities = softmax(logits)  # in float64
    return {"class_id": probabilities.argmax(axis=-1), "prob": probabilities.max(axis=-1)}


def predict_sample(context: CheckContext, paddle_own: Any = None) -> tuple[Any, int]:
    """`[predict] sample` (a file), else the data set's first sample (a file, a sentence, a record); with
    the porter's own loaders, the first entry of the Paddle loader's dataset (`paddle_own`)."""
    cfg = context.config
    if cfg.predict_image:
        return str(context.existing(cfg.predict_image, "predict.sample")), 0
    if paddle_own is None:
        return context.samples()[0]
    entries = dataset_samples(paddle_own)
    if entries:
        return str(Path(str(entries[0][0])).resolve()), int(entries[0][1])
    if cfg.predict_reference or cfg.predict_paddle:
        raise ConfigError(
            cfg.path,
            "predict.sample",
            "is required: [paddle.loader]'s dataset keeps no `samples` list to take one from",
        )
    return "the first item of [paddle.loader]'s dataset", 0


def loader_only(side: Side) -> bool:
    return bool(side.loader) and not side.dataset


def batched(item: Any) -> Any:
    """One dataset item as a batch of one, whatever its structure (an array, a dict by input name, a tuple)."""
    if isinstance(item, dict):
        return {name: np.asarray(value)[None] for name, value in item.items()}
    if isinstance(item, (tuple, list)):
        return type(item)(np.asarray(value)[None] for value in item)
    return np.asarray(item)[None]


def _named(batch: Any) -> dict[str, np.ndarray]:
    """The batch as named arrays for export and inference: one InputSpec per input."""
    if isinstance(batch, dict):
        return dict(batch)
    if isinstance(batch, (tuple, list)):
        return {f"x{index}": value for index, value in enumerate(batch)}
    return {"x": batch}


def is_classifier(logits: np.ndarray) -> bool:
    """Class id and probability mean something only for [batch, classes] float scores."""
    return logits.ndim == 2 and logits.dtype.kind == "f" and logits.shape[-1] > 1


def export_and_infer(context: CheckContext, model: Any, batch: Any) -> tuple[dict[str, np.ndarray], list[str]]:
    """paddle.jit.save the model with one InputSpec per input (dynamic batch), load it with a Paddle
    Inference predictor, run the same inputs; every output by position."""
    paddle = context.paddle()
    named = _named(batch)
    prefix = context.config.resolve(context.config.export_dir) / EXPORT_NAME
    files = context.config.export_files()
    # An earlier export's program (a .json beside a new .pdmodel) must not be run: our own old files go,
    # anyone else's are moved aside or refused (written.py).
    for note in make_way_for_output(context.config, "predict.export_dir", files, remove_ours=True):
        context.warn(note)
    specs = [paddle.static.InputSpec([None, *a.shape[1:]], str(a.dtype), name) for name, a in named.items()]
    paddle.jit.save(model, str(prefix), input_spec=specs)
    record_written(context.config.root / "result", [file for file in files if file.is_file()])
    program = next((prefix.with_suffix(s) for s in (".json", ".pdmodel") if prefix.with_suffix(s).is_file()), None)
    if program is None:
        raise FileNotFoundError(f"paddle.jit.save wrote no program file next to {prefix}")
    params = prefix.with_suffix(".pdiparams")
    try:
        outputs = _infer(context, program, params, named, onednn=context.config.predict_onednn)
    except Exception as error:  # oneDNN lacks some exported ops on CPU (e.g. interpolate's attributes)
        if context.device.is_gpu or not context.config.predict_onednn:
            raise
        context.warn(
            f"Paddle Inference with oneDNN failed on CPU ({error_line(error)}); ran again without oneDNN. "
            "Set [predict] onednn = false to skip the first try."
        )
        outputs = _infer(context, program, params, named, onednn=False)
    root = context.config.root
    return outputs, [str(p.relative_to(root)) if p.is_relative_to(root) else str(p) for p in (program, params)]


def _infer(
    context: CheckContext, program: Path, params: Path, named: dict[str, np.ndarray], onednn: bool
) -> dict[str, np.ndarray]:
    from paddle import inference

    config = inference.Config(str(program), str(params))
    config.disable_glog_info()
    if context.device.is_gpu:
        config.enable_use_gpu(256, context.device.index)
    else:
        config.disable_gpu()
        if not onednn:
            config.disable_mkldnn()
    predictor = inference.create_predictor(config)
    for name in predictor.get_input_names():  # by name: an input the model never uses is pruned by jit.save
        array = named[name]
        handle = predictor.get_input_handle(name)
        handle.reshape(list(array.shape))
        handle.copy_from_cpu(np.ascontiguousarray(array))
    predictor.run()
    return {
        f"output_{index}": predictor.get_output_handle(name).copy_to_cpu()
        for index, name in enumerate(predictor.get_output_names())
    }


def engine_input(context: CheckContext, side_name: str, sample: tuple[Any, int], own: Any = None) -> tuple[Any, bool]:
    """One preprocessed input for a training engine, as a batch of one, and whether it is the sample's: the
    dataset factory over the sample, else the porter's own loader's dataset (`own`, when built already) item
    whose path is the sample's (its builder reads its own data; without such an item, its first)."""
    side = context.config.reference if side_name == "reference" else context.config.paddle
    found = True
    if not loader_only(side):
        build = reference_dataset if side_name == "reference" else paddle_dataset
        item = read_item(context, side_name, build(context, [sample]), 0)
    else:
        framework = context.torch().utils.data if side_name == "reference" else context.paddle().io
        dataset = own if own is not None else own_dataset(context, side_name, framework.DataLoader)[0]
        index = sample_index(dataset, sample[0])
        found = index is not None
        item = read_item(context, side_name, dataset, index or 0)
    is_pair = isinstance(item, (tuple, list)) and len(item) == 2
    return batched(item[0] if is_pair else item), found


def sample_index(dataset: Any, sample: Any) -> int | None:
    entries = dataset_samples(dataset) or []
    wanted = Path(str(sample)).resolve()
    return next((i for i, entry in enumerate(entries) if Path(str(entry[0])).resolve() == wanted), None)


def program_identity(context: CheckContext) -> list[Any]:
    cfg = context.config
    if not cfg.predict_reference:
        return []
    return [cfg.predict_reference, cfg.predict_reference_kwargs, context.reference_code(cfg.predict_reference)]


def run(context: CheckContext) -> Outcome:
    cfg = context.config
    # The porter's Paddle builder, built once: it gives the default sample and the engines' input.
    paddle_own = own_dataset(context, "paddle", context.paddle().io.DataLoader)[0] if loader_only(cfg.paddle) else None
    sample = [predict_sample(context, paddle_own)]

    def reference() -> dict[str, np.ndarray]:
        torch = context.torch()
        device = context.reference_device.torch
        batch, _ = engine_input(context, "reference", sample[0])
        with torch.no_grad():
            output = call_model(context.reference_model(), converted(batch, lambda a: torch.as_tensor(a).to(device)))
        arrays = model_outputs(output)
        if cfg.predict_reference:
            program, kwargs = cfg.predict_reference, cfg.predict_reference_kwargs
            answer = program_outputs(program, "predict.reference", sample[0][0], kwargs)
            arrays.update({f"{PROGRAM}{name}": value for name, value in answer.items()})
        return arrays

    identity = [sample_digests(sample), data_identity(context), program_identity(context)]
    cached = context.reference_arrays(reference, *identity)
    ref_program = {key.removeprefix(PROGRAM): value for key, value in cached.items() if key.startswith(PROGRAM)}
    ref_outputs = {key: value for key, value in cached.items() if not key.startswith(PROGRAM)}
    paddle = context.paddle()
    model = context.paddle_model()
    batch, found = engine_input(context, "paddle", sample[0], paddle_own)
    if not found:
        context.warn(
            f"[predict] sample {sample[0][0]} is not in [paddle.loader]'s dataset (no `samples` entry with its "
            "path): the training engines and Paddle Inference predict the dataset's first item, and the own "
            "prediction programs are compared with each other only"
        )
    with paddle.no_grad():
        our_outputs = model_outputs(call_model(model, converted(batch, paddle.to_tensor)))
    engine_outputs = dict(our_outputs)  # all of them, in the order the exported program returns them
    inferred, exported = export_and_infer(context, model, batch)
    if len(inferred) != len(engine_outputs):
        context.warn(
            f"the exported program returns {len(inferred)} outputs where the model returns {len(engine_outputs)}: "
            "the inference keys compare the first ones by position"
        )
    ref_outputs, our_outputs, notes = pair_outputs(ref_outputs, our_outputs, cfg.output_names)
    for note in notes:
        context.warn(note)
    details: dict[str, Any] = {
        "sample": str(sample[0][0])[:200],
        "engine_input": "the sample through each side's dataset" if found else "the first item of each dataset",
        "exported": exported,
        "inference_reference": "paddle training engine (dygraph) on the same preprocessed input",
    }
    reference_side: dict[str, np.ndarray] = {}
    paddle_side: dict[str, np.ndarray] = {}
    exact: dict[str, str] = {}
    first_ref, first_ours = next(iter(ref_outputs.values())), next(iter(our_outputs.values()))
    if is_classifier(first_ref) and is_classifier(first_ours):
        ref, ours = prediction(first_ref), prediction(first_ours)
        reference_side.update(class_id=ref["class_id"], prob=ref["prob"])
        paddle_side.update(class_id=ours["class_id"], prob=ours["prob"])
        exact["class_id"] = exact["inference_class_id"] = "max"
        details.update(
            reference_class_id=int(ref["class_id"][0]),
            reference_prob=float(ref["prob"][0]),
            paddle_class_id=int(ours["class_id"][0]),
            paddle_prob=float(ours["prob"][0]),
        )
        uniform = degenerate.near_uniform_warning("prob", ref["prob"], ours["prob"], first_ref.shape[-1])
        if uniform:
            context.warn(uniform)
    else:  # not a classifier's scores: every output of both training engines is compared instead
        reference_side.update(ref_outputs)
        paddle_side.update(our_outputs)
    # For the inference keys the reference is the Paddle training engine itself, output by output.
    for (name, engine), inferred_output in zip(engine_outputs.items(), inferred.values(), strict=False):
        reference_side[f"inference_{name}"] = engine
        paddle_side[f"inference_{name}"] = inferred_output
    if "class_id" in exact:
        reference_side["inference_class_id"] = paddle_side["class_id"]
        paddle_side["inference_class_id"] = prediction(next(iter(inferred.values())))["class_id"]
    engines = (first_ours, next(iter(inferred.values()))) if found else None
    for compared in own_programs(cfg, sample[0][0], ref_program, engines):
        reference_side.update(compared.ref)
        paddle_side.update(compared.paddle)
        exact.update(compared.methods)
        details.setdefault("programs", []).append(compared.said)
    floats = {key for key in paddle_side if key not in exact and key != "prob"}
    return Outcome(ref=reference_side, paddle=paddle_side, details=details, methods=exact, float_outputs=floats)
