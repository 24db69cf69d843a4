"""The demo's reference data pipeline: ImageNet eval preprocessing in PIL + numpy + torch.

Written without torchvision (not a dependency of the demo) but step for step what
`Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(mean, std)` does there, so the Paddle
pipeline in `demo_port.paddle_data` can be checked against it to the last bit.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "bilinear": Image.Resampling.BILINEAR,
    "bicubic": Image.Resampling.BICUBIC,
}


def resize_short_side(image: Image.Image, size: int, interpolation: str = "bilinear") -> Image.Image:
    """Scale so the short side is `size`; the long side is truncated to int, as torchvision does."""
    width, height = image.size
    new_size = (size, int(size * height / width)) if width <= height else (int(size * width / height), size)
    return image.resize(new_size, _RESAMPLING[interpolation])


def center_crop(image: Image.Image, size: int) -> Image.Image:
    """Cut the central `size` x `size` square, rounding the offsets like torchvision."""
    width, height = image.size
    top = int(round((height - size) / 2.0))
    left = int(round((width - size) / 2.0))
    return image.crop((left, top, left + size, top + size))


def to_normalized_tensor(image: Image.Image) -> torch.Tensor:
    """HWC uint8 -> CHW float32 in [0, 1] -> (x - mean) / std per channel."""
    chw = torch.from_numpy(np.asarray(image, dtype=np.uint8).copy()).permute(2, 0, 1)
    scaled = chw.to(torch.float32).div(255)
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float32).view(-1, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float32).view(-1, 1, 1)
    return scaled.sub(mean).div(std)


class ImageListDataset(Dataset):
    """(image path, label) pairs decoded with PIL as RGB (some photographs are greyscale)."""

    def __init__(self, samples: list[tuple[str, int]], resize: int, crop: int, interpolation: str) -> None:
        if interpolation not in _RESAMPLING:
            raise ValueError(f"interpolation must be one of {sorted(_RESAMPLING)}, got {interpolation!r}")
        self.samples = list(samples)
        self.resize = resize
        self.crop = crop
        self.interpolation = interpolation

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        with Image.open(path) as source:
            image = source.convert("RGB")
        image = center_crop(resize_short_side(image, self.resize, self.interpolation), self.crop)
        return to_normalized_tensor(image), int(label)


def build_dataset(
    samples: list[tuple[str, int]], resize: int = 256, crop: int = 224, interpolation: str = "bilinear"
) -> Dataset:
    """The reference eval dataset over `samples` (paths absolute or relative to the working directory)."""
    return ImageListDataset(samples, resize, crop, interpolation)
