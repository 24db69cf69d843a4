"""The standard TIPC files in the porter's `test_tipc/`: the 32-line config rendered from `[tipc]`, and the
runner, its functions, the data preparation and the docs copied from `templates/tipc/` (docs/tipc.md).

They become the porter's files, delivered with the port. So each is written when missing, rewritten only while
it is still exactly what paddle-port last wrote (recorded in `result/.paddle_port_written.json`, as every file
the tool writes), and otherwise left alone and used as it is: an edited runner or config is the porter's
decision, said once per run, never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import paddle_port_templates
from paddle_port_checks.atomic import write_text_atomic
from paddle_port_checks.config import Config
from paddle_port_checks.tipc_settings import TipcSettings
from paddle_port_checks.written import record_written, written_unchanged

TEMPLATES = Path(paddle_port_templates.__file__).parent / "tipc"
# The copied files: their template in templates/tipc/ -> where the porter's repository keeps them.
COPIED = {
    "common_func.sh": "test_tipc/common_func.sh",
    "prepare.sh": "test_tipc/prepare.sh",
    "test_train_inference_python.sh": "test_tipc/test_train_inference_python.sh",
    "test_train_inference_python.md": "test_tipc/docs/test_train_inference_python.md",
    "README.md": "test_tipc/README.md",
}
RUNNER, PREPARE = COPIED["test_train_inference_python.sh"], COPIED["prepare.sh"]
CONFIG_LINES = 32
TRAIN_HEADER = "===========================train_params==========================="
EVAL_HEADER = "===========================eval_params==========================="
INFER_HEADER = "===========================infer_params==========================="


def _pair(key: str, value: str) -> str:
    """`key:value`, with the TIPC config's `null` for what is not given."""
    return f"{key or 'null'}:{value if value != '' else 'null'}"


def _by_mode(values: dict[str, int]) -> str:
    return "|".join(f"{mode}={number}" for mode, number in values.items())


def config_lines(tipc: TipcSettings, model_name: str) -> list[str]:
    """The 32 lines of `train_infer_python.txt`, each at the position the runner reads it from."""
    flags = tipc.flags
    lines = [
        TRAIN_HEADER,
        f"model_name:{model_name}",
        f"python:{tipc.python}",
        f"gpu_list:{tipc.gpu_list}",
        _pair(flags["device"], "|".join(tipc.device_values)),
        _pair(flags["epochs"], _by_mode(tipc.epochs)),
        _pair(flags["output"], "./output/"),
        _pair(flags["batch_size"], _by_mode(tipc.batch_size)),
        _pair(flags["pretrained"], tipc.pretrained),
        f"train_model_name:{tipc.train_model_name}",
        _pair(flags["data"], tipc.data_path),
        "##",
        "trainer:norm_train",
        f"norm_train:{tipc.train}",
        "##",
        EVAL_HEADER,
        _pair("eval", tipc.eval),
        "##",
        INFER_HEADER,
        _pair(flags["save_inference"], f"./output/{model_name}_infer/"),
        f"{flags['export_weights'] or 'null'}:",  # its value is the trained weights, set by the runner
        f"norm_export:{tipc.export}",
        "##",
        _pair("train_model", tipc.train_model),
        f"infer_export:{tipc.export}",
        "##",
        f"inference:{tipc.infer}",
        _pair(flags["use_gpu"], "|".join(str(flag) for flag in tipc.infer_use_gpu)),
        _pair(flags["infer_batch_size"], "|".join(str(size) for size in tipc.infer_batch_sizes)),
        _pair(flags["model_dir"], "null"),  # set by the runner: the export it just made
        _pair(flags["image"], tipc.image),
        _pair(flags["benchmark"], str(tipc.benchmark)),
    ]
    # The runner reads by position: one line more shifts them all (the config refuses line breaks in values).
    assert len(lines) == CONFIG_LINES and not any("\n" in line for line in lines), lines
    return lines


def standard_files(config: Config) -> dict[str, str]:
    """Workspace-relative path -> the text paddle-port writes there now."""
    tipc = config.tipc
    files = {target: (TEMPLATES / source).read_text(encoding="utf-8") for source, target in COPIED.items()}
    model_name = tipc.name_for(config.paddle.model)
    files[tipc.config_path(config.paddle.model)] = "\n".join(config_lines(tipc, model_name)) + "\n"
    return files


class Written(NamedTuple):
    written: list[str]  # created or brought up to date
    kept: list[str]  # the porter's (edited, or never ours): used as they are


def write_standard_files(config: Config) -> Written:
    """Write what is missing or still ours and out of date; keep what the porter changed."""
    result_dir = config.root / "result"
    written, kept, recorded = [], [], []
    for relative, text in standard_files(config).items():
        path = config.root / relative
        if path.is_file():
            current = path.read_bytes()
            if current == text.encode("utf-8"):
                recorded.append(path)  # ours in content: an earlier run's, or one the porter copied from us
                continue
            if not written_unchanged(result_dir, path):
                kept.append(relative)
                continue
        write_text_atomic(path, text)
        written.append(relative)
        recorded.append(path)
    record_written(result_dir, recorded)
    return Written(written, kept)
