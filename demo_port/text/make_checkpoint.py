"""Create the text demo's reference checkpoint, `weights/reference.pth`, deterministically, in seconds.

The seeded BERT-style init, then a few Adam steps on the small sentence set (dropout on, as in training):
a genuine checkpoint whose weights no default init would give, converted and verified like any other.

    python -m demo_port.text.make_checkpoint [--out weights/reference.pth] [--seed 33] [--steps 5]
"""

from __future__ import annotations

import argparse
import io
import os
from pathlib import Path

import torch

from demo_port.text.torch_data import build_dataset
from demo_port.text.torch_model import text_classifier
from paddle_port_checks.samples import read_list_file


def make_checkpoint(out: Path, list_file: Path, seed: int = 33, steps: int = 5) -> Path:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = text_classifier()
    dataset = build_dataset(read_list_file(list_file, list_file.parent))
    items = [dataset[index] for index in range(len(dataset))]
    inputs = {name: torch.stack([item[0][name] for item in items]) for name in ("input_ids", "attention_mask")}
    labels = torch.tensor([item[1] for item in items])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(**inputs), labels).backward()
        optimizer.step()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f"{out.name}.{os.getpid()}.partial")
    partial.write_bytes(buffer.getvalue())
    partial.replace(out)  # never a half-written checkpoint under the real name
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("weights/reference.pth"))
    parser.add_argument("--list", type=Path, default=Path("lite_text.txt"))
    parser.add_argument("--seed", type=int, default=33)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    print(f"wrote {make_checkpoint(args.out, args.list, args.seed, args.steps)}")


if __name__ == "__main__":
    main()
