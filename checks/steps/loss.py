"""Checkpoint 6: the loss of both sides on the fixed inputs and labels, same weights, in the configured mode."""

from __future__ import annotations

import numpy as np

from paddle_port_checks.session import CheckContext, Outcome
from paddle_port_checks.training import LABELS_KEY, loss_array, training_identity
from paddle_port_checks.training_sides import PaddleTraining, TorchTraining


def run(context: CheckContext) -> Outcome:
    inputs = context.inputs()

    def reference() -> dict[str, np.ndarray]:
        side = TorchTraining(context, context.reference_model())
        loss = loss_array(side.loss())
        assert side.labels is not None  # made by the first loss
        return {"loss": loss, LABELS_KEY: side.labels}

    identity = training_identity(context.config, context.reference_code)
    ref = dict(context.reference_arrays(reference, inputs.digest(), identity))
    labels = ref.pop(LABELS_KEY)
    # A model of its own: in train mode the forward moves BatchNorm's statistics, and the shared twin is eval's.
    side = PaddleTraining(context, context.own_paddle_model(), labels)
    return Outcome(ref=ref, paddle={"loss": loss_array(side.loss())}, float_outputs={"loss"})
