"""Checkpoint 4: the converted checkpoint — every tensor mapped with the same values, same eval result.

The conversion is verified on the file the porter will ship: the .pdparams is written, loaded back into
a fresh Paddle model, and every Paddle tensor is compared with its source tensor. Then both models are
evaluated on the small val set with these weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paddle_port_checks import golden
from paddle_port_checks.factories import call_factory
from paddle_port_checks.inputs import call_model
from paddle_port_checks.outputs import model_outputs, pair_outputs
from paddle_port_checks.schema import MappingRow, WeightMapping
from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.steps.data import data_identity
from paddle_port_checks.steps.metric import paddle_metrics, reference_metrics
from paddle_port_checks.written import make_way_for_output, record_written


def fresh_paddle_model(context: CheckContext) -> Any:
    context.paddle()
    side = context.config.paddle
    return call_factory(side.model, "paddle.model", **side.kwargs)


def choose_mapping(context: CheckContext, paddle_model: Any) -> Any:
    """The porter's mapping file if it exists; otherwise one built from the two models and saved there, for the
    porter to confirm or edit: the next runs (and steps 1-3) use the file as it stands."""
    from paddle_port_checks.mapping import build_mapping, save_mapping

    mapping = context.mapping()
    if mapping is not None:
        return mapping
    mapping = build_mapping(context.reference_model(), paddle_model, example_input=context.inputs().as_called)
    path = context.config.resolve(context.config.weights_mapping)
    save_mapping(mapping, path)
    record_written(context.config.root / "result", [path])
    print(f"weight mapping written to {path}: review it; edits are used from the next run on", flush=True)
    return mapping


def _tensor_keys(
    expected: dict[str, np.ndarray], saved: dict[str, np.ndarray], defaults: dict[str, np.ndarray], file_name: str
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, str]]:
    """Per Paddle tensor: the value the reference implies vs the value in the file, and what is wrong."""
    ref: dict[str, np.ndarray] = {}
    ours: dict[str, np.ndarray] = {}
    problems: dict[str, str] = {}
    for name, default in defaults.items():
        key = f"weight/{name}"
        ref[key] = expected.get(name, default)
        ours[key] = saved.get(name, default)
        if name not in expected:
            problems[key] = f"no tensor of the reference checkpoint maps to paddle '{name}'"
        elif name not in saved:
            problems[key] = f"'{name}' is missing from {file_name}: Paddle would keep its random init"
    for name in saved.keys() - defaults.keys():
        key = f"weight/{name}"
        ref[key] = ours[key] = saved[name]
        problems[key] = f"'{name}' in {file_name} belongs to no tensor of the Paddle model"
    return ref, ours, problems


def checkpoint_arrays(context: CheckContext, checkpoint: str) -> dict[str, np.ndarray]:
    """The reference checkpoint file as numpy arrays, cached by its bytes: a re-run reads the cache, not the
    file through torch (which it would otherwise import for nothing when every reference is reused)."""
    from paddle_port_checks.convert import load_torch_checkpoint
    from paddle_port_checks.safe_load import warn_once

    path = context.existing(checkpoint, "reference.checkpoint")
    key = golden.fingerprint(["checkpoint", golden.file_digest(path), golden.library_digest()])
    arrays, _ = context.cache.get_or_compute(
        "checkpoint", key, lambda: load_torch_checkpoint(path, warn_once(context)), fresh=context.fresh
    )
    return arrays


def _data_configured(context: CheckContext) -> bool:
    """The eval comparison needs both datasets and the data list; without them the outputs on the configured
    inputs and every tensor are still verified."""
    cfg = context.config
    if cfg.reference.loader and cfg.paddle.loader:
        return True
    return bool(cfg.reference.dataset and cfg.paddle.dataset) and cfg.resolve(cfg.data_list).exists()


def run(context: CheckContext) -> Outcome:
    from paddle_port_checks.convert import (
        convert_state_dict,
        load_into_paddle,
        save_pdparams,
    )
    from paddle_port_checks.safe_load import load_paddle_state, warn_once

    cfg = context.config
    if not cfg.paddle.checkpoint:  # before the conversion: a file in the way fails the step at once
        for note in make_way_for_output(cfg, "weights.output", [cfg.resolve(cfg.weights_output)]):
            context.warn(note)
    # The file the porter ships is what gets converted: a tensor missing from it must show up here.
    checkpoint = cfg.reference.checkpoint
    source = checkpoint_arrays(context, checkpoint) if checkpoint else context.reference_state()
    model = fresh_paddle_model(context)
    expected, report = convert_state_dict(source, model, choose_mapping(context, model))
    print(report.summary(), flush=True)
    if cfg.paddle.checkpoint:  # the porter converted the weights themselves: verify their file
        output = cfg.resolve(cfg.paddle.checkpoint)
    else:
        output = cfg.resolve(cfg.weights_output)
        save_pdparams(expected, output)
        record_written(cfg.root / "result", [output])

    paddle = context.paddle()
    # Read with the restricted unpickler, never paddle.load: the porter's file may run code when unpickled.
    # The file written here reads the same way (the loader returns what paddle.load would).
    saved = load_paddle_state(output, warn_once(context))
    reloaded = fresh_paddle_model(context)
    defaults = {name: value.numpy() for name, value in reloaded.state_dict().items()}
    ref, ours, problems = _tensor_keys(expected, saved, defaults, output.name)
    load_report = load_into_paddle(reloaded, saved)
    reloaded.eval()

    inputs = context.inputs()
    evaluate = _data_configured(context)

    def reference() -> dict[str, np.ndarray]:
        torch = context.torch()
        device = context.reference_device.torch
        with torch.no_grad():
            outputs = model_outputs(
                call_model(
                    context.reference_model(), inputs.converted(lambda array: torch.from_numpy(array).to(device))
                )
            )
        return {**outputs, **({f"eval_{k}": v for k, v in reference_metrics(context).items()} if evaluate else {})}

    extra = (data_identity(context), cfg.batch_size) if evaluate else ("no eval",)
    reference_side = context.reference_arrays(reference, inputs.digest(), *extra)
    with paddle.no_grad():
        paddle_outputs = model_outputs(call_model(reloaded, inputs.converted(paddle.to_tensor)))
    reference_outputs = {k: v for k, v in reference_side.items() if not k.startswith("eval_")}
    reference_outputs, paddle_outputs, notes = pair_outputs(reference_outputs, paddle_outputs, cfg.output_names)
    for note in notes:
        context.warn(note)
    ref.update(reference_outputs)
    ours.update(paddle_outputs)
    if evaluate:
        ref.update({k: v for k, v in reference_side.items() if k.startswith("eval_")})
        ours.update({f"eval_{name}": value for name, value in paddle_metrics(context, reloaded).items()})
    else:
        print("no data configured ([data] list and both datasets): the eval comparison is skipped", flush=True)
    details = {
        "output": str(output.relative_to(cfg.root)) if output.is_relative_to(cfg.root) else str(output),
        "conversion": report.to_json(),
        "load": load_report.to_json(),
    }
    mapping = WeightMapping(
        file=cfg.weights_mapping,
        rows=[
            MappingRow(torch=m["torch_name"], paddle=m["paddle_name"], how=m["how"], transposed=m["transposed"])
            for m in report.to_json()["mapped"]
        ],
    )
    return Outcome(
        ref=ref,
        paddle=ours,
        details=details,
        mapping=mapping,
        problems=problems,
        # Tensors and metrics must be exact (max); the model's outputs are float outputs like step 1's (mean).
        thresholds={key: cfg.threshold("forward") for key in paddle_outputs},
        methods={key: "mean" for key in paddle_outputs},
        float_outputs=set(paddle_outputs),
    )
