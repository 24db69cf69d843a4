"""Check scripts rendered from the templates into the porter's `test_tipc/`, without trampling edits.

Generated scripts belong to the porter. We remember the hash of what we last wrote, so we can tell a
script that only lags behind the template (`outdated`: safe to rewrite) from one the porter changed
(`edited`: rewritten only when forced, after a timestamped backup, with the diff shown first).

Rendering costs a Jinja2 import and a template compile, more than the rest of `paddle-port run` spends
before its check starts. So every full comparison also records, in `.paddle_port/renders.json`, the hash
of each render next to a fingerprint of what the render depends on (the template files' bytes, the step,
RENDER_FORMAT). `known_status` answers from that record while the fingerprint still matches, which makes
a template upgrade (new package version, edited template) fall back to the full comparison by itself.
`run` uses it; `generate` and the wizard always compare in full. Jinja2's own version is not part of the
fingerprint (finding it costs what we save): should a Jinja2 upgrade alone change a render, `run` would
notice only after the next `generate` or wizard visit.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import paddle_port_templates
from paddle_port_checks.atomic import write_json_atomic, write_text_atomic
from paddle_port_checks.catalogue import Step

from .state import State, save_state
from .workspace import Workspace, as_step

if TYPE_CHECKING:
    import jinja2

# Part of every render fingerprint: bump it when a change here (not in the templates) alters the output,
# such as the Environment's options below, so recorded render hashes stop counting as current.
RENDER_FORMAT = "1"
RENDERS_NAME = "renders.json"  # in the workspace's state dir: script path -> {fingerprint, sha256}
TEMPLATES_DIR = Path(paddle_port_templates.__file__).parent


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
    import jinja2  # here, not at the top: `run` with a known-current script never renders

    loader = jinja2.FileSystemLoader(TEMPLATES_DIR)
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


def render_fingerprint(step: Step | str) -> str:
    """A hash of everything a step's render depends on, computed without Jinja2: every template file
    (a template may include the others), the step's fields and RENDER_FORMAT."""
    step = as_step(step)
    digest = hashlib.sha256(f"{RENDER_FORMAT}\0{step!r}".encode())
    for template in sorted(TEMPLATES_DIR.glob("*.j2")):
        digest.update(f"\0{template.name}\0".encode())
        digest.update(template.read_bytes())
    return digest.hexdigest()


def known_status(ws: Workspace, state: State, step: Step | str) -> str | None:
    """`current` or `edited` when the recorded render hash settles it without rendering; None otherwise.

    `current` only when `write` would have nothing to do (the file is the render and `state.generated`
    says so); `edited` when the file is neither the render nor what we last wrote. Anything else (no
    record, templates changed, a missing or outdated script) needs `plan`/`write`.
    """
    step = as_step(step)
    path = ws.script_path(step)
    recorded = _load_renders(ws).get(ws.relative(path))
    if not isinstance(recorded, dict) or recorded.get("fingerprint") != render_fingerprint(step):
        return None
    try:
        current = hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None
    last_written = state.generated.get(ws.relative(path))
    if current == recorded.get("sha256"):
        return "current" if last_written == current else None
    return "edited" if last_written != current else None


def write(ws: Workspace, state: State, step: Step | str, force: bool = False) -> ScriptPlan:
    """Write a missing or outdated script; an edited one only with `force`, after a backup.

    The hash of what was written goes into `state.generated`, and the state is saved, so the next
    plan can tell our text from the porter's. The render's hash is recorded for `known_status`.
    """
    before = plan(ws, state, step)
    rendered, key = render_script(before.step), ws.relative(before.path)
    _record_render(ws, key, render_fingerprint(before.step), _sha256(rendered))
    if before.status == "edited" and not force:
        return before
    written = before.status != "current"
    backup = _backup(before.path) if before.status == "edited" else None
    if written:
        write_text_atomic(before.path, rendered)
    if written or state.generated.get(key) != _sha256(rendered):
        state.generated[key] = _sha256(rendered)
        save_state(ws, state)
    return replace(before, written=written, backup=backup)


def _renders_path(ws: Workspace) -> Path:
    return ws.state_dir / RENDERS_NAME


def _load_renders(ws: Workspace) -> dict[str, Any]:
    """The render record; an unreadable one is as good as none (it only ever saves a render)."""
    try:
        renders = json.loads(_renders_path(ws).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return renders if isinstance(renders, dict) else {}


def _record_render(ws: Workspace, key: str, fingerprint: str, sha256: str) -> None:
    renders = _load_renders(ws)
    entry = {"fingerprint": fingerprint, "sha256": sha256}
    if renders.get(key) != entry:
        write_json_atomic(_renders_path(ws), {**renders, key: entry})


def _backup(path: Path) -> Path:
    """Copy the porter's script to `<script>.bak-<YYYYmmdd-HHMMSS>` (a suffix if that second is taken)."""
    stem = f"{path.name}.bak-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    target, n = path.with_name(stem), 1
    while target.exists():
        target, n = path.with_name(f"{stem}-{n}"), n + 1
    shutil.copy2(path, target)
    return target


def _diff(ws: Workspace, path: Path, current: str, rendered: str) -> str:
    import difflib  # only a full comparison that found a difference needs it

    name = ws.relative(path)
    lines = difflib.unified_diff(
        current.splitlines(keepends=True),
        rendered.splitlines(keepends=True),
        fromfile=f"{name} (on disk)" if current else "/dev/null",
        tofile=f"{name} (template)",
    )
    return "".join(lines)
