"""The porter's full-training results, held to the guide's rule: top-1 within 0.15 % and a TIPC training log.

A full training run takes days, so the train step does not repeat it: it reads what the porter reports, the
two top-1 accuracies (`[train] reference_accuracy` / `paddle_accuracy`) or the two training logs, and compares
them within `[train] accuracy_tolerance` percentage points (the guide's 0.15; it also names 0.1). The Paddle log
must carry the fields TIPC's log parser reads (`loss`, `avg_reader_cost`, `avg_batch_cost`, `avg_ips`). An
accuracy read from a log is the last `top1`/`acc1`/`acc_top1`/`acc` value in it (the final evaluation in
PaddleClas's and torchvision's reference logs); an accuracy given in the config wins over its log.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from paddle_port_checks.config import Config, ConfigError

TIPC_FIELDS = ("loss", "avg_reader_cost", "avg_batch_cost", "avg_ips")
_NUMBER = r"([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)"
# torchvision's reference scripts print "Acc@1 76.130" (no colon); PaddleClas "top1: 0.76090".
_ACCURACY = re.compile(r"\b(?:top1|top-1|acc1|acc_top1|acc@1|acc)\b\s*[:=]?\s*" + _NUMBER, re.IGNORECASE)


def _field(name: str) -> re.Pattern[str]:
    return re.compile(rf"\b{name}\b\s*[:=]\s*" + _NUMBER)


class FullTraining(NamedTuple):
    """Both sides' full-training top-1 in percent (None where neither the config nor a log gives it), where
    each came from, and the TIPC fields the Paddle log lacks (None without a Paddle log)."""

    reference: float | None
    paddle: float | None
    sources: dict[str, str]
    missing_fields: list[str] | None


def percent(accuracy: float) -> float:
    """A top-1 as a percentage: a fraction (at most 1) is multiplied out, a percentage kept."""
    return accuracy * 100 if accuracy <= 1 else accuracy


def _read_log(config: Config, key: str, relative: str) -> str:
    path = config.resolve(relative)
    if not path.is_file():
        raise ConfigError(config.path, key, f"file not found: {path}")
    return Path(path).read_text(encoding="utf-8", errors="replace")


def last_accuracy(text: str) -> float | None:
    found = _ACCURACY.findall(text)
    return percent(float(found[-1])) if found else None


def missing_tipc_fields(text: str) -> list[str]:
    return [name for name in TIPC_FIELDS if not _field(name).search(text)]


def full_training(config: Config) -> FullTraining:
    """What the porter reports of both full trainings, read from the config and the logs it names."""
    accuracies: dict[str, float | None] = {}
    sources: dict[str, str] = {}
    missing: list[str] | None = None
    for side in ("reference", "paddle"):
        given: float | None = getattr(config, f"{side}_accuracy")
        log: str = getattr(config, f"{side}_log")
        text = _read_log(config, f"train.{side}_log", log) if log else ""
        if side == "paddle" and log:
            missing = missing_tipc_fields(text)
        if given is not None:
            accuracies[side], sources[side] = percent(given), f"[train] {side}_accuracy"
        else:
            accuracies[side] = last_accuracy(text) if log else None
            sources[side] = f"the last top-1 in {log}" if accuracies[side] is not None else ""
    return FullTraining(accuracies["reference"], accuracies["paddle"], sources, missing)
