"""Config values proposed from what `repo_scan` found in a porter's repo, ranked, for the porter to confirm.

Per key the candidates are ranked: a twin pair (the same name on both sides, `torch`/`paddle` aside) first, a
factory function or a class that needs no arguments before one that does, a building block of another model
(`BasicBlock`) last. A data builder fills `loader` when it takes no arguments and `dataset` when it takes the
samples; a metric must take `(outputs, labels)`, a prediction program the sample. The first candidate of each
key is the proposal; `values` holds them as the texts `init.config_tables` reads, so `init --from-repo` and the
config form propose alike.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from paddle_port_tui.repo_scan import PADDLE, TORCH, Definition, Scan, scan_repo

SIDES = (("reference", TORCH, "PyTorch"), ("paddle", PADDLE, "Paddle"))
GROUPS = {"model": {"model", "factory", "build"}, "data": {"data"}, "metric": {"metric"}, "predict": {"predict"}}


@dataclass(frozen=True)
class Candidate:
    """One definition as a value of a config key."""

    definition: Definition
    key: str  # the config key it would fill: "reference.model", "paddle.loader", "reference.dataset", ...
    score: int
    usable: bool  # it can be called the way the key's step calls it
    notes: tuple[str, ...]  # why it ranks where it does


@dataclass(frozen=True)
class Group:
    """The candidates for one side's model, data or metric, best first; `chosen` is None when none fits."""

    title: str  # "reference.model", "reference.loader / dataset"
    side: str  # "PyTorch" or "Paddle"
    candidates: tuple[Candidate, ...]
    chosen: Candidate | None


@dataclass(frozen=True)
class Proposal:
    scan: Scan
    groups: tuple[Group, ...]
    pythonpath: tuple[tuple[str, str], ...]  # (entry as written in the config, why)
    values: dict[str, str]  # field name (init.FIELDS) -> text
    warnings: tuple[str, ...] = ()

    def group(self, title: str) -> Group:
        return next(group for group in self.groups if group.title == title)

    def lines(self, shown: int = 5) -> list[str]:
        """The candidates grouped by key, the proposed one marked, for a terminal."""
        scan = self.scan
        where = f"{scan.files} python files under {scan.directory} in {scan.seconds * 1000:.0f} ms"
        lines = [f"scanned {where}" + ("" if scan.complete else " (stopped at the scan's bound: not all files read)")]
        lines += [f"  passed over {skipped}" for skipped in scan.skipped]
        for group in self.groups:
            lines.append(f"{group.title} ({group.side}):")
            if not group.candidates:
                lines.append("    (nothing found)")
            for candidate in group.candidates[:shown]:
                definition = candidate.definition
                mark = "▸" if candidate is group.chosen else " "
                target = f" -> {candidate.key}" if group.title.endswith("dataset") else ""
                lines.append(f"  {mark} {definition.spec}{target}   {definition.signature}")
                location = f"{_relative(definition.file, scan.base)}:{definition.line}"
                lines.append(f"      {'; '.join((location, *candidate.notes))}")
            if len(group.candidates) > shown:
                lines.append(f"    (+{len(group.candidates) - shown} more)")
        lines.append("run.pythonpath:")
        lines += [f"  ▸ {entry}   {why}" for entry, why in self.pythonpath] or ["    (none needed)"]
        return lines + [f"warning: {warning}" for warning in self.warnings]


def _relative(path: Path, base: Path) -> str:
    return str(path.relative_to(base)) if base in path.parents else str(path)


def _twin_name(name: str) -> str:
    """`build_torch_data_pipeline` and `build_paddle_data_pipeline` -> `build_data_pipeline`."""
    return re.sub(r"_+", "_", re.sub(r"pytorch|torch|paddle", "", name.lower())).strip("_")


def _shape(definition: Definition) -> str:
    """Twins must be the same sort of thing: a class with a class, a function with a function."""
    return "class" if definition.kind == "model" else "function"


def _fit(group: str, definition: Definition, side: str) -> tuple[str, bool, list[str]]:
    """The key a definition fills, whether its signature fits the way the step calls it, and notes."""
    required = definition.required
    needs = ", ".join((*required, *definition.keywords))
    if group == "model":
        notes = [f"factory returning {definition.returns}"] if definition.returns else []
        if needs:
            notes.append(f"needs {needs}: give them in {side}.kwargs")
        return f"{side}.model", True, notes
    if group == "data":
        if not needs:
            return f"{side}.loader", True, ["a loader builder: called with loader_kwargs"]
        if len(required) == 1 and not definition.keywords:
            return f"{side}.dataset", True, ["a dataset factory: called with the samples"]
        return f"{side}.loader", False, [f"needs {needs}: a loader takes keyword arguments, a dataset the samples"]
    if group == "predict":
        fits = len(required) <= 1 and definition.positional >= 1 and not definition.keywords
        return (
            f"predict.{side}",
            fits,
            [] if fits else [f"needs {needs}: a prediction program is called with the sample"],
        )
    if definition.positional >= 2 and len(required) <= 2 and not definition.keywords:
        return f"{side}.metric", True, []
    return f"{side}.metric", False, [f"needs {needs}: a metric is called as metric(outputs, labels)"]


