"""The step catalogue: the checkpoints of a port, in order, with what each proves and its pitfalls.

The wizard's step pages, the generated scripts' docstrings, the CLI tables and the report all read
from here, so a step is described once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Step:
    number: int
    id: str
    title: str
    script: str  # relative to the workspace root
    template: str
    keys: str
    rule: str
    proves: str
    porter_writes: str
    pitfalls: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step(
        1, "forward", "model structure and forward output", "test_tipc/01_test_forward.py", "01_test_forward.py.j2",
        "logits", "mean abs diff <= 1e-5",
        "The Paddle model computes the same function as the reference: the same fixed input "
        "(result/forward_input.npy) through both models, with the same weights, in eval mode.",
        "[reference] and [paddle] model factories (module:callable + kwargs), optionally the reference checkpoint.",
        (
            "BatchNorm epsilon differs (Paddle's default 1e-5 matches, but hand-written layers drift).",
            "MaxPool ceil_mode or AvgPool exclusive / count_include_pad differ.",
            "Dropout mode downscale_in_infer scales outputs at eval; torch does not.",
            "paddle.nn.Linear stores [in, out]: a weight copied without the transpose.",
            "GELU approximate, LayerNorm epsilon, interpolation mode / align_corners.",
        ),
    ),
    Step(
        2, "data", "small data set and data loading", "test_tipc/02_test_data.py", "check.py.j2",
        "length, dataloader_0..N-1, label_0..N-1", "max abs diff <= 1e-6 (exact)",
        "Both data pipelines read the same small set (lite_data.txt) into the same tensors: same length, "
        "same first N batches with shuffling off and no worker processes.",
        "[reference] dataset and [paddle] dataset factories: callable(samples, **dataset_kwargs) -> dataset.",
        (
            "Resize interpolation differs (bilinear vs nearest, PIL vs cv2 backend).",
            "Normalize mean/std in 0..1 vs 0..255 units; channel order RGB vs BGR.",
            "ToTensor scaling, HWC vs CHW, float64 leaking in.",
        ),
    ),
    Step(
        3, "metric", "evaluation metric", "test_tipc/03_test_metric.py", "check.py.j2",
        "acc_top1, acc_top5", "max abs diff <= 1e-6 (equal)",
        "Each framework's own metric code gives the same top-1/top-5 accuracy on the small val set.",
        "Optionally [reference] metric and [paddle] metric: callable(logits, labels) -> {name: value}.",
        (
            "Top-k taken over the wrong axis, or labels of shape [N] vs [N, 1].",
            "Averaging per batch instead of per sample when the last batch is smaller.",
        ),
    ),
    Step(
        4, "weights", "weights", "test_tipc/04_test_weights.py", "check.py.j2",
        "weight/<name> for every tensor, logits, eval_acc_top1, eval_acc_top5",
        "every tensor max abs diff <= 1e-6; logits mean <= 1e-5",
        "The converted .pdparams holds every tensor of the reference checkpoint under the right name and "
        "layout, loads completely into the Paddle model, and gives the same eval result.",
        "Nothing, when names match; otherwise confirm or edit result/weights/mapping.json.",
        (
            "num_batches_tracked must be dropped; running_mean/var become _mean/_variance.",
            "paddle.nn.Linear needs the transpose, paddle.compat.nn.Linear does not; square layers hide it.",
            "set_state_dict only warns on missing keys: a half-loaded model runs without an error.",
        ),
    ),
    Step(
        5, "predict", "prediction program and Paddle Inference", "test_tipc/05_test_predict.py", "check.py.j2",
        "class_id, prob, inference_logits, inference_class_id",
        "class ids equal; prob and logits mean abs diff <= 1e-5",
        "One image through both training engines gives the same class and probability; the model exported "
        "with paddle.jit.save and run by a Paddle Inference predictor matches the training engine.",
        "Optionally [predict] image; the export goes to [predict] export_dir.",
        (
            "Preprocessing in the prediction program differs from the eval pipeline.",
            "Dynamic-to-static export fails on Python control flow that depends on tensor values.",
        ),
    ),
)

STEP_BY_ID = {step.id: step for step in STEPS}


def step_by_id(step_id: str) -> Step:
    """The step named by id or by number ('1'..'5'); KeyError with the valid names otherwise."""
    if step_id.isdigit() and 1 <= int(step_id) <= len(STEPS):
        return STEPS[int(step_id) - 1]
    try:
        return STEP_BY_ID[step_id]
    except KeyError:
        raise KeyError(f"unknown step {step_id!r}; expected one of {', '.join(STEP_BY_ID)} or 1-{len(STEPS)}") from None
