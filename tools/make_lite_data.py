"""Regenerate the demo's small data set from the photographs shipped in the scikit-image wheel.

Why a script: the images in `lite_data/images/` must have a provenance anyone can check. Running
`python tools/make_lite_data.py` from the repository root rewrites `lite_data/images/*.jpg`,
`lite_data.txt` and `lite_data/LICENSES.md` from the installed scikit-image, and refuses to run if the
licence text quoted below no longer appears in that version's docstrings.
"""

from __future__ import annotations

import argparse
import inspect
import re
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

SHORT_SIDE = 288
JPEG_QUALITY = 85
EXPECTED_SKIMAGE = "0.26.0"

# The demo's 10-class scheme: coarse scene categories that each photograph plainly belongs to.
CLASSES: tuple[str, ...] = (
    "person",
    "cat",
    "cup",
    "rocket",
    "deep space",
    "brick wall",
    "grass",
    "gravel",
    "coins",
    "medical image",
)


@dataclass(frozen=True)
class Photo:
    """One photograph of the set: where it comes from, its class, and its licence as skimage states it."""

    name: str
    source: str  # file name in skimage/data/
    loader: str  # the skimage.data function whose docstring documents the file
    label: int
    licence: str  # quoted verbatim (modulo line breaks) from the loader's docstring
    credit: str  # quoted verbatim (modulo line breaks) from the loader's docstring


PHOTOS: tuple[Photo, ...] = (
    Photo(
        "astronaut",
        "astronaut.png",
        "astronaut",
        0,
        "No known copyright restrictions, released into the public domain.",
        "This image was downloaded from the NASA Great Images database <https://flic.kr/p/r9qvLn>`__.",
    ),
    Photo(
        "camera",
        "camera.png",
        "camera",
        0,
        "No copyright restrictions. CC0 by the photographer (Lav Varshney).",
        "Lav Varshney",
    ),
    Photo(
        "chelsea",
        "chelsea.png",
        "chelsea",
        1,
        "No copyright restrictions. CC0 by the photographer (Stefan van der Walt).",
        "Stefan van der Walt",
    ),
    Photo(
        "coffee",
        "coffee.png",
        "coffee",
        2,
        "No copyright restrictions. CC0 by the photographer (Rachel Michetti).",
        "This photograph is courtesy of Pikolo Espresso Bar.",
    ),
    Photo(
        "rocket",
        "rocket.jpg",
        "rocket",
        3,
        "The image was captured by SpaceX and `released in the public domain "
        "<http://arstechnica.com/tech-policy/2015/03/elon-musk-puts-spacex-photos-into-the-public-domain/>`_.",
        "This image was downloaded from `SpaceX Photos "
        "<https://www.flickr.com/photos/spacexphotos/16511594820/in/photostream/>`__.",
    ),
    Photo(
        "hubble_deep_field",
        "hubble_deep_field.jpg",
        "hubble_deep_field",
        4,
        "The image was captured by NASA and `may be freely used in the public domain "
        "<http://www.nasa.gov/audience/formedia/features/MP_Photo_Guidelines.html>`_.",
        "This image was downloaded from `HubbleSite "
        "<http://hubblesite.org/newscenter/archive/releases/2012/37/image/a/>`__.",
    ),
    Photo(
        "brick",
        "brick.png",
        "brick",
        5,
        "Creative Commons CC0 License.",
        "The original image was downloaded from `CC0Textures <https://cc0textures.com/view.php?tex=Bricks25>`_",
    ),
    Photo(
        "grass",
        "grass.png",
        "grass",
        6,
        "Creative Commons CC0 License.",
        "The original image was downloaded from `DeviantArt "
        "<https://www.deviantart.com/linolafett/art/Grass-01-434853879>`__",
    ),
    Photo(
        "gravel",
        "gravel.png",
        "gravel",
        7,
        "Creative Commons CC0 License.",
        "The original image was downloaded from `CC0Textures <https://cc0textures.com/view.php?tex=Gravel04>`__",
    ),
    Photo(
        "coins",
        "coins.png",
        "coins",
        8,
        "No known copyright restrictions.",
        "This image was downloaded from the `Brooklyn Museum Collection "
        "<https://www.brooklynmuseum.org/opencollection/archives/image/51611>`__.",
    ),
    Photo(
        "retina",
        "retina.jpg",
        "retina",
        9,
        "This file is made available under the Creative Commons CC0 1.0 Universal Public Domain Dedication.",
        "This image was downloaded from `wikimedia "
        "<https://commons.wikimedia.org/wiki/File:Fundus_photograph_of_normal_left_eye.jpg>`.",
    ),
    Photo(
        "ihc",
        "ihc.png",
        "immunohistochemistry",
        9,
        "No known copyright restrictions.",
        "This image was acquired at the Center for Microscopy And Molecular Imaging (CMMI).",
    ),
)


