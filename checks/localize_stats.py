"""How far a Paddle output is from the reference: one pass of statistics, without copying either tensor.

Both tensors are viewed as torch tensors through DLPack (no copy); on the host numpy reduces them, on an
accelerator torch does, where they live. A localisation measures every layer and every gradient, so the
meter keeps one scratch buffer for the whole run: a fresh temporary per layer is fresh pages from the
allocator (page faults) for every large activation, which cost as much as the arithmetic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from paddle_port_checks.layer_outputs import shape_of
from paddle_port_checks.localize_results import Difference


class DifferenceMeter:
    """Measures Paddle tensors against their reference twins with one tolerance and one scratch buffer."""

    def __init__(self, atol: float, rtol: float) -> None:
        self.atol, self.rtol = atol, rtol
        self._scratch: dict[np.dtype[Any], np.ndarray] = {}

    def __call__(self, reference: Any, output: Any) -> Difference:
        """Mean/max abs diff and relative diff of ``output`` against ``reference`` (tensors of either framework).

        Diverged when the mean abs diff exceeds ``atol + rtol * mean|ref|``, or anything is not finite.
        """
        ref_shape, out_shape = shape_of(reference), shape_of(output)
        if ref_shape != out_shape:
            problem = f"shape mismatch: reference {ref_shape} vs paddle {out_shape}"
            return Difference(None, None, None, None, True, problem)
        ref, out = torch_view(reference), torch_view(output)
        if ref.numel() == 0:
            return Difference(0.0, 0.0, 0.0, 0.0, False, None)
        on_host = ref.device.type == "cpu" and out.device.type == "cpu"
        mean, largest, ref_mean_abs = self._host_stats(ref, out) if on_host else device_stats(ref, out)
        rel = mean / ref_mean_abs if ref_mean_abs > 0 else (0.0 if mean == 0 else float("inf"))
        finite = bool(np.isfinite(mean) and np.isfinite(largest))
        diverged = not finite or mean > self.atol + self.rtol * ref_mean_abs
        failure = None if finite else "NaN/Inf in the outputs"
        return Difference(mean, largest, rel, ref_mean_abs, diverged, failure)

    def _host_stats(self, ref: Any, out: Any) -> tuple[float, float, float]:
        """(mean |ref-out|, max |ref-out|, mean |ref|) by numpy on zero-copy views, in the scratch buffer.

        Single-threaded numpy beats torch's intra-op threads on these one-pass reductions: torch's thread
        hand-offs dominate at activation sizes, and worse on a loaded machine.
        """
        ref_array, out_array = host_array(ref), host_array(out)
        dtype = ref_array.dtype if ref_array.dtype.kind == "f" else np.dtype(np.float64)
        buffer = self._buffer(dtype, ref_array.shape)
        np.subtract(ref_array, out_array, out=buffer, dtype=dtype)
        np.abs(buffer, out=buffer)
        mean, largest = float(buffer.mean()), float(buffer.max())
        np.abs(ref_array, out=buffer)
        return mean, largest, float(buffer.mean())

    def _buffer(self, dtype: np.dtype[Any], shape: tuple[int, ...]) -> np.ndarray:
        """A C-contiguous scratch array of this shape, grown (never shrunk) as larger tensors come."""
        count = int(np.prod(shape))
        scratch = self._scratch.get(dtype)
        if scratch is None or scratch.size < count:
            scratch = self._scratch[dtype] = np.empty(count, dtype)
        return scratch[:count].reshape(shape)


def torch_view(value: Any) -> Any:
    """A detached torch tensor sharing the memory of a tensor of either framework (no copy)."""
    import torch
    from torch.utils.dlpack import from_dlpack

    return value.detach() if isinstance(value, torch.Tensor) else from_dlpack(value.detach())


def host_array(tensor: Any) -> np.ndarray:
    """A numpy view of a host torch tensor; half precision widened (a copy) so the sums do not overflow."""
    import torch

    # numpy has no bfloat16.
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.float()
    array: np.ndarray = tensor.resolve_conj().resolve_neg().numpy()
    return array


def device_stats(ref: Any, out: Any) -> tuple[float, float, float]:
    """The same statistics by torch where the tensors live (an accelerator: no copies to the host)."""
    import torch

    dtype = ref.dtype if ref.is_floating_point() else torch.float64
    ref, out = ref.to(dtype), out.to(dtype)
    # Norms accumulate without an |x| temporary: one temporary (the difference) per comparison.
    delta = ref - out
    count = ref.numel()
    mean = float(torch.linalg.vector_norm(delta, 1)) / count
    largest = float(torch.linalg.vector_norm(delta, float("inf")))
    return mean, largest, float(torch.linalg.vector_norm(ref, 1)) / count
