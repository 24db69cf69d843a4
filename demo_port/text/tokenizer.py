"""The text demo's tokenizer: lower-case words looked up in a fixed vocabulary, padded to a fixed length.

Pure Python and numpy, shared by both data pipelines, so step 2 compares the two frameworks' batching and
nothing else: a port whose two pipelines tokenised differently would be a port with two tokenizers. The
vocabulary is a committed file (`vocab.txt`, one token a line, the line number is the id), not rebuilt from
the data, so adding a sentence never renumbers the words a trained checkpoint already knows.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import numpy as np

VOCAB_FILE = Path(__file__).with_name("vocab.txt")
PAD_ID = 0  # the Embedding's padding_idx: its row is zero and learns nothing
UNK_ID = 1
MAX_LENGTH = 16
_WORD = re.compile(r"[a-z0-9']+")


@cache
def vocabulary(path: Path = VOCAB_FILE) -> dict[str, int]:
    """Token -> id, read once: line 0 is [PAD], line 1 is [UNK]."""
    tokens = path.read_text(encoding="utf-8").split()
    if tokens[:2] != ["[PAD]", "[UNK]"]:
        raise ValueError(f"{path}: must start with [PAD] and [UNK], got {tokens[:2]}")
    return {token: index for index, token in enumerate(tokens)}


def words(text: str) -> list[str]:
    """Lower-case words; punctuation is a separator, apostrophes stay inside a word."""
    return _WORD.findall(text.lower())


def encode(text: str, max_length: int = MAX_LENGTH) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), both int64 [max_length]: truncated or padded with PAD_ID, mask 1 = a word."""
    vocab = vocabulary()
    ids = [vocab.get(word, UNK_ID) for word in words(text)][:max_length]
    input_ids = np.full(max_length, PAD_ID, dtype=np.int64)
    input_ids[: len(ids)] = ids
    attention_mask = np.zeros(max_length, dtype=np.int64)
    attention_mask[: len(ids)] = 1
    return input_ids, attention_mask


def read_sentence(path: str) -> str:
    """One sentence per file (the samples contract lists files): the whole file, as UTF-8."""
    return Path(path).read_text(encoding="utf-8")
