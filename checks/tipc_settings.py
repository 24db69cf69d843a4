"""`[tipc]`: the programs and flags of the port's TIPC test, with defaults that follow the tutorial layout.

Declared here once, read by the config parser (which validates it), by the renderer of the 32-line
`train_infer_python.txt` (tipc_files.py) and by the step. Standard library only: the app reads it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# The runner's modes (docs/tipc.md); lite_train_lite_infer is the one every delivered port must pass.
TIPC_MODES = ("lite_train_lite_infer", "lite_train_whole_infer", "whole_infer", "whole_train_whole_infer")
DEFAULT_MODE = TIPC_MODES[0]
# The modes that train on the lite data, so a single `epochs = N` / `batch_size = N` means them.
LITE_TRAIN_MODES = ("lite_train_lite_infer", "lite_train_whole_infer")
# The [tipc] keys that are programs: a script with fixed arguments (the only values that hold spaces).
TIPC_PROGRAMS = ("train", "eval", "export", "infer", "predict")
# The TIPC rule: the lite mode's whole run stays under ten minutes.
TIME_LIMIT_S = 600.0

# Each program's flag, by what it carries (the TIPC config's keys); a value "" drops the flag.
DEFAULT_FLAGS: dict[str, str] = {
    "device": "--device",  # the train program's device flag: [tipc] device_values on a GPU / on the CPU
    "epochs": "--epochs",
    "output": "--output-dir",
    "batch_size": "--batch-size",
    "pretrained": "--pretrained",  # train's start weights and eval's weights
    "data": "--data-path",
    "save_inference": "--save-inference-dir",
    "export_weights": "--pretrained",
    "use_gpu": "--use-gpu",  # the inference program's: True / False
    "infer_batch_size": "--batch-size",
    "model_dir": "--model-dir",
    "image": "--img-path",
    "benchmark": "--benchmark",
}


@dataclass(frozen=True)
class TipcSettings:
    """The validated `[tipc]` table. Programs are workspace-relative scripts with optional fixed arguments,
    as the TIPC config's lines hold them; "" = none (`null` in the config)."""

    model_name: str = ""  # "" = the [paddle] model factory's name
    python: str = "python"  # as the config's line 3 says it; the step puts the porter's interpreter first on PATH
    train: str = "train.py"
    eval: str = "train.py --test-only"
    export: str = "tools/export_model.py"
    infer: str = "deploy/inference_python/infer.py"
    predict: str = ""  # the training-engine prediction program, compared with `infer` on `image`
    gpu_list: str = "0|0,1"  # -1 = CPU, 0 = one card, 0,1 = Paddle's launcher; | between entries
    device_values: tuple[str, str] = ("gpu", "cpu")  # the device flag's value on a GPU, on the CPU
    epochs: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LITE_TRAIN_MODES, 1))
    batch_size: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LITE_TRAIN_MODES, 4))
    pretrained: str = ""  # weights the training starts from
    train_model_name: str = "latest.pdparams"  # what the training writes into its output dir
    data_path: str = "./lite_data"
    image: str = "./images/demo.jpg"
    train_model: str = ""  # whole_infer: the trained weights to export
    infer_batch_sizes: tuple[int, ...] = (1,)
    infer_use_gpu: tuple[bool, ...] = (True, False)
    benchmark: bool = False  # AutoLog's benchmark: not installable from PyPI
    mode: str = DEFAULT_MODE
    time_limit_s: float = TIME_LIMIT_S
    flags: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_FLAGS))

    def name_for(self, paddle_model: str) -> str:
        """The model name: the configured one, else the Paddle factory's callable ("pkg.mod:resnet18")."""
        return self.model_name or paddle_model.rpartition(":")[2] or "model"

    def config_path(self, paddle_model: str) -> str:
        """The standard config file, relative to the workspace root."""
        return f"test_tipc/configs/{self.name_for(paddle_model)}/train_infer_python.txt"

    def output_dir(self, paddle_model: str) -> str:
        """Where the runner writes the mode's logs and results_python.log, relative to the workspace root."""
        return f"test_tipc/output/{self.name_for(paddle_model)}/{self.mode}"
