"""The step catalogue: every checkpoint of a port, declared once.

Each entry says what a step is (id, number, title, the script it becomes and its template), what it
compares and how it decides (evidence keys, decision method, default threshold, the pass rule in words),
what it proves, what the porter writes for it, its pitfalls and which steps it builds on. Everything else
is derived from here: the config's default thresholds, the checks' decision methods, the CLI's step names
and help, the wizard's step list and About tab, the report, the scripts' docstrings and the README's table
(a test holds the README to `markdown_table()`).

Adding a step is one entry here, one module in `steps/` and one template. This module imports nothing
but the standard library: the app, which never imports a framework, reads it too.
"""

from __future__ import annotations

from typing import NamedTuple

# How a step decides from the per-key statistics: float outputs on the mean absolute error (reprod_log's
# default), steps that must be exact on the max, so one wrong element among millions cannot pass.
DECISION_METHODS = ("mean", "max")
# The weights step's mapping file, when the config names none: written by the step, then the porter's.
DEFAULT_MAPPING_FILE = "paddle_port_mapping.json"


class Step(NamedTuple):
    """One checkpoint of the flow. A NamedTuple, not a dataclass: `paddle-port --help` reads the catalogue,
    and importing dataclasses (with inspect) would be most of its start-up."""

    number: int
    id: str
    title: str
    template: str  # in templates/, rendered into `script`
    keys: str  # what is compared, as the porter reads it
    method: str  # one of DECISION_METHODS: the step's default for every key
    threshold: float  # the default threshold of `method`; [thresholds] <id> overrides it
    rule: str  # the pass rule in words, for steps whose keys do not all follow `method`; "" = derived
    proves: str
    porter_writes: str
    pitfalls: tuple[str, ...]
    depends_on: tuple[str, ...] = ()  # steps whose success this one builds on (ids)
    # The stem of the evidence arrays, `result/<arrays>_{ref,paddle}.npy`, where the tutorials name them after
    # something other than the step (the backward step's `losses_ref.npy`); "" = the step's id.
    arrays: str = ""

    @property
    def script(self) -> str:
        """The generated script, relative to the workspace root."""
        return f"test_tipc/{self.number:02d}_test_{self.id}.py"

    @property
    def evidence(self) -> tuple[str, ...]:
        """The evidence files the step writes, relative to the workspace root."""
        stem = self.arrays_stem
        return (f"result/{stem}_ref.npy", f"result/{stem}_paddle.npy", f"result/log/{self.id}_diff.log")

    @property
    def arrays_stem(self) -> str:
        """What the evidence arrays are named after: the tutorials' name, else the step's id."""
        return self.arrays or self.id

    @property
    def result_file(self) -> str:
        return f"result/{self.id}.json"

    @property
    def pass_rule(self) -> str:
        """The rule in words: the declared one, or the method and default threshold."""
        return self.rule or f"{self.method} abs diff <= {short_number(self.threshold)}"


