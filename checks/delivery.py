"""Delivering a step's evidence: written under its run, promoted when the run ends, never over a newer run's.

A check writes its arrays, its diff log and its result into `result/.runs/<run id>/` (the layout of
`result/` itself), and only when it has written them all are they moved into place. So a run that dies
halfway (a segfault, kill -9, a full disk) leaves the previous run's evidence whole, not a mix of two
runs, and an older run that ends late (an orphan of a killed app, a script run by hand beside the app)
cannot replace newer evidence: `result/.paddle_port_delivered.json` says which run of each step delivered
last, and a run that started before it keeps its files where they were written, and says so.

The move is made under the manifest's lock (`written`), the step's earlier files removed first (only
paddle-port's own: strangers were moved aside when the run began), the arrays and log next and the result
last, so the result never names evidence of another run.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .atomic import WriteError, write_json_atomic
from .catalogue import STEP_BY_ID
from .evidence import write_result
from .schema import SchemaError, StepResult, read_result
from .written import lock_manifest, make_way_locked, record_written_locked

RUNS = ".runs"
DELIVERED = ".paddle_port_delivered.json"
# A run stages its files only once it has its numbers, seconds before it delivers: a staging folder this
# old belongs to a run that died (kill -9, a segfault while writing) and is cleared by the next delivery.
ABANDONED_AFTER_S = 3600.0


def staging_dir(result_dir: Path, run_id: str) -> Path:
    """Where a run writes before it delivers."""
    return result_dir / RUNS / _safe(run_id)


def final_path(result_dir: Path, staging: Path, staged: Path) -> Path:
    """Where a staged file lands: the same place under `result/`."""
    return result_dir / staged.relative_to(staging)


def deliver(
    result_dir: Path,
    step: str,
    staging: Path,
    staged: Iterable[Path],
    started_at: str,
    replaces: Iterable[Path],
    known: Iterable[Path] = (),
) -> tuple[list[str], bool]:
    """Move the staged files into place (the result last) unless a newer run of the step already delivered:
    (notes, delivered). The notes say where this run's files stay, or name strangers moved aside meanwhile.
    `replaces`: the step's files of earlier runs (ours go, `known` ones too: see `written`)."""
    staged = list(staged)
    with lock_manifest(result_dir):
        delivered = _read(result_dir)
        newer = delivered.get(step)
        if isinstance(newer, dict) and str(newer.get("started_at", "")) > started_at:
            where = staging.relative_to(result_dir.parent)
            return [
                f"a newer run of {step} (started {newer.get('started_at')}) delivered its evidence while this one ran; "
                f"this run's files stay in {where}"
            ], False
        targets = [(path, final_path(result_dir, staging, path)) for path in staged]
        for _, target in targets:  # every place made ready before anything of the last run's goes
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir():
                raise IsADirectoryError(errno.EISDIR, "a folder is where this file belongs", str(target))
        notes = make_way_locked(result_dir, replaces, set(known), remove_ours=True)
        landed: list[Path] = []
        try:
            # The result last: it never names evidence that is not in place yet.
            for path, target in sorted(targets, key=lambda pair: pair[1].name == f"{step}.json"):
                _move(path, target)
                landed.append(target)
        finally:  # what landed is ours, even when a later move failed: the next run may replace it
            record_written_locked(result_dir, landed)
        delivered[step] = {"run_id": staging.name, "started_at": started_at}
        write_json_atomic(result_dir / DELIVERED, delivered)
    _clear_abandoned(staging)
    return notes, True


def _move(source: Path, target: Path) -> None:
    """Rename into place; across file systems (a `result/log` linked elsewhere) copy beside the target first,
    so the target still changes in one rename."""
    try:
        os.replace(source, target)
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
        beside = target.with_name(f".{target.name}.delivering")
        shutil.copyfile(source, beside)
        os.replace(beside, target)
        source.unlink()


def _clear_abandoned(staging: Path) -> None:
    """This run's staging folder, and any a dead run left behind."""
    with contextlib.suppress(OSError):
        shutil.rmtree(staging)
    now = time.time()
    with contextlib.suppress(OSError):
        for folder in staging.parent.iterdir():
            with contextlib.suppress(OSError):
                if folder.is_dir() and now - folder.stat().st_mtime > ABANDONED_AFTER_S:
                    shutil.rmtree(folder)


def deliver_run(result_dir: Path, result: StepResult, staged: list[Path], staging_name: str) -> Path:
    """Write the result beside the evidence a run staged and deliver them all: the result file's path (in its
    staging folder when a newer run of the step delivered first: that is said on stdout). A result without
    evidence (an error; the app's word on a check that died without one) replaces the last run's files too."""
    staging = staging_dir(result_dir, staging_name)
    result_path = final_path(result_dir, staging, staging / f"{result.step}.json")
    root = result_dir.parent
    try:
        staged = [*staged, write_result(staging, result.step, result.to_json())]
        notes, delivered = deliver(
            result_dir,
            result.step,
            staging,
            staged,
            result.started_at or "",
            step_files(root, result.step),
            known=earlier_results_files(root, result.step),
        )
    except WriteError:
        raise  # it names its file already (as the porter knows it: atomic.shown_path)
    except OSError as error:  # a move: the file it was making, named as the porter knows it
        failed = error.filename2 or error.filename
        raise WriteError(failed or result_path, error) from error  # shown_path names a staged file as delivered
    for note in notes:
        print(f"note: {note}", flush=True)
    return result_path if delivered else staged[-1]


def step_files(root: Path, step: str) -> list[Path]:
    """What a run of the step writes: its evidence and its result. Evidence always belongs to the latest
    result, so a run that errors must not leave the last one's behind (nor anyone else's: see written.py)."""
    found = STEP_BY_ID[step]
    return [root / relative for relative in (*found.evidence, found.result_file)]


def earlier_results_files(root: Path, step: str) -> list[Path]:
    """The files a readable paddle-port result of this step names (itself included): what a version that
    kept no record of its writes left, recognised without moving it aside."""
    path = root / STEP_BY_ID[step].result_file
    try:
        earlier = read_result(path)
    except (OSError, SchemaError):
        return []
    return [path, *(root / relative for relative in earlier.evidence)]


def _read(result_dir: Path) -> dict[str, Any]:
    try:
        found = json.loads((result_dir / DELIVERED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def _safe(run_id: str) -> str:
    """A run id as a folder name: the app's ids are hex, `<run id>:<step>`; anything else is kept tame."""
    return "".join(character if character.isalnum() or character in "-_" else "_" for character in run_id)[:80]
