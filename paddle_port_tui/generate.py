"""Check scripts rendered from the templates into the porter's `test_tipc/`, without trampling edits.

Generated scripts belong to the porter. We remember the hash of what we last wrote, so we can tell a
script that only lags behind the template (`outdated`: safe to rewrite) from one the porter changed
(`edited`: rewritten only when forced, after a timestamped backup, with the diff shown first).
"""

from __future__ import annotations

import difflib
import hashlib
import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import jinja2

import paddle_port_templates
from paddle_port_checks.atomic import write_text_atomic

from .state import State, save_state
from .steps import Step
from .workspace import Workspace, as_step


@dataclass(frozen=True)
class ScriptPlan:
    """What generating one script would do (or, returned by `write`, what it did)."""

    step: Step
    path: Path
    status: str  # missing | current | outdated | edited
    diff: str  # unified diff, current file -> new render ("" when current)
    written: bool = False
    backup: Path | None = None  # the porter's text, kept before a forced overwrite


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    loader = jinja2.FileSystemLoader(Path(paddle_port_templates.__file__).parent)
    # StrictUndefined: a template typo fails loudly here, not as a broken script in the porter's repo.
    return jinja2.Environment(loader=loader, keep_trailing_newline=True, undefined=jinja2.StrictUndefined)


def render_script(step: Step | str) -> str:
    """The script text for a step, as the current templates write it."""
    step = as_step(step)
    return _environment().get_template(step.template).render(step=step)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan(ws: Workspace, state: State, step: Step | str) -> ScriptPlan:
    """Compare the script on disk with a fresh render and with what we last wrote."""
    step = as_step(step)
    path = ws.script_path(step)
    rendered = render_script(step)
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ScriptPlan(step, path, "missing", _diff(ws, path, "", rendered))
    if current == rendered:
        return ScriptPlan(step, path, "current", "")
    recorded = state.generated.get(ws.relative(path))
    status = "outdated" if recorded == _sha256(current) else "edited"
    return ScriptPlan(step, path, status, _diff(ws, path, current, rendered))


def write(ws: Workspace, state: State, step: Step | str, force: bool = False) -> ScriptPlan:
    """Write a missing or outdated script; an edited one only with `force`, after a backup.

    The hash of what was written goes into `state.generated`, and the state is saved, so the next
    plan can tell our text from the porter's.
    """
    before = plan(ws, state, step)
    if before.status == "edited" and not force:
        return before
    rendered, key = render_script(before.step), ws.relative(before.path)
    written = before.status != "current"
    backup = _backup(before.path) if before.status == "edited" else None
    if written:
        write_text_atomic(before.path, rendered)
    if written or state.generated.get(key) != _sha256(rendered):
        state.generated[key] = _sha256(rendered)
        save_state(ws, state)
    return replace(before, written=written, backup=backup)


def _backup(path: Path) -> Path:
    """Copy the porter's script to `<script>.bak-<YYYYmmdd-HHMMSS>` (a suffix if that second is taken)."""
    stem = f"{path.name}.bak-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    target, n = path.with_name(stem), 1
    while target.exists():
        target, n = path.with_name(f"{stem}-{n}"), n + 1
    shutil.copy2(path, target)
    return target


def _diff(ws: Workspace, path: Path, current: str, rendered: str) -> str:
    name = ws.relative(path)
    lines = difflib.unified_diff(
        current.splitlines(keepends=True),
        rendered.splitlines(keepends=True),
        fromfile=f"{name} (on disk)" if current else "/dev/null",
        tofile=f"{name} (template)",
    )
    return "".join(lines)