STEPS: tuple[Step, ...] = (
    Step(
        number=1,
        id="forward",
        title="model structure and forward output",
        template="01_test_forward.py.j2",
        keys="logits",
        method="mean",
        threshold=1e-5,
        rule="",
        proves="The Paddle model computes the same function as the reference: the same fixed input "
        "(result/forward_input.npy) through both models, with the same weights, in eval mode.",
        porter_writes="[reference] and [paddle] model factories (module:callable + kwargs), optionally the "
        "reference checkpoint.",
        pitfalls=(
            "BatchNorm epsilon differs (Paddle's default 1e-5 matches, but hand-written layers drift).",
            "MaxPool ceil_mode or AvgPool exclusive / count_include_pad differ.",
            "Dropout mode downscale_in_infer scales outputs at eval; torch does not.",
            "paddle.nn.Linear stores [in, out]: a weight copied without the transpose.",
            "GELU approximate, LayerNorm epsilon, interpolation mode / align_corners.",
        ),
    ),
    Step(
        number=2,
        id="data",
        title="small data set and data loading",
        template="check.py.j2",
        keys="length, dataloader_0..N-1, label_0..N-1",
        method="max",
        threshold=1e-6,
        rule="max abs diff <= 1e-6 (exact)",
        proves="Both data pipelines read the same small set (lite_data.txt) into the same tensors: same "
        "length, same first N batches with shuffling off and no worker processes.",
        porter_writes="[reference] dataset and [paddle] dataset factories: "
        "callable(samples, **dataset_kwargs) -> dataset.",
        pitfalls=(
            "Resize interpolation differs (bilinear vs nearest, PIL vs cv2 backend).",
            "Normalize mean/std in 0..1 vs 0..255 units; channel order RGB vs BGR.",
            "ToTensor scaling, HWC vs CHW, float64 leaking in.",
        ),
    ),
    Step(
        number=3,
        id="metric",
        title="evaluation metric",
        template="check.py.j2",
        keys="acc_top1, acc_top5",
        method="max",
        threshold=1e-6,
        rule="max abs diff <= 1e-6 (equal)",
        proves="Each framework's own metric code gives the same top-1/top-5 accuracy on the small val set.",
        porter_writes="Optionally [reference] metric and [paddle] metric: callable(logits, labels) -> {name: value}.",
        pitfalls=(
            "Top-k taken over the wrong axis, or labels of shape [N] vs [N, 1].",
            "Averaging per batch instead of per sample when the last batch is smaller.",
        ),
        depends_on=("data",),
    ),
    Step(
        number=4,
        id="weights",
        title="weights",
        template="check.py.j2",
        keys="weight/<name> for every tensor, logits, eval_acc_top1, eval_acc_top5",
        method="max",
        threshold=1e-6,
        rule="every tensor max abs diff <= 1e-6; logits mean <= 1e-5",
        proves="The converted .pdparams holds every tensor of the reference checkpoint under the right name "
        "and layout, loads completely into the Paddle model, and gives the same eval result.",
        porter_writes=f"Nothing, when names match; otherwise confirm or edit the mapping file ([weights] mapping, "
        f"default {DEFAULT_MAPPING_FILE}) that the step writes.",
        pitfalls=(
            "num_batches_tracked must be dropped; running_mean/var become _mean/_variance.",
            "paddle.nn.Linear needs the transpose, paddle.compat.nn.Linear does not; square layers hide it.",
            "set_state_dict only warns on missing keys: a half-loaded model runs without an error.",
        ),
        depends_on=("forward",),
    ),
    Step(
        number=5,
        id="predict",
        title="prediction program and Paddle Inference",
        template="check.py.j2",
        keys="class_id, prob, inference_logits, inference_class_id (+ program, program_vs_inference)",
        method="mean",
        threshold=1e-5,
        rule="class ids equal; prob and logits mean abs diff <= 1e-5",
        proves="One sample through both training engines gives the same class and probability; the model "
        "exported with paddle.jit.save and run by a Paddle Inference predictor matches the training engine; "
        "the porter's own prediction programs, when named, answer alike and as Paddle Inference does.",
        porter_writes="Optionally [predict] sample, and your own programs as [predict] reference / paddle; "
        "the export goes to [predict] export_dir.",
        pitfalls=(
            "Preprocessing in the prediction program differs from the eval pipeline.",
            "Dynamic-to-static export fails on Python control flow that depends on tensor values.",
        ),
        depends_on=("weights",),
    ),
    Step(
        number=6,
        id="loss",
        title="loss",
        template="check.py.j2",
        keys="loss",
        method="mean",
        threshold=1e-5,
        rule="",
        proves="Both losses give the same value on the fixed inputs and labels ([train] labels, else seeded class "
        "ids), with the same weights, in the configured [train] mode.",
        porter_writes="Optionally [reference] loss and [paddle] loss (module:callable + loss_kwargs); default: "
        "each framework's CrossEntropyLoss.",
        pitfalls=(
            "CrossEntropy label_smoothing, ignore_index, reduction or soft_label differ.",
            "The class axis: torch takes [N, C, ...], Paddle's default axis is the last.",
        ),
        depends_on=("forward",),
    ),
    Step(
        number=7,
        id="backward",
        title="backward and optimizer over the first iterations",
        template="07_test_backward.py.j2",
        keys="loss_0..N-1, lr_0..N-1, grad/<name>, param/<name>, buffer/<name>, eval/<output>",
        method="mean",
        threshold=1e-5,
        rule="mean abs diff <= 1e-5; lr_i equal (relative 1e-6)",
        proves="N training iterations (forward, loss, backward, optimizer step, scheduler step) from the same "
        "weights give the same losses and learning rates, the same gradients at iteration 0, and afterwards the "
        "same parameters, buffers (BatchNorm running statistics, in Paddle's variance convention) and eval "
        "output.",
        porter_writes="Optionally [reference]/[paddle] optimizer, optimizer_kwargs, scheduler, scheduler_kwargs "
        "and [train] iterations, mode, labels; default: the tutorials' SGD with momentum 0.9, lr 1e-3, 3 "
        "iterations in train mode.",
        pitfalls=(
            "torch SGD(momentum=...) is paddle.optimizer.Momentum, not paddle.optimizer.SGD.",
            "A Paddle LR scheduler acts only when it is the optimizer's learning_rate, and stepped.",
            "BatchNorm momentum: Paddle's is 1 - torch's; eval-mode checks cannot see it.",
            "weight_decay: torch SGD/Adam add L2 to the gradient, AdamW decouples it.",
        ),
        depends_on=("loss",),
        arrays="losses",
    ),
    Step(
        number=8,
        id="init",
        title="initialisation, each framework's own",
        template="check.py.j2",
        keys="mean/<name>, std/<name>, min/<name>, max/<name>",
        method="max",
        threshold=5.0,
        rule="each statistic within 5 standard errors of two independent draws of its size; constants exact",
        proves="Both models built by their factories with their own seeded initialisation (no weights copied) "
        "draw every parameter from the same distribution: mean, std, min and max agree as far as sampling allows. "
        "What a port trained from scratch starts from.",
        porter_writes="Nothing; [thresholds] init sets the standard errors (z). A differing layer names the "
        "Paddle initializer to pass as its weight_attr / bias_attr.",
        pitfalls=(
            "paddle.nn.Linear weights default to XavierUniform, torch's to U(+-1/sqrt(fan_in)); biases to 0.",
            "paddle.nn.Conv2D weights default to Normal(0, sqrt(2/fan_in)), torch's to U(+-1/sqrt(fan_in)).",
            "paddle.nn.Embedding defaults to XavierUniform, torch's to N(0, 1).",
        ),
        depends_on=("weights",),
    ),
    Step(
        number=9,
        id="train",
        title="a short training run and the full-training results",
        template="check.py.j2",
        keys="loss_0..K-1, eval_<metric>, full_top1, tipc/<field>",
        method="mean",
        threshold=1e-2,
        rule="loss_i within 1 % of the reference's; eval metric ±1 sample; full_top1 within 0.15 points; TIPC fields",
        proves="K training iterations on the small train set ([data] train_list, fixed order; else the fixed "
        "inputs) from the same weights give the same loss curve and the same eval metric after it; the porter's "
        "full-training top-1 accuracies agree within the guide's 0.15 % and the Paddle training log has the TIPC "
        "fields loss, avg_reader_cost, avg_batch_cost, avg_ips.",
        porter_writes="Optionally [data] train_list and [train] train_iterations (default 10); after a full "
        "training, [train] reference_accuracy / paddle_accuracy or reference_log / paddle_log, and "
        "accuracy_tolerance (default 0.15 points).",
        pitfalls=(
            "Random augmentation in the train pipeline: seed it, or the two sides train on different images.",
            "A shuffled or multi-worker loader changes the order of the batches.",
            "A Paddle log without avg_reader_cost / avg_batch_cost / avg_ips fails TIPC's log parser.",
        ),
        depends_on=("backward",),
    ),
    Step(
        number=10,
        id="tipc",
        title="TIPC basic train-inference test (lite_train_lite_infer)",
        template="check.py.j2",
        keys="train/<gpus>, eval/<gpus>, export/<gpus>, infer/<gpus>/<device>_bs<n>, total_seconds, predict_vs_infer/*",
        method="max",
        threshold=1e-5,
        rule="every command run successfully, no traceback in its log; total <= 600 s; predict and infer agree",
        proves="The port's own programs pass the TIPC test its readers will run: test_tipc/prepare.sh and "
        "test_train_inference_python.sh with the generated test_tipc/configs/<model>/train_infer_python.txt train, "
        "evaluate, export and run Paddle Inference, every command successfully, within ten minutes; with [tipc] "
        "predict, the training-engine prediction program and the inference program give the same class and "
        "probability (<= 1e-5) on one image.",
        porter_writes="[tipc] train, eval, export, infer (scripts with fixed arguments, tutorial layout by default), "
        "optionally predict, gpu_list, epochs, batch_size, data_path, image and [tipc.flags] for flag names.",
        pitfalls=(
            "Paddle 3 exports inference.json (PIR), not inference.pdmodel: an infer.py for Paddle 2 fails.",
            "The official runner's shell exits 0 when a command failed: only results_python.log tells.",
            "A program that catches its own exception exits 0 with a traceback in its log.",
            "--benchmark needs AutoLog, which is not on PyPI: keep it False.",
        ),
        depends_on=("predict",),
    ),
)


