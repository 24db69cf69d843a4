"""The reference forward, run in a worker thread that pauses after each leaf call until asked for more.

So one reference activation is alive at a time (a few when one side has extra layers) and only one
framework computes at any moment: the Paddle forward, in the caller's thread, asks for the next reference
call when it reaches a layer (``localize_lockstep.py``).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import Any

from paddle_port_checks.inputs import call_model
from paddle_port_checks.layer_kinds import layer_kind
from paddle_port_checks.layer_outputs import detached_copy, first_tensor
from paddle_port_checks.layer_pairs import torch_leaves


@dataclass
class ReferenceCall:
    """One leaf call of the reference forward, kept only until its Paddle twin is compared."""

    name: str
    module: Any
    kind: str
    call: int
    inputs: tuple[Any, ...]
    output: Any

    def freeze(self) -> None:
        """Copy the tensors: the reference forward is about to move on and may overwrite them in place."""
        self.inputs = tuple(detached_copy(value) for value in self.inputs)
        self.output = detached_copy(self.output)


class ReferenceRun:
    """The reference forward in a worker thread that pauses after every leaf call until asked for more."""

    def __init__(self, model: Any, model_input: Any, grad: bool) -> None:
        self.pending: deque[ReferenceCall] = deque()
        self.late: list[str] = []  # leaf calls after the Paddle forward ended: unpaired
        self.output: Any = None
        self.error: BaseException | None = None
        self._condition = threading.Condition()
        self._produced, self._allowed = 0, 1
        self._finished = self._stopped = False
        self._calls: dict[int, int] = {}
        self._inplace_inputs: dict[int, tuple[Any, ...]] = {}
        self._handles: list[Any] = []
        for name, module in torch_leaves(model):
            self._handles.append(module.register_forward_hook(self._hook_for(name, layer_kind(module))))
            if getattr(module, "inplace", False):  # its input is overwritten: keep a copy for the recheck
                self._handles.append(module.register_forward_pre_hook(self._keep_input))
        self._thread = threading.Thread(target=self._run, args=(model, model_input, grad), daemon=True)
        self._thread.start()
        self._wait_for(1)

    def _keep_input(self, module: Any, args: tuple[Any, ...]) -> None:
        self._inplace_inputs[id(module)] = tuple(detached_copy(value) for value in args)

    def _hook_for(self, name: str, kind: str) -> Any:
        def hook(module: Any, args: tuple[Any, ...], output: Any) -> None:
            call = self._calls[id(module)] = self._calls.get(id(module), 0) + 1
            inputs = self._inplace_inputs.pop(id(module), args)
            with self._condition:
                if self._stopped:
                    self.late.append(name)
                    return
                self.pending.append(ReferenceCall(name, module, kind, call, inputs, first_tensor(output)))
                self._produced += 1
                self._condition.notify_all()
                while self._produced >= self._allowed and not self._stopped:
                    self._condition.wait()

        return hook

    def _run(self, model: Any, model_input: Any, grad: bool) -> None:
        import torch

        try:
            with torch.set_grad_enabled(grad):  # grad mode is per thread: set it in this one
                self.output = call_model(model, model_input)
        except BaseException as error:  # handed to the caller's thread by stop()
            self.error = error
        finally:
            with self._condition:
                self._finished = True
                self._condition.notify_all()

    def _wait_for(self, count: int) -> bool:
        with self._condition:
            self._allowed = max(self._allowed, count)
            self._condition.notify_all()
            while self._produced < count and not self._finished:
                self._condition.wait()
            return self._produced >= count

    def advance(self) -> bool:
        """Let the reference run to its next leaf call; False when its forward has ended."""
        for call in self.pending:
            call.freeze()
        return self._wait_for(self._produced + 1)

    def stop(self) -> None:
        """Let the reference forward finish unpaused, remove the hooks, re-raise its error if any."""
        with self._condition:
            self._stopped = True
            self._condition.notify_all()
        self._thread.join()
        for handle in self._handles:
            handle.remove()
        self.late = [call.name for call in self.pending] + self.late
        self.pending.clear()
        if self.error is not None:
            raise RuntimeError(f"the reference forward failed: {self.error!r}") from self.error
