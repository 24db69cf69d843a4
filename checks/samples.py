"""The small data set: a PaddleClas list file (`path/to/image.jpg <label>`) or an ImageFolder tree.

Both sides' dataset factories receive the same parsed `(image path, label)` list, so a difference in
step 2 comes from the pipelines, never from two readers of the list disagreeing.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
Sample = tuple[str, int]


class SamplesError(ValueError):
    """A list file or folder that cannot be read as samples; names the file and line."""


def read_list_file(list_file: Path, root: Path) -> list[Sample]:
    """Parse `relative/path.jpg <label>` lines; blank lines and `#` comments are skipped."""
    samples: list[Sample] = []
    for number, line in enumerate(list_file.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.rsplit(maxsplit=1)
        if len(parts) != 2 or not parts[1].lstrip("-").isdigit():
            raise SamplesError(f"{list_file}:{number}: expected '<image path> <integer label>', got {text!r}")
        image = (root / parts[0]).resolve()
        if not image.is_file():
            raise SamplesError(f"{list_file}:{number}: image not found: {image}")
        samples.append((str(image), int(parts[1])))
    if not samples:
        raise SamplesError(f"{list_file}: no samples (expected lines '<image path> <integer label>')")
    return samples


def read_image_folder(folder: Path) -> list[Sample]:
    """ImageFolder layout: one sub-folder per class, labels by sorted class name (torchvision's rule)."""
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    samples = [
        (str(image.resolve()), label)
        for label, name in enumerate(classes)
        for image in sorted((folder / name).iterdir())
        if image.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not samples:
        raise SamplesError(f"{folder}: no images in class sub-folders (expected {folder}/<class>/<image>.jpg)")
    return samples


def read_samples(source: Path, root: Path) -> list[Sample]:
    """Samples from a list file, or from an ImageFolder directory (`lite_data/val`, say)."""
    if source.is_dir():
        return read_image_folder(source)
    if not source.is_file():
        raise SamplesError(f"{source}: data list not found (expected a list file or an ImageFolder directory)")
    return read_list_file(source, root)
