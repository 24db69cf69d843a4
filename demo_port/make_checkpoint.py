"""Create the demo's reference checkpoint, `weights/reference.pth`, deterministically.

A real port starts from a trained PyTorch checkpoint; the demo makes one in seconds instead of shipping
45 MB: the seeded init, a few steps of SGD on the small data set, then the BatchNorm running statistics
those steps leave behind. The result is a genuine checkpoint file (loaded, converted and verified by the
checks like any other), with weights and statistics no default init would have.

    python -m demo_port.make_checkpoint [--out weights/reference.pth] [--seed 33] [--steps 3]
"""

from __future__ import annotations

from pathlib import Path

import torch

from demo_port.torch_data import build_dataset
from demo_port.torch_model import resnet18
from demo_port.training import command_line, train_and_save
from paddle_port_checks.samples import read_list_file


def make_checkpoint(out: Path, list_file: Path, seed: int = 33, steps: int = 3) -> Path:
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    model = resnet18(num_classes=10)
    dataset = build_dataset(read_list_file(list_file, list_file.parent))
    images = torch.stack([dataset[index][0] for index in range(len(dataset))])
    labels = torch.tensor([dataset[index][1] for index in range(len(dataset))])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    return train_and_save(model, images, labels, optimizer, steps, out)


if __name__ == "__main__":
    command_line(make_checkpoint, __doc__, "lite_data.txt", 3)
