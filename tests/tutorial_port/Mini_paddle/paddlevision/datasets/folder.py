"""ImageFolder: `root/<class>/<image>`, classes numbered in sorted order, images read as RGB."""

from pathlib import Path

from paddle.io import Dataset
from PIL import Image


class ImageFolder(Dataset):
    def __init__(self, root: str, transform=None) -> None:
        super().__init__()
        self.classes = sorted(entry.name for entry in Path(root).iterdir() if entry.is_dir())
        self.samples = [
            (str(path), label)
            for label, name in enumerate(self.classes)
            for path in sorted((Path(root) / name).iterdir())
            if path.suffix.lower() in (".jpg", ".jpeg", ".png")
        ]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        path, label = self.samples[index]
        with Image.open(path) as image:
            image = image.convert("RGB")  # some photographs are greyscale
        return (self.transform(image) if self.transform else image), label
