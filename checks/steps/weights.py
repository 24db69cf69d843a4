"""Checkpoint 4: the converted checkpoint — every tensor mapped with the same values, same eval result.

The conversion is verified on the file the porter will ship: the .pdparams is written, loaded back into
a fresh Paddle model, and every Paddle tensor is compared with its source tensor. Then both models are
evaluated on the small val set with these weights.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paddle_port_checks.factories import call_factory
from paddle_port_checks.golden import sample_digests
from paddle_port_checks.session import CheckContext, Outcome, WeightsError
from paddle_port_checks.steps.metric import paddle_metrics, reference_metrics

MAPPING_OUTPUT = "result/weights/mapping.json"


def fresh_paddle_model(context: CheckContext) -> Any:
    context.paddle()
    side = context.config.paddle
    return call_factory(side.model, "paddle.model", **side.kwargs)


def choose_mapping(context: CheckContext, paddle_model: Any) -> Any:
    """The porter's mapping file if configured; otherwise one built from the two models and saved for review."""
    from paddle_port_checks.mapping import build_mapping, save_mapping

    mapping = context.mapping()
    if mapping is not None:
        return mapping
    import numpy as np_

    example = context.torch().from_numpy(
        np_.random.default_rng(context.config.seed).standard_normal(context.config.input_shape)
        .astype(context.config.input_dtype)).to(context.reference_device.torch)
    mapping = build_mapping(context.reference_model(), paddle_model, example_input=example)
    path = context.config.resolve(MAPPING_OUTPUT)
    save_mapping(mapping, path)
    print(f"weight mapping written to {path}: review it, and set [weights] mapping to use an edited copy",
          flush=True)
    return mapping


def run(context: CheckContext) -> Outcome:
    from paddle_port_checks.convert import convert_state_dict, load_into_paddle, save_pdparams

    cfg = context.config
    source = context.reference_state()
    model = fresh_paddle_model(context)
    mapping = choose_mapping(context, model)
    converted, report = convert_state_dict(source, model, mapping)
    output = cfg.resolve(cfg.weights_output)
    save_pdparams(converted, output)
    print(report.summary(), flush=True)

    paddle = context.paddle()
    saved = {name: np.asarray(value) for name, value in paddle.load(str(output)).items()}
    reloaded = fresh_paddle_model(context)
    defaults = {name: value.numpy() for name, value in reloaded.state_dict().items()}
    load_report = load_into_paddle(reloaded, saved)
    reloaded.eval()

    ref: dict[str, np.ndarray] = {}
    ours: dict[str, np.ndarray] = {}
    problems: dict[str, str] = {}
    for name, default in defaults.items():
        key = f"weight/{name}"
        ours[key] = saved.get(name, default)
        if name in converted:
            ref[key] = converted[name]
        else:
            ref[key] = default
            problems[key] = (f"no tensor of the reference checkpoint maps to paddle '{name}': "
                             "it would keep its random init")
    if not report.ok and not problems:
        raise WeightsError(f"conversion incomplete:\n{report.summary()}")

    reference_eval = context.reference_arrays(lambda: reference_metrics(context), sample_digests(context.samples()),
                                              cfg.batch_size)
    paddle_eval = paddle_metrics(context, reloaded)
    ref.update({f"eval_{name}": value for name, value in reference_eval.items()})
    ours.update({f"eval_{name}": value for name, value in paddle_eval.items()})
    details = {"output": str(output.relative_to(cfg.root)) if output.is_relative_to(cfg.root) else str(output),
               "conversion": report.to_json(), "load": load_report.to_json(),
               "mapping": cfg.weights_mapping or MAPPING_OUTPUT}
    return Outcome(ref=ref, paddle=ours, details=details, problems=problems)
