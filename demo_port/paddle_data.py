"""The demo's Paddle data pipeline: ImageNet eval preprocessing with paddle.vision.transforms (PIL).

The twin of `demo_port.torch_data`. `interpolation` is exposed so a test can build the classic
mistake (a different resize filter) and see the data check catch it.
"""

from __future__ import annotations

import numpy as np
from paddle.io import Dataset
from paddle.vision import transforms
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ImageListDataset(Dataset):
    """(image path, label) pairs decoded with PIL as RGB (some photographs are greyscale)."""

    def __init__(self, samples: list[tuple[str, int]], resize: int, crop: int, interpolation: str) -> None:
        super().__init__()
        self.samples = list(samples)
        # PIL images in, so every transform below takes its PIL branch (the 'pil' backend).
        self.transform = transforms.Compose(
            [
                transforms.Resize(resize, interpolation=interpolation),
                transforms.CenterCrop(crop),
                transforms.ToTensor(data_format="CHW"),
                transforms.Normalize(mean=IMAGENET_MEAN, std=IMAGENET_STD, data_format="CHW"),
            ]
        )

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]:
        path, label = self.samples[index]
        with Image.open(path) as source:
            image = source.convert("RGB")
        # numpy out: the DataLoader batches it, and workers never hand paddle Tensors across processes.
        return self.transform(image).numpy().astype(np.float32, copy=False), int(label)


def build_dataset(
    samples: list[tuple[str, int]], resize: int = 256, crop: int = 224, interpolation: str = "bilinear"
) -> Dataset:
    """The Paddle eval dataset over `samples` (paths absolute or relative to the working directory)."""
    return ImageListDataset(samples, resize, crop, interpolation)
