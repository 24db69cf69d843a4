"""BatchNorm running variances in Paddle's convention, tracked beside torch's own during training.

In training mode torch updates `running_var` with the *unbiased* batch variance (n/(n-1) times the biased
one, n = the elements per channel: batch x H x W), Paddle with the *biased* one (DESIGN §6). A faithful twin's
running variances therefore drift apart, most where n is small, and its eval output with them: no porting
fault, yet over any useful threshold. This tracker hooks every torch BatchNorm and keeps what Paddle's update
would have made of the same batches, `var = (1 - m) * var + m * biased batch variance`, with torch's own
momentum m (the cumulative average for `momentum=None`). The Paddle twin is compared with that: a faithful
one passes, and a wrong Paddle momentum still fails, since torch's momentum drives the tracked values.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from paddle_port_checks.layer_kinds import layer_kind


class PaddleConventionVariance:
    """The torch model's running variances as Paddle would hold them after the same training batches."""

    def __init__(self, torch_model: Any) -> None:
        self.tracked: dict[str, Any] = {}  # the module's path -> the variance in Paddle's convention
        self.modules: dict[str, Any] = {}
        self.smallest_n: int | None = None  # the fewest elements per channel seen: where n/(n-1) is largest
        self._handles = []
        for path, module in torch_model.named_modules():
            if layer_kind(module) == "batchnorm" and getattr(module, "running_var", None) is not None:
                self.tracked[path] = module.running_var.detach().clone()
                self.modules[path] = module
                self._handles.append(module.register_forward_pre_hook(self._update(path)))

    def _update(self, path: str) -> Any:
        def update(module: Any, args: tuple[Any, ...]) -> None:
            if not module.training:
                return  # eval mode: torch's running statistics stay too
            batch = args[0].detach()
            axes = [axis for axis in range(batch.dim()) if axis != 1]
            biased = batch.var(dim=axes, correction=0)
            # torch counts the batch before it weighs it: the cumulative average's factor is 1 / (count + 1).
            momentum = module.momentum if module.momentum is not None else 1.0 / (int(module.num_batches_tracked) + 1)
            tracked = self.tracked[path]
            tracked.mul_(1.0 - momentum).add_(biased.to(tracked.dtype), alpha=momentum)
            n = batch.numel() // batch.shape[1]
            self.smallest_n = n if self.smallest_n is None else min(self.smallest_n, n)

        return update

    def remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def state_names(self) -> dict[str, str]:
        """The state-dict name of each tracked running variance -> the module's path."""
        return {(f"{path}." if path else "") + "running_var": path for path in self.tracked}

    @contextlib.contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The tracked variances in the torch modules for a while (for the eval output Paddle's convention
        gives), torch's own put back after."""
        own = {path: module.running_var.detach().clone() for path, module in self.modules.items()}
        try:
            for path, module in self.modules.items():
                module.running_var.copy_(self.tracked[path])
            yield
        finally:
            for path, module in self.modules.items():
                module.running_var.copy_(own[path])
