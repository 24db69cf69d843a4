"""Write a step's evidence in the files and formats reviewers of Paddle ports already know.

``result/<step>_paddle.npy`` and ``result/<step>_ref.npy`` load with
``reprod_log.ReprodDiffHelper().load_info``; ``result/log/<step>_diff.log`` has reprod_log's line
format. The lines are formatted here rather than through reprod_log's logger, which adds a handler to
the root logger on every report (duplicated lines) and imports paddle.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .atomic import write_bytes_atomic, write_json_atomic, write_text_atomic
from .compare import KeyDiff, all_passed, flatten, methods_checked

# reprod_log: logging.Formatter('[%(asctime)s] %(name)s %(levelname)s: %(message)s') on logger "root".
LOG_TIME_FORMAT = "%Y/%m/%d %H:%M:%S"
LOG_PREFIX = "[{time}] root INFO: "

PathLike = str | os.PathLike[str]


def save_arrays(result_dir: PathLike, stem: str, ref: Mapping[str, Any], paddle: Mapping[str, Any]) -> list[Path]:
    """Save both sides as ``np.save`` of a flat ``{key: ndarray}`` dict; returns [paddle path, ref path].
    ``stem`` names the files: the step's id, or the tutorials' name for them (``Step.arrays_stem``)."""
    result = Path(result_dir)
    return [
        _save_array_dict(result / f"{stem}_paddle.npy", paddle),
        _save_array_dict(result / f"{stem}_ref.npy", ref),
    ]


def diff_log_messages(diffs: Sequence[KeyDiff], method: str | None = None) -> list[str]:
    """reprod_log's report messages, plus a tab-indented line naming each key's problem.

    ``method`` picks the statistics shown (default: each key's own method); each line's verdict is
    that statistic's own, so a NaN or a problem reads "check passed: False".
    """
    messages = []
    for diff in diffs:
        messages.append(f"{diff.key}: ")
        for name in methods_checked(method or diff.method):
            value = getattr(diff, name)
            passed = diff.problem is None and value is not None and value <= diff.threshold
            messages.append(f"\t{name} diff: check passed: {passed}, value: {value}")
        if diff.problem:
            messages.append(f"\t{diff.problem}")
    messages.append("diff check passed" if all_passed(diffs) else "diff check failed")
    return messages


def format_log_line(message: str, when: time.struct_time | None = None) -> str:
    """One line as reprod_log's logger writes it: ``[2022/08/05 15:50:30] root INFO: <message>``."""
    stamp = time.strftime(LOG_TIME_FORMAT, when or time.localtime())
    return LOG_PREFIX.format(time=stamp) + message


def write_diff_log(result_dir: PathLike, step: str, diffs: Sequence[KeyDiff], method: str | None = None) -> Path:
    """Write ``result/log/<step>_diff.log`` and print the same lines to stdout as they would appear live."""
    when = time.localtime()
    lines = [format_log_line(message, when) for message in diff_log_messages(diffs, method)]
    path = write_text_atomic(Path(result_dir) / "log" / f"{step}_diff.log", "\n".join(lines) + "\n")
    for line in lines:
        print(line, flush=True)
    return path


def write_result(result_dir: PathLike, step: str, result: Mapping[str, Any]) -> Path:
    """Write the machine-readable ``result/<step>.json`` atomically (strict JSON, NaN as null)."""
    return write_json_atomic(Path(result_dir) / f"{step}.json", result)


def _save_array_dict(path: Path, arrays: Mapping[str, Any]) -> Path:
    # reprod_log's compute_diff accepts only ndarrays, so scalars become 0-d arrays.
    flat = {key: np.asarray(value) for key, value in flatten(arrays).items()}
    buffer = io.BytesIO()
    # A dict pickled into the .npy, as reprod_log saves it.
    np.save(buffer, flat, allow_pickle=True)  # type: ignore[arg-type]
    return write_bytes_atomic(path, buffer.getvalue())
