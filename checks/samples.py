"""The small data set: a list file (`path/to/image.jpg <label>`), an ImageFolder tree, a tsv or a jsonl.

Both sides' dataset factories receive the same parsed `(image path, label)` list, so a difference in
step 2 comes from the pipelines, never from two readers of the list disagreeing.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
ARRAY_SUFFIXES = {".npy", ".npz"}  # a feature-array data set: one array file per sample
# (what the dataset factory reads, label): an absolute file path (images, .txt, .npy), a sentence (tsv) or
# a JSON object (jsonl).
Sample = tuple[Any, int]
DATA_FORMATS = ("auto", "list", "folder", "tsv", "jsonl")


class SamplesError(ValueError):
    """A list file or folder that cannot be read as samples; names the file and line."""


def read_list_file(list_file: Path, root: Path) -> list[Sample]:
    """Parse `relative/path.jpg <label>` lines; blank lines and `#` comments are skipped."""
    samples: list[Sample] = []
    for number, line in enumerate(_lines(list_file), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        parts = text.rsplit(maxsplit=1)
        label = _class_index(parts[1], f"{list_file}:{number}") if len(parts) == 2 else None
        if label is None:
            raise SamplesError(f"{list_file}:{number}: expected '<image path> <integer label>', got {text!r}")
        image = (root / parts[0]).resolve()
        if not image.is_file():
            raise SamplesError(f"{list_file}:{number}: image not found: {image}")
        samples.append((str(image), label))
    if not samples:
        raise SamplesError(f"{list_file}: no samples (expected lines '<image path> <integer label>')")
    return samples


def read_image_folder(folder: Path) -> list[Sample]:
    """ImageFolder layout: one sub-folder per class, labels by sorted class name (torchvision's rule); the
    files are images or arrays (.npy, .npz)."""
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir())
    samples = [
        (str(image.resolve()), label)
        for label, name in enumerate(classes)
        for image in sorted((folder / name).iterdir())
        if image.suffix.lower() in IMAGE_SUFFIXES | ARRAY_SUFFIXES
    ]
    if not samples:
        raise SamplesError(
            f"{folder}: no images or arrays in class sub-folders (expected {folder}/<class>/<image>.jpg or .npy)"
        )
    return samples


def read_tsv(list_file: Path) -> list[Sample]:
    """`text<TAB>label` lines (the text itself is the sample); blank lines and `#` comments are skipped."""
    samples: list[Sample] = []
    for number, line in enumerate(_lines(list_file), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        text, tab, label_text = line.rpartition("\t")
        label = _class_index(label_text.strip(), f"{list_file}:{number}") if tab else None
        if label is None:
            raise SamplesError(f"{list_file}:{number}: expected '<text><TAB><integer label>', got {line!r}")
        samples.append((text, label))
    return _not_empty(samples, list_file, "'<text><TAB><integer label>'")


def read_jsonl(list_file: Path, label_field: str) -> list[Sample]:
    """One JSON object a line; the object is the sample, its `label_field` the label."""
    samples: list[Sample] = []
    for number, line in enumerate(_lines(list_file), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise SamplesError(f"{list_file}:{number}: not a JSON object: {error}") from None
        label = record.get(label_field) if isinstance(record, dict) else None
        if not isinstance(label, int) or isinstance(label, bool):
            raise SamplesError(
                f"{list_file}:{number}: expected an object with an integer {label_field!r}, got {line!r}"
            )
        _class_index(str(label), f"{list_file}:{number}")
        samples.append((record, label))
    return _not_empty(samples, list_file, f"JSON objects with an integer {label_field!r}")


def _class_index(text: str, where: str) -> int | None:
    """A label as written, as the class index it is; None when it is not an integer (the caller says what
    was expected). A negative one is refused here: labels index the classes, and -1 would silently pick
    the last one in an accuracy, or fail deep inside a loss."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    label = int(text)
    if label < 0:
        raise SamplesError(f"{where}: label {label} is negative: labels index the classes (0, 1, ...)")
    return label


def _lines(list_file: Path) -> list[str]:
    data = list_file.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a BOM is not part of the first line
    try:
        return data.decode("utf-8").splitlines()
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        byte = data[error.start : error.start + 1].hex()
        raise SamplesError(
            f"{list_file}:{line}: not UTF-8 text (byte 0x{byte}: {error.reason}); save the list as UTF-8"
        ) from None


def _not_empty(samples: list[Sample], list_file: Path, expected: str) -> list[Sample]:
    if not samples:
        raise SamplesError(f"{list_file}: no samples (expected {expected})")
    return samples


def read_samples(source: Path, root: Path, data_format: str = "auto", label_field: str = "label") -> list[Sample]:
    """Samples from a list file (PaddleClas `path label`, tsv, jsonl) or an ImageFolder directory."""
    if data_format == "auto":
        data_format = "folder" if source.is_dir() else {".tsv": "tsv", ".jsonl": "jsonl"}.get(source.suffix, "list")
    if data_format == "folder":
        if not source.is_dir():
            raise SamplesError(f"{source}: not a directory (expected an ImageFolder layout)")
        return read_image_folder(source)
    if not source.is_file():
        raise SamplesError(f"{source}: data list not found (expected a list file or an ImageFolder directory)")
    if data_format == "tsv":
        return read_tsv(source)
    if data_format == "jsonl":
        return read_jsonl(source, label_field)
    return read_list_file(source, root)
