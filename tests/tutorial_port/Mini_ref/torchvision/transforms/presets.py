"""The eval preset: resize the short side, centre crop, scale to [0, 1], normalise. PIL and numpy do the
work (no real torchvision), the result is a CHW float32 torch tensor."""

import numpy as np
import torch
from PIL import Image

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ClassificationPresetEval:
    def __init__(self, crop_size: int = 64, resize_size: int = 72, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> None:
        self.crop_size, self.resize_size = crop_size, resize_size
        self.mean = np.asarray(mean, dtype=np.float32).reshape(-1, 1, 1)
        self.std = np.asarray(std, dtype=np.float32).reshape(-1, 1, 1)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        width, height = image.size
        scale = self.resize_size / min(width, height)
        image = image.resize((round(width * scale), round(height * scale)), Image.Resampling.BILINEAR)
        left = (image.size[0] - self.crop_size) // 2
        top = (image.size[1] - self.crop_size) // 2
        image = image.crop((left, top, left + self.crop_size, top + self.crop_size))
        chw = np.asarray(image, dtype=np.float32).transpose(2, 0, 1) / 255.0
        return torch.from_numpy((chw - self.mean) / self.std)
