"""Paddle state-dict names that are other names of the same tensor, so that each tensor is counted once.

Paddle's `nn.LSTM` / `nn.GRU` / `nn.SimpleRNN` list every weight twice: `weight_ih_l0` and
`0.cell_fw.weight_ih` are the same tensor object. Mapping, conversion and loading work on the canonical
name (the first in state-dict order, which is also the one `named_parameters` gives) and treat the others
as aliases: never "missing", written with the same value, set once. Aliasing is detected by identity (the
same object, or the same storage with the same shape and dtype), never by name.
"""

from __future__ import annotations

from typing import Any


def paddle_aliases(paddle_model: Any) -> dict[str, str]:
    """Alias name -> canonical name, for every state-dict name that is a second name of a tensor."""
    canonical_of: dict[object, str] = {}
    aliases: dict[str, str] = {}
    for name, tensor in paddle_model.state_dict().items():
        keys = _identity_keys(tensor)
        canonical = next((canonical_of[key] for key in keys if key in canonical_of), None)
        if canonical is not None:
            aliases[name] = canonical
            continue
        for key in keys:
            canonical_of[key] = name
    return aliases


def _identity_keys(tensor: Any) -> list[object]:
    """What makes two state-dict values one tensor: the object, and its storage where it has one."""
    keys: list[object] = [("object", id(tensor))]
    try:
        pointer = int(tensor.data_ptr())
    except (AttributeError, RuntimeError, TypeError, ValueError):
        return keys
    if pointer:
        keys.append(("storage", pointer, tuple(int(d) for d in tensor.shape), str(tensor.dtype)))
    return keys