def short_number(value: float) -> str:
    """A threshold as porters write it: 1e-5, not 1e-05."""
    return f"{value:g}".replace("e-0", "e-").replace("e+0", "e+")


STEP_BY_ID: dict[str, Step] = {step.id: step for step in STEPS}
STEP_IDS: tuple[str, ...] = tuple(STEP_BY_ID)
DEFAULT_THRESHOLDS: dict[str, float] = {step.id: step.threshold for step in STEPS}


def step_by_id(name: str) -> Step:
    """The step named by id or by number; KeyError with the valid names otherwise."""
    found = STEP_BY_ID.get(name) or next((step for step in STEPS if name.isdigit() and step.number == int(name)), None)
    if found is None:
        numbers = f"{STEPS[0].number}-{STEPS[-1].number}"
        raise KeyError(f"unknown step {name!r}; expected one of {', '.join(STEP_IDS)} or {numbers}")
    return found


def steps_help() -> str:
    """The step names for command-line help."""
    return f"{', '.join(STEP_IDS)} (or {STEPS[0].number}-{STEPS[-1].number}); default: all in order"


def markdown_table() -> str:
    """The README's step table, derived from the catalogue (a test compares the two)."""
    lines = ["| # | step | script | compares | passes when |", "|---|---|---|---|---|"]
    for step in STEPS:
        lines.append(f"| {step.number} | {step.id} | `{step.script}` | `{step.keys}` | {step.pass_rule} |")
    return "\n".join(lines)


def _check_catalogue() -> None:
    """The catalogue's own invariants, checked on import: a typo here would mislead every part."""
    for position, step in enumerate(STEPS):
        if step.method not in DECISION_METHODS:
            raise AssertionError(f"step {step.id}: method {step.method!r} not in {DECISION_METHODS}")
        unknown = [name for name in step.depends_on if name not in STEP_BY_ID or STEP_BY_ID[name].number >= step.number]
        if unknown:
            raise AssertionError(f"step {step.id}: depends on unknown or later steps {unknown}")
        if position and STEPS[position - 1].number >= step.number:
            raise AssertionError(f"step {step.id}: numbers must increase along the flow")


_check_catalogue()
