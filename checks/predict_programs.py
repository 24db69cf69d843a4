"""The porter's own prediction programs (`[predict] reference` / `paddle`), verified in step 5.

A port's `predict.py` has its own preprocessing, its own weights loading and its own postprocessing; the
tool's exporter proves none of it. Each program is `callable(sample, **kwargs) -> outputs` and its answer
is compared: the reference program's with the Paddle program's (or, without one, with the Paddle training
engine's), and the Paddle program's with Paddle Inference's — so what the porter will ship answers what
the deployed model answers.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from paddle_port_checks.config import Config
from paddle_port_checks.factories import FactoryError, call_factory
from paddle_port_checks.outputs import model_outputs

# A row of scores is taken for probabilities when it is non-negative and sums to 1 within this.
PROBABILITY_SUM_TOLERANCE = 1e-3


def program_outputs(spec: str, key: str, sample: Any, kwargs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Run one program on the sample; its answer as named arrays (a tensor is `logits`, see model_outputs)."""
    answer = call_factory(spec, key, sample, **kwargs)
    if answer is None:
        raise FactoryError(f"[{key}] {spec} returned None: a prediction program must return its outputs")
    return model_outputs(answer)


def is_probabilities(scores: np.ndarray) -> bool:
    rows = np.asarray(scores, dtype=np.float64)
    if rows.dtype.kind != "f" or rows.ndim == 0 or rows.shape[-1] < 2 or (rows < 0).any():
        return False
    return bool(np.allclose(rows.sum(axis=-1), 1.0, atol=PROBABILITY_SUM_TOLERANCE))


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits.astype(np.float64) - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    probabilities: np.ndarray = exp / exp.sum(axis=-1, keepdims=True)
    return probabilities


def comparable(answer: np.ndarray, engine: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """A program's primary answer and an engine's output in one form: a `[C]` answer gets the engine's batch
    axis, and probabilities are compared with the softmax of logits (a predict.py usually ends in softmax)."""
    notes = []
    if answer.ndim == engine.ndim - 1 and engine.shape[0] == 1 and answer.shape == engine.shape[1:]:
        answer = answer[None]
    if is_probabilities(answer) and not is_probabilities(engine):
        engine = softmax(engine).astype(answer.dtype)
        notes.append("probabilities, compared with the softmax of")
    return answer, engine, notes


def class_ids(scores: np.ndarray) -> np.ndarray | None:
    """The top class of each row of `[.., C]` float scores; None for anything that is not scores."""
    if scores.dtype.kind != "f" or scores.ndim == 0 or scores.shape[-1] < 2:
        return None
    return np.asarray(scores.argmax(axis=-1))


class Compared(NamedTuple):
    """One program's answer against another answer: keys for both sides, exact keys, what was compared."""

    ref: dict[str, np.ndarray]
    paddle: dict[str, np.ndarray]
    methods: dict[str, str]
    said: str


def compare_answers(name: str, answer: np.ndarray, other: np.ndarray, program: str, other_name: str) -> Compared:
    """Keys `<name>` (float) and `<name>_class_id` (exact, for scores) for one program's answer against
    another answer."""
    answer, other, notes = comparable(answer, other)
    ref, paddle, exact = {name: answer}, {name: other}, {}
    ids, other_ids = class_ids(answer), class_ids(other)
    if ids is not None and other_ids is not None and ids.shape == other_ids.shape:
        ref[f"{name}_class_id"], paddle[f"{name}_class_id"] = ids, other_ids
        exact[f"{name}_class_id"] = "max"
    return Compared(ref, paddle, exact, f"{program}: {' '.join(notes) or 'outputs, compared with'} {other_name}")


# The cached reference arrays keep the reference program's answer under this prefix.
PROGRAM = "program/"


def own_programs(
    config: Config,
    sample: Any,
    ref_program: dict[str, np.ndarray],
    engines: tuple[np.ndarray, np.ndarray] | None,
) -> list[Compared]:
    """Key `program`: the reference program against the Paddle program (without one, against the Paddle
    training engine); key `program_vs_inference`: the Paddle program against the exported model. `engines`
    (the training engine's and the exported model's outputs) is None when they did not see the sample."""
    paddle_answer = None
    if config.predict_paddle:
        outputs = program_outputs(config.predict_paddle, "predict.paddle", sample, config.predict_paddle_kwargs)
        paddle_answer = next(iter(outputs.values()))
    compared = []
    if ref_program and paddle_answer is not None:
        answer = next(iter(ref_program.values()))
        compared.append(compare_answers("program", answer, paddle_answer, "[predict] reference", "[predict] paddle"))
    elif ref_program and engines is not None:
        answer = next(iter(ref_program.values()))
        compared.append(
            compare_answers("program", answer, engines[0], "[predict] reference", "the paddle training engine")
        )
    if paddle_answer is not None and engines is not None:
        compared.append(
            compare_answers("program_vs_inference", paddle_answer, engines[1], "[predict] paddle", "Paddle Inference")
        )
    return compared