def _plain(rst: str) -> str:
    """Turn reStructuredText links (`text <url>`_) into Markdown-safe `text (url)`."""
    linked = re.sub(r"`([^`<]*?)\s*<([^>]+)>`_*", r"\1 (\2)", rst)
    return re.sub(r"`_*", "", linked)  # a link target whose opening backtick the docstring lacks


def _flat(text: str) -> str:
    """Collapse whitespace so quotes survive the docstrings' line wrapping."""
    return re.sub(r"\s+", " ", text).strip()


def _docstring(loader: str) -> str:
    import skimage.data

    return _flat(inspect.getdoc(getattr(skimage.data, loader)) or "")


def check_provenance(photos: tuple[Photo, ...] = PHOTOS) -> None:
    """Fail loudly when a quoted licence or credit is not in the installed scikit-image's docstrings."""
    for photo in photos:
        doc = _docstring(photo.loader)
        for quote in (photo.licence, photo.credit):
            if _flat(quote) not in doc:
                raise SystemExit(f"{photo.loader}: quoted text not found in its docstring: {quote!r}")


def shrink(image: Image.Image, short_side: int = SHORT_SIDE) -> Image.Image:
    """Resize so the short side is `short_side`, keeping greyscale photographs greyscale (mode L)."""
    image = image.convert("L" if image.mode in ("L", "1", "I", "I;16") else "RGB")
    width, height = image.size
    scale = short_side / min(width, height)
    size = (max(short_side, round(width * scale)), max(short_side, round(height * scale)))
    return image.resize(size, Image.Resampling.LANCZOS)


def _licences_markdown(skimage_version: str) -> str:
    lines = [
        "# lite_data: provenance and licences",
        "",
        f"Twelve photographs from the scikit-image {skimage_version} wheel (`skimage/data/`),",
        f"shrunk so the short side is {SHORT_SIDE} px (Lanczos) and saved as JPEG quality {JPEG_QUALITY};",
        "greyscale sources stay greyscale (the data pipelines convert to RGB).",
        "Regenerate with `python tools/make_lite_data.py`.",
        "Licence and credit are quoted from the docstrings of `skimage/data/_fetchers.py`.",
        "",
        "## Class scheme (10 classes, labels in `lite_data.txt`)",
        "",
        "| label | class |",
        "|---|---|",
        *(f"| {label} | {name} |" for label, name in enumerate(CLASSES)),
        "",
        "## Images",
        "",
        "| file | source in scikit-image | label | licence (as stated) | credit (as stated) |",
        "|---|---|---|---|---|",
    ]
    for photo in PHOTOS:
        lines.append(
            f"| `images/{photo.name}.jpg` | `skimage/data/{photo.source}` (`skimage.data.{photo.loader}`) "
            f"| {photo.label} ({CLASSES[photo.label]}) | {_plain(photo.licence)} "
            f"| {_plain(photo.credit)} |"
        )
    return "\n".join(lines) + "\n"


def make_lite_data(repo_root: Path) -> list[Path]:
    """Write the images, the PaddleClas list file and LICENSES.md under `repo_root`; return the images."""
    import skimage
    import skimage.data

    check_provenance()
    source_dir = Path(skimage.data.__file__).parent
    image_dir = repo_root / "lite_data" / "images"
    image_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for photo in PHOTOS:
        target = image_dir / f"{photo.name}.jpg"
        with Image.open(source_dir / photo.source) as source:
            shrink(source).save(target, "JPEG", quality=JPEG_QUALITY)
        written.append(target)
    list_lines = [f"lite_data/images/{photo.name}.jpg {photo.label}" for photo in PHOTOS]
    (repo_root / "lite_data.txt").write_text("\n".join(list_lines) + "\n", encoding="utf-8")
    licences = _licences_markdown(skimage.__version__)
    (repo_root / "lite_data" / "LICENSES.md").write_text(licences, encoding="utf-8")
    return written


def main() -> None:
    import skimage

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    if skimage.__version__ != EXPECTED_SKIMAGE:
        print(f"warning: scikit-image {skimage.__version__}; committed files: {EXPECTED_SKIMAGE}")
    images = make_lite_data(args.root)
    total = sum(path.stat().st_size for path in images)
    print(f"wrote {len(images)} images, {total} bytes, under {args.root / 'lite_data'}")


if __name__ == "__main__":
    main()
