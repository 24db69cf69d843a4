"""Device strings of the two frameworks, and the determinism settings a GPU comparison needs.

Paddle says `cpu`, `gpu`, `gpu:N`; torch says `cpu`, `cuda:N`. The porter writes Paddle's form once and
both sides get the right one. Determinism must be set the real way: `FLAGS_cudnn_deterministic` is read
by Paddle from the environment (or `paddle.set_flags`), never from a Python variable, and cuBLAS needs
its workspace variable before the first CUDA call; so `prepare_environment` runs before any framework
import, and `apply_torch` / `apply_paddle` after.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

_DEVICE = re.compile(r"^(cpu|gpu)(?::(\d+))?$")


class DeviceError(ValueError):
    """A device string that neither framework would accept."""


@dataclass(frozen=True)
class Device:
    """A device as the porter names it (Paddle's spelling), with both frameworks' names."""

    kind: str  # "cpu" or "gpu"
    index: int = 0

    @property
    def is_gpu(self) -> bool:
        return self.kind == "gpu"

    @property
    def paddle(self) -> str:
        return f"gpu:{self.index}" if self.is_gpu else "cpu"

    @property
    def torch(self) -> str:
        return f"cuda:{self.index}" if self.is_gpu else "cpu"

    def __str__(self) -> str:
        return self.paddle


def parse_device(text: str) -> Device:
    """`cpu`, `gpu` (= gpu:0) or `gpu:N`; torch's `cuda:N` is accepted too, since porters type it."""
    spelled = text.strip().lower().replace("cuda", "gpu")
    match = _DEVICE.match(spelled)
    if not match:
        raise DeviceError(f'expected "cpu", "gpu" or "gpu:N", got {text!r}')
    kind, index = match.group(1), match.group(2)
    if kind == "cpu" and index is not None:
        raise DeviceError(f'expected "cpu" without an index, got {text!r}')
    return Device(kind, int(index or 0))


# Variables that must be in the environment before paddle / torch initialise CUDA.
GPU_ENVIRONMENT = {
    "FLAGS_cudnn_deterministic": "1",
    "FLAGS_embedding_deterministic": "1",
    "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    "NVIDIA_TF32_OVERRIDE": "0",
}


def prepare_environment(*devices: Device) -> dict[str, str]:
    """Set the determinism variables when any side runs on a GPU; return what was set, for the record.

    A porter's own explicit setting wins: we record it rather than overwrite it.
    """
    if not any(device.is_gpu for device in devices):
        return {}
    for name, value in GPU_ENVIRONMENT.items():
        os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in GPU_ENVIRONMENT}


def apply_torch(device: Device, seed: int) -> dict[str, object]:
    """Seed torch and switch off the nondeterministic and reduced-precision GPU paths."""
    import torch

    torch.manual_seed(seed)
    settings: dict[str, object] = {"torch.manual_seed": seed}
    if device.is_gpu:
        torch.cuda.manual_seed_all(seed)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
        # TF32 rounds matmul inputs to 10 bits of mantissa: a 1e-3 "difference" that is not the port's.
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.use_deterministic_algorithms(True, warn_only=True)
        settings.update(
            {
                "torch.backends.cudnn.deterministic": True,
                "torch.backends.cudnn.benchmark": False,
                "torch.backends.cuda.matmul.allow_tf32": False,
                "torch.backends.cudnn.allow_tf32": False,
                "torch.use_deterministic_algorithms": "warn_only",
            }
        )
    return settings


def apply_paddle(device: Device, seed: int) -> dict[str, object]:
    """Select the Paddle device (global in Paddle), seed it, and set the deterministic flags."""
    import paddle

    paddle.set_device(device.paddle)
    paddle.seed(seed)
    settings: dict[str, object] = {"paddle.set_device": device.paddle, "paddle.seed": seed}
    if device.is_gpu:
        paddle.set_flags({"FLAGS_cudnn_deterministic": True})
        settings["paddle.set_flags"] = {"FLAGS_cudnn_deterministic": True}
    return settings