def _score(group: str, definition: Definition, usable: bool, twin: Definition | None) -> int:
    score = 0
    if group == "model":
        score += 50 if not (definition.required or definition.keywords) else 0
        score += {"factory": 30, "build": 10}.get(definition.kind, 0)
        score -= 100 if definition.component else 0  # a block ranks last, twin or not
    else:
        score += 50 if usable else -100
    score += 40 if twin is not None else 0
    score -= 20 if not definition.framework else 0
    return score


def _candidates(scan: Scan, group: str, side: str, framework: str) -> list[Candidate]:
    kinds = GROUPS[group]
    mine = [d for d in scan.definitions if d.kind in kinds and d.framework in (framework, "")]
    other_framework = PADDLE if framework == TORCH else TORCH
    others = [d for d in scan.definitions if d.kind in kinds and d.framework == other_framework]
    candidates = []
    for definition in mine:
        key, usable, notes = _fit(group, definition, side)
        twin = next(
            (
                other
                for other in others
                if _shape(other) == _shape(definition) and _twin_name(other.name) == _twin_name(definition.name)
            ),
            None,
        )
        if twin is not None:
            notes.append(f"twin: {twin.spec}")
        if definition.component:
            notes.append("a building block of another model")
        if not definition.framework:
            notes.append("its framework is unclear")
        score = _score(group, definition, usable, twin)
        candidates.append(Candidate(definition, key, score, usable, tuple(notes)))
    # Best first; among equals the shorter module path (a package's own module before a deep copy), then by name.
    candidates.sort(key=lambda c: (-c.score, c.definition.module.count("."), c.definition.spec))
    return candidates


def _choose(group: str, candidates: list[Candidate], twin_of: Candidate | None) -> Candidate | None:
    """The best usable candidate; on the Paddle side the twin of the PyTorch choice when there is one."""
    usable = [candidate for candidate in candidates if candidate.usable or group == "model"]
    if twin_of is not None:
        name = _twin_name(twin_of.definition.name)
        twins = [
            c
            for c in usable
            if _twin_name(c.definition.name) == name and _shape(c.definition) == _shape(twin_of.definition)
        ]
        if twins:
            return twins[0]
    return usable[0] if usable else None


def propose(directory: Path | str, workspace: Path | str | None = None) -> Proposal:
    """Scan `directory` (module names from `workspace`, by default the directory) and propose a config."""
    workspace = Path(workspace if workspace is not None else directory).resolve()
    scan = scan_repo(directory, workspace)
    groups: list[Group] = []
    values: dict[str, str] = {}
    chosen_roots: list[Path] = []
    for group in GROUPS:
        reference_choice: Candidate | None = None
        for side, framework, side_name in SIDES:
            candidates = _candidates(scan, group, side, framework)
            chosen = _choose(group, candidates, reference_choice)
            reference_choice = reference_choice or chosen
            title = {"data": f"{side}.loader / dataset", "predict": f"predict.{side}"}.get(group, f"{side}.{group}")
            groups.append(Group(title, side_name, tuple(candidates), chosen))
            if chosen is not None:
                values[chosen.key.replace(".", "_")] = chosen.definition.spec
                chosen_roots.append(chosen.definition.root)
    pythonpath = []
    for root in dict.fromkeys(chosen_roots):  # in order, once each
        if root == workspace:
            continue
        entry = str(root.relative_to(workspace)) if workspace in root.parents else str(root)
        pythonpath.append((entry, scan.roots.get(root, "the scanned folder lies outside the workspace")))
    if pythonpath:
        values["pythonpath"] = ", ".join(entry for entry, _ in pythonpath)
    return Proposal(scan, tuple(groups), tuple(pythonpath), values, _clashes(groups, scan.base))


def _clashes(groups: list[Group], base: Path) -> tuple[str, ...]:
    """Two chosen modules of one name in different files: the checks import both sides in one process, where
    the first on the path shadows the other."""
    files: dict[str, set[Path]] = {}
    for group in groups:
        if group.chosen is not None:
            files.setdefault(group.chosen.definition.module, set()).add(group.chosen.definition.file)
    return tuple(
        f"module `{name}` is both {' and '.join(sorted(_relative(path, base) for path in paths))}: in one process "
        "the first on the path shadows the other; rename one, or name it from a folder above"
        for name, paths in files.items()
        if len(paths) > 1
    )
