"""The shared services of one step run: config, devices, samples, frameworks, the golden cache, events.

A step module receives a `CheckContext` and asks it for what it needs; the context imports each framework
only when first asked (a step whose reference is reused never imports torch) and builds the models
through `models.py`.
"""

from __future__ import annotations

import functools
import platform
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from paddle_port_checks import events, golden, models
from paddle_port_checks.config import Config, ConfigError
from paddle_port_checks.device import Device, DeviceError, apply_paddle, apply_torch, prepare_environment
from paddle_port_checks.inputs import ModelInputs, fixed_inputs
from paddle_port_checks.samples import Sample, read_samples
from paddle_port_checks.schema import Event, ReferenceInfo

PADDLE_DISTRIBUTIONS = ("paddlepaddle", "paddlepaddle-gpu")


class CheckContext:
    """What a step run shares with its step module."""

    def __init__(self, step: str, config: Config, device: Device, reference_device: Device, fresh: bool) -> None:
        self.step = step
        self.config = config
        self.device = device
        self.reference_device = reference_device
        self.fresh = fresh
        self.result_dir = config.root / "result"
        self.cache = golden.GoldenCache(self.result_dir / "cache")
        self.warnings: list[str] = []
        # Where this step's reference came from; None until computed or reused.
        self.reference: ReferenceInfo | None = None
        self.determinism: dict[str, str] = prepare_environment(device, reference_device)
        self._torch_ready = self._paddle_ready = False
        self._samples: list[Sample] | None = None
        self._inputs: ModelInputs | None = None

    # --- small services -------------------------------------------------------------------------
    def stage(self, name: str, status: str) -> None:
        events.emit(Event("stage", self.step, name=name, status=status))

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        events.emit(Event("warning", self.step, message=message))
        print(f"warning: {message}", flush=True)

    def samples(self) -> list[Sample]:
        if self._samples is None:
            cfg = self.config
            self._samples = read_samples(
                cfg.resolve(cfg.data_list), cfg.resolve(cfg.data_root), cfg.data_format, cfg.label_field
            )
        return self._samples

    def inputs(self) -> ModelInputs:
        """The configured fixed inputs (made once per run; see inputs.py)."""
        if self._inputs is None:
            self._inputs = fixed_inputs(self.config)
        return self._inputs

    def existing(self, relative: str, key: str) -> Path:
        """A file named in the config, which must exist: the error names the key."""
        path = self.config.resolve(relative)
        if not path.is_file():
            raise ConfigError(self.config.path, key, f"file not found: {path}")
        return path

    # --- the frameworks, set up once per process and device --------------------------------------
    def torch(self) -> Any:
        """Import torch, seeded and set up deterministically for the reference device."""
        import torch

        if not self._torch_ready:
            self.determinism.update(
                {k: str(v) for k, v in apply_torch(self.reference_device, self.config.seed).items()}
            )
            self._torch_ready = True
        return torch

    def paddle(self) -> Any:
        import paddle

        if not self._paddle_ready:
            if self.device.is_gpu and not paddle.is_compiled_with_cuda():
                raise DeviceError(
                    f"the Paddle side runs on {self.device} but this paddle ({paddle.__version__}) is a CPU build: "
                    "install paddlepaddle-gpu, pick another device, or see `paddle-port doctor`"
                )
            self.determinism.update({k: str(v) for k, v in apply_paddle(self.device, self.config.seed).items()})
            self._paddle_ready = True
        return paddle

    # --- the models (models.py) -------------------------------------------------------------------
    def reference_model(self, device: Device | None = None) -> Any:
        return models.reference_model(self, device)

    def reference_state(self) -> dict[str, np.ndarray]:
        return models.reference_state(self)

    def paddle_model(self) -> Any:
        return models.paddle_model(self)

    def own_paddle_model(self) -> Any:
        return models.own_paddle_model(self)

    def mapping(self) -> Any:
        return models.porter_mapping(self)

    # --- the reference side, through the golden cache ---------------------------------------------
    def weights_fingerprint(self) -> str:
        """What the reference weights depend on: model code and arguments, checkpoint, seed."""
        cfg, side = self.config, self.config.reference
        checkpoint = golden.file_digest(cfg.resolve(side.checkpoint)) if side.checkpoint else "seeded-init"
        return golden.fingerprint(
            [
                side.model,
                side.kwargs,
                self.reference_code(side.model),
                checkpoint,
                cfg.seed,
                golden.library_digest(),
            ]
        )

    @functools.cached_property
    def paddle_side_files(self) -> frozenset[Path]:
        """The Paddle twin's own files (its model, data pipeline, metric; see golden.paddle_side_files), found
        once per step: what reaches only them is not the reference's code, nor what the reference read."""
        cfg, ours, theirs = self.config, self.config.reference, self.config.paddle
        pairs = [(ours.model, theirs.model), (ours.dataset, theirs.dataset), (ours.metric, theirs.metric)]
        return frozenset().union(
            *(golden.paddle_side_files(reference, paddle, cfg.root) for reference, paddle in pairs if paddle)
        )

    def reference_code(self, spec: str) -> str:
        """The digest of the reference side's code behind `module:callable`, the Paddle twin's files left out."""
        return golden.module_digest(spec, self.config.root, self.paddle_side_files)

    def reference_fingerprint(self, *extra: Any) -> str:
        """Everything a reference result of this step depends on, plus the step's own extras."""
        side = self.config.reference
        parts = {
            "step": self.step,
            "weights": self.weights_fingerprint(),
            "side": [side.dataset, side.dataset_kwargs, side.metric, side.metric_kwargs, side.metric_keys],
            "code": [self.reference_code(spec) for spec in (side.dataset, side.metric)],
            "device": str(self.reference_device),
            "checks": golden.library_digest(),
            "extra": extra,
        }
        return golden.fingerprint(parts)

    def reference_arrays(self, compute: Callable[[], Mapping[str, np.ndarray]], *extra: Any) -> dict[str, np.ndarray]:
        """The reference side of this step: reused from the cache when nothing it depends on changed."""
        key = self.reference_fingerprint(*extra)
        # What the porter's code read through the Paddle twin's files is not the reference's: a fix to the port
        # must not recompute the reference.
        self.cache.code_left_out = self.paddle_side_files
        self.stage("reference", "running")
        arrays, origin = self.cache.get_or_compute(self.step, key, compute, fresh=self.fresh)
        self.reference = ReferenceInfo(
            reused=bool(origin["reused"]),
            fingerprint=key,
            device=str(self.reference_device),
            torch=str(origin.get("torch", "")),
            computed_at=str(origin.get("computed_at", "")),
        )
        self.stage("reference", "reused" if self.reference.reused else "computed")
        verb = "reused from" if self.reference.reused else "computed and saved to"
        print(f"reference outputs {verb} result/cache/{self.step}.npz (torch {self.reference.torch})", flush=True)
        if origin.get("recomputed"):
            # The fingerprint matched but a file or variable the reference read last time did not: say which,
            # since nothing in the config changed and the verdict may now differ.
            self.warn(f"reference recomputed: {origin['recomputed']}")
        return arrays

    def environment(self) -> dict[str, Any]:
        return {
            "python": platform.python_version(),
            "torch": golden.framework_version("torch"),
            "paddle": next(
                (v for v in map(golden.framework_version, PADDLE_DISTRIBUTIONS) if v != "not installed"),
                "not installed",
            ),
            "device": str(self.device),
            "reference_device": str(self.reference_device),
            "torch_device": self.reference_device.torch,
            "paddle_device": self.device.paddle,
            "seed": self.config.seed,
            "determinism": self.determinism,
            "pythonpath": [str(root) for root in self.config.import_roots()],
            "env": dict(self.config.env),
        }
