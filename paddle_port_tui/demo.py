"""Write the bundled demo port (a ResNet-18 pair, its small data set, its config, its scripts) anywhere.

The repository root is itself the demo workspace; `paddle-port demo DIR` copies it out so a newcomer can
run every step, break the Paddle twin on purpose and watch the checks catch it, without touching the
original. Existing files are never overwritten: a different file at a target path stops the copy, named.
"""

from __future__ import annotations

import sys
from pathlib import Path

# What a demo workspace holds, relative to the source root: folders are copied whole (minus caches).
DEMO_ENTRIES = ("demo_port", "lite_data", "lite_data.txt", "paddle_port.toml")
SKIPPED_PARTS = {"__pycache__", ".pytest_cache"}


class DemoError(RuntimeError):
    """The demo cannot be written: its sources are not found, or target files differ (named)."""


def demo_source() -> Path:
    """The folder holding the demo's files.

    A source or editable install has them next to the package (`paddle_port_tui/..`); a wheel install
    would find them under `<prefix>/share/paddle-port/demo` if the distribution ships them as data files.
    """
    import paddle_port_tui

    candidates = [Path(paddle_port_tui.__file__).resolve().parents[1],
                  Path(sys.prefix) / "share" / "paddle-port" / "demo"]
    for candidate in candidates:
        if all((candidate / entry).exists() for entry in DEMO_ENTRIES):
            return candidate
    raise DemoError("the demo files (" + ", ".join(DEMO_ENTRIES) + ") were not found in: "
                    + ", ".join(str(c) for c in candidates))


def demo_files(source: Path) -> dict[str, bytes]:
    """Relative path -> content of every file the demo workspace gets, rendered scripts included."""
    from paddle_port_checks.catalogue import STEPS
    from paddle_port_tui.generate import render_script

    files: dict[str, bytes] = {}
    for entry in DEMO_ENTRIES:
        path = source / entry
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in paths:
            relative = file.relative_to(source)
            if SKIPPED_PARTS.isdisjoint(relative.parts) and file.suffix != ".pyc":
                files[relative.as_posix()] = file.read_bytes()
    for step in STEPS:
        files[step.script] = render_script(step).encode("utf-8")
    return files


def write_demo(dest: Path) -> Path:
    """Write the demo workspace into `dest` (created if needed) and return it; identical files are fine."""
    dest = Path(dest).expanduser().resolve()
    files = demo_files(demo_source())
    conflicts = [name for name, content in files.items()
                 if (dest / name).exists() and (not (dest / name).is_file() or (dest / name).read_bytes() != content)]
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


def make_checkpoint(root: Path, python: str) -> Path | None:
    """Create the demo's reference checkpoint with the porter's interpreter (the app imports no torch).

    Returns the path when it had to be made, None when it was there already. About ten seconds: the
    checkpoint is the seeded init after a few SGD steps on the small data set (demo_port/make_checkpoint.py).
    """
    import subprocess

    target = Path(root) / CHECKPOINT
    if target.is_file():
        return None
    command = [python, "-m", "demo_port.make_checkpoint", "--out", CHECKPOINT]
    done = subprocess.run(command, cwd=root, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-8:])
        raise DemoError(f"could not create the demo checkpoint with {python}:\n{tail}")
    return target
