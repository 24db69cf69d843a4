"""Write a bundled demo port (a model pair, its small data set, its config, its scripts) anywhere.

Three demos, one per model family a porter meets: `resnet` (an image classifier: the repository root is
itself its workspace), `text` (a Transformer sentence classifier with two integer inputs) and `sequence`
(a BiLSTM + GRU over float sequences). `paddle-port demo DIR` copies one out so a newcomer can run every
step, break the Paddle twin on purpose and watch the checks catch it, without touching the original.
Existing files are never overwritten: a different file at a target path stops the copy, named.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from paddle_port_checks.catalogue import STEPS
from paddle_port_checks.config import CONFIG_NAME

SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}


@dataclass(frozen=True)
class DemoModel:
    """What one demo's workspace holds, relative to the source root, and how its checkpoint is made."""

    entries: tuple[str, ...]  # files, and folders copied whole (minus caches and `excluded`)
    config: str  # its config, written as paddle_port.toml at the workspace root
    checkpoint_module: str  # `python -m <it> --out weights/reference.pth`, run in the workspace
    excluded: tuple[str, ...] = ()  # folders inside an entry that belong to another demo
    # The steps `demo --headless` runs: the resnet demo is a complete TIPC port, the others have no TIPC programs.
    steps: tuple[str, ...] = ()  # () = every step


# Every step but the TIPC test, which runs a port's own train/export/infer programs.
CHECK_STEPS = tuple(step.id for step in STEPS if step.id != "tipc")

DEMOS: dict[str, DemoModel] = {
    "resnet": DemoModel(
        entries=("demo_port", "lite_data", "lite_data.txt"),
        config=CONFIG_NAME,
        checkpoint_module="demo_port.make_checkpoint",
        excluded=("demo_port/text", "demo_port/sequence"),
    ),
    "text": DemoModel(
        entries=("demo_port/__init__.py", "demo_port/training.py", "demo_port/text", "lite_text", "lite_text.txt"),
        config="demo_port/text/paddle_port.toml",
        checkpoint_module="demo_port.text.make_checkpoint",
        steps=CHECK_STEPS,
    ),
    "sequence": DemoModel(
        entries=("demo_port/__init__.py", "demo_port/training.py", "demo_port/sequence", "lite_seq", "lite_seq.txt"),
        config="demo_port/sequence/paddle_port.toml",
        checkpoint_module="demo_port.sequence.make_checkpoint",
        steps=CHECK_STEPS,
    ),
}
DEMO_MODELS = tuple(DEMOS)


class DemoError(RuntimeError):
    """The demo cannot be written: an unknown model, its sources not found, or target files differ (named)."""


def demo_model(model: str) -> DemoModel:
    try:
        return DEMOS[model]
    except KeyError:
        raise DemoError(f"unknown demo model {model!r}; expected one of: {', '.join(DEMO_MODELS)}") from None


def demo_source(model: str = "resnet") -> Path:
    """The folder holding the demo's files.

    A source or editable install has them next to the package (`paddle_port_tui/..`); a wheel install
    finds them under `<prefix>/share/paddle-port/demo`, where the distribution ships them as data files.
    """
    import paddle_port_tui

    demo = demo_model(model)
    needed = (*demo.entries, demo.config)
    candidates = [
        Path(paddle_port_tui.__file__).resolve().parents[1],
        Path(sys.prefix) / "share" / "paddle-port" / "demo",
    ]
    for candidate in candidates:
        if all((candidate / entry).exists() for entry in needed):
            return candidate
    raise DemoError(
        f"the {model} demo's files ("
        + ", ".join(needed)
        + ") were not found in: "
        + ", ".join(str(c) for c in candidates)
    )


def demo_files(source: Path, model: str = "resnet") -> dict[str, bytes]:
    """Relative path -> content of every file the demo workspace gets, rendered scripts included."""
    from paddle_port_tui.generate import render_script

    demo = demo_model(model)
    files: dict[str, bytes] = {}
    for entry in demo.entries:
        path = source / entry
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in paths:
            relative = file.relative_to(source).as_posix()
            if _belongs(relative, demo):
                files[relative] = file.read_bytes()
    files[CONFIG_NAME] = (source / demo.config).read_bytes()
    for step in STEPS:
        files[step.script] = render_script(step).encode("utf-8")
    return files


def _belongs(relative: str, demo: DemoModel) -> bool:
    """A file of this demo: not a cache, not another demo's, not the config (written at the root instead)."""
    parts = relative.split("/")
    return (
        SKIPPED_PARTS.isdisjoint(parts)
        and not relative.endswith(".pyc")
        and relative != demo.config
        and not any(relative.startswith(folder + "/") for folder in demo.excluded)
    )


def write_demo(dest: Path, model: str = "resnet") -> Path:
    """Write the demo workspace into `dest` (created if needed) and return it; identical files are fine."""
    dest = Path(dest).expanduser().resolve()
    files = demo_files(demo_source(model), model)
    conflicts = [
        name
        for name, content in files.items()
        if (dest / name).exists() and (not (dest / name).is_file() or (dest / name).read_bytes() != content)
    ]
    if conflicts:
        shown = ", ".join(conflicts[:8]) + (f" and {len(conflicts) - 8} more" if len(conflicts) > 8 else "")
        raise DemoError(f"{dest} already holds different files, left untouched: {shown}")
    for name, content in files.items():
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists():
            target.write_bytes(content)
    return dest


CHECKPOINT = "weights/reference.pth"


def make_checkpoint(root: Path, python: str, model: str = "resnet") -> Path | None:
    """Create the demo's reference checkpoint with the porter's interpreter (the app imports no torch).

    Returns the path when it had to be made, None when it was there already. Seconds (about ten for the
    ResNet): the seeded init after a few optimizer steps on the small data set (`<demo>/make_checkpoint.py`).
    """
    import subprocess

    target = Path(root) / CHECKPOINT
    if target.is_file():
        return None
    command = [python, "-m", demo_model(model).checkpoint_module, "--out", CHECKPOINT]
    done = subprocess.run(command, cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise DemoError(f"could not create the demo checkpoint with {python}:\n{tail}")
    return target
