"""What the demos' checkpoint makers share: a few training steps on the whole small set, then the state dict
written atomically, and the command line of each `python -m demo_port[.<demo>].make_checkpoint`.

Its own module (torch only) so every demo workspace can carry it without the other demos' code.
"""

from __future__ import annotations

import argparse
import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch


def train_and_save(
    model: torch.nn.Module, inputs: Any, labels: torch.Tensor, optimizer: Any, steps: int, out: Path
) -> Path:
    """A few training steps on the whole small set (inputs: a batch, or a dict by input name), then the state
    dict written atomically: never a half-written checkpoint under the real name. Shared by the demos."""
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        logits = model(**inputs) if isinstance(inputs, dict) else model(inputs)
        torch.nn.functional.cross_entropy(logits, labels).backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.{os.getpid()}.partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(out)
    return out


def command_line(make: Callable[[Path, Path, int, int], Path], doc: str, data_list: str, steps: int) -> None:
    """`python -m demo_port[.<demo>].make_checkpoint [--out] [--list] [--seed] [--steps]`, for each demo."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("weights/reference.pth"))
    parser.add_argument("--list", type=Path, default=Path(data_list))
    parser.add_argument("--seed", type=int, default=33)
    parser.add_argument("--steps", type=int, default=steps)
    args = parser.parse_args()
    print(f"wrote {make(args.out, args.list, args.seed, args.steps)}")
