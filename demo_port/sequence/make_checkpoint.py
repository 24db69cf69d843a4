"""Create the sequence demo's reference checkpoint, `weights/reference.pth`, deterministically, in seconds.

The seeded default init, then a few Adam steps on the small sequence set: a genuine checkpoint whose
weights no default init would give, converted and verified like any other.

    python -m demo_port.sequence.make_checkpoint [--out weights/reference.pth] [--seed 33] [--steps 10]
"""

from __future__ import annotations

from pathlib import Path

import torch

from demo_port.sequence.torch_data import build_dataset
from demo_port.sequence.torch_model import sequence_classifier
from demo_port.training import command_line, train_and_save
from paddle_port_checks.samples import read_list_file


def make_checkpoint(out: Path, list_file: Path, seed: int = 33, steps: int = 10) -> Path:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = sequence_classifier()
    dataset = build_dataset(read_list_file(list_file, list_file.parent))
    sequences = torch.stack([dataset[index][0] for index in range(len(dataset))])
    labels = torch.tensor([dataset[index][1] for index in range(len(dataset))])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    return train_and_save(model, sequences, labels, optimizer, steps, out)


if __name__ == "__main__":
    command_line(make_checkpoint, __doc__, "lite_seq.txt", 10)
