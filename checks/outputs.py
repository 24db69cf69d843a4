"""Model outputs as the checks need them, whatever the model returns: a tensor, a tuple, a dict.

Detection and multi-head models return tuples or dicts; a check must compare all of them in step 1 and
take the logits from them in steps 3-5, instead of failing on `tuple has no attribute numpy`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def to_numpy(tensor: Any) -> np.ndarray:
    """A torch or paddle tensor (or anything array-like) as a numpy array on the host."""
    if hasattr(tensor, "detach"):  # torch: leave the graph and the device first
        tensor = tensor.detach().cpu()
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor)


def plain_values(values: Sequence[Any]) -> np.ndarray | None:
    """A list of plain strings or numbers (a batch's raw texts, lengths or ids, as both DataLoaders collate
    them) as one array, or None for anything else. Strings become their code points, zero-padded, so a
    changed character is a non-zero difference at [sample, position] and a lost one a shape mismatch."""
    if not values:
        return None
    if all(isinstance(value, str) for value in values):
        return text_codes(values)
    if all(isinstance(value, (int, float)) for value in values):  # bool is an int: a batch of flags too
        return np.asarray(values)
    return None


def text_codes(texts: Sequence[str]) -> np.ndarray:
    """Strings as a [len(texts), longest] array of code points, zero-padded."""
    codes = np.zeros((len(texts), max(map(len, texts), default=0)), dtype=np.int64)
    for row, text in enumerate(texts):
        codes[row, : len(text)] = [ord(character) for character in text]
    return codes


def named_arrays(outputs: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Flatten `{key: tensor | tuple | list | dict}` into `{key: array}`, `key_0, key_1` or `key/name`; a list
    of plain strings or numbers is one array (`plain_values`)."""
    arrays: dict[str, np.ndarray] = {}
    for key, value in outputs.items():
        if isinstance(value, Mapping):
            arrays.update(named_arrays({f"{key}/{name}": item for name, item in value.items()}))
        elif isinstance(value, (tuple, list)) and (plain := plain_values(value)) is not None:
            arrays[key] = plain
        elif isinstance(value, (tuple, list)):
            arrays.update(named_arrays({f"{key}_{index}": item for index, item in enumerate(value)}))
        elif isinstance(value, str):  # a lone string (a batch of one text): its code points
            arrays[key] = text_codes([value])[0]
        elif value is not None:
            arrays[key] = to_numpy(value)
    return arrays


def primary(output: Any) -> Any:
    """The logits of a model's output: the tensor itself, the first of a tuple, or a dict's "logits"."""
    if isinstance(output, Mapping):
        return output["logits"] if "logits" in output else next(iter(output.values()))
    if isinstance(output, (tuple, list)):
        return output[0]
    return output


# Outputs that are caches for the next call, not results: they differ in layout between libraries.
CACHE_OUTPUT_NAMES = ("past_key_values", "cache", "mems")
_POSITIONAL = re.compile(r"^output_(\d+)")


def model_outputs(output: Any) -> dict[str, np.ndarray]:
    """A model's output as named arrays: a tensor is `logits`, a dict (HF `ModelOutput` included) keeps its
    keys in its own order, a tuple or list is `output_0, output_1, ...`; nested structures are joined with
    `/` and `_`. A hook's dict of outputs (the generated script's) keeps its keys the same way."""
    if isinstance(output, Mapping):
        return named_arrays(output)
    if isinstance(output, (tuple, list)):
        return named_arrays({f"output_{index}": item for index, item in enumerate(output)})
    return named_arrays({"logits": output})


def pair_outputs(
    ref: dict[str, np.ndarray], paddle: dict[str, np.ndarray], names: Sequence[str] = ()
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[str]]:
    """Both sides' outputs under one set of names, with notes on what was done.

    Model libraries of the two frameworks often differ in output structure (a `ModelOutput` with
    `.logits` against a plain tuple): when the keys differ but the counts agree, the outputs are paired by
    position and named by the side that has names. `names` (`[outputs] names`) renames both sides by
    position. Cache-like outputs (`past_key_values`) are left out: their layout is the library's business.
    """
    notes: list[str] = []
    ref, paddle = _without_caches(ref, notes, "reference"), _without_caches(paddle, notes, "paddle")
    if names:
        return _renamed(ref, names, notes, "reference"), _renamed(paddle, names, notes, "paddle"), notes
    if set(ref) == set(paddle) or len(ref) != len(paddle):
        return ref, paddle, notes
    ref_positional = all(_POSITIONAL.match(key) for key in ref)
    paddle_positional = all(_POSITIONAL.match(key) for key in paddle)
    if paddle_positional and not ref_positional:
        paddle = dict(zip(ref, paddle.values(), strict=True))
        notes.append(f"paddle outputs paired by position and named after the reference's: {', '.join(ref)}")
    elif ref_positional and not paddle_positional:
        ref = dict(zip(paddle, ref.values(), strict=True))
        notes.append(f"reference outputs paired by position and named after paddle's: {', '.join(paddle)}")
    return ref, paddle, notes


def _without_caches(outputs: dict[str, np.ndarray], notes: list[str], side: str) -> dict[str, np.ndarray]:
    kept = {key: value for key, value in outputs.items() if not _is_cache(key)}
    if len(kept) != len(outputs):
        skipped = sorted({_is_cache(key) or "" for key in outputs if key not in kept})
        notes.append(f"{side} cache outputs not compared ({', '.join(skipped)}): their layout is the library's")
    return kept


def _is_cache(key: str) -> str | None:
    """The cache name a key's top-level output carries (`past_key_values`, `past_key_values_0`, `mems/1`),
    matched as a whole name, not anywhere in the key: `cache_logits` is a result."""
    top = key.split("/")[0]
    return next((name for name in CACHE_OUTPUT_NAMES if re.fullmatch(rf"{name}(_\d+)*", top)), None)


def _renamed(
    outputs: dict[str, np.ndarray], names: Sequence[str], notes: list[str], side: str
) -> dict[str, np.ndarray]:
    if len(names) != len(outputs):
        notes.append(f"[outputs] names has {len(names)} names but the {side} model returns {len(outputs)} outputs")
        return outputs
    return dict(zip(names, outputs.values(), strict=True))
