"""Create the text demo's reference checkpoint, `weights/reference.pth`, deterministically, in seconds.

The seeded BERT-style init, then a few Adam steps on the small sentence set (dropout on, as in training):
a genuine checkpoint whose weights no default init would give, converted and verified like any other.

    python -m demo_port.text.make_checkpoint [--out weights/reference.pth] [--seed 33] [--steps 5]
"""

from __future__ import annotations

from pathlib import Path

import torch

from demo_port.text.torch_data import build_dataset
from demo_port.text.torch_model import text_classifier
from demo_port.training import command_line, train_and_save
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
    return train_and_save(model, inputs, labels, optimizer, steps, out)


if __name__ == "__main__":
    command_line(make_checkpoint, __doc__, "lite_text.txt", 5)
