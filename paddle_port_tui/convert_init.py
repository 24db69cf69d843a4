"""`paddle-port init --from-convert DST`: a config whose Paddle side is PaConvert's output of the reference's code.

`paddle-port convert SRC --out DST` leaves its report in `DST/.paddle_port_convert.json`; from it this module
knows SRC. The reference factories are proposed from SRC's sources (as `--from-repo` does) unless given as
flags; each one whose module lies in SRC gets its Paddle counterpart: the same callable in the same file under
DST, named by DST's place in the workspace (so both sides import in one process), with the same keyword
arguments. Converted code that imports the reference's own modules by their absolute name would load the torch
module in that process, not its converted twin: each such line is named with its edit.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

RECORD = ".paddle_port_convert.json"  # written by `paddle-port convert` into DST
# The factories of a side that are the porter's own code, with the kwargs field that goes with each.
FACTORIES = (
    ("model", "kwargs"),
    ("dataset", "dataset_kwargs"),
    ("loader", "loader_kwargs"),
    ("metric", "metric_kwargs"),
)


class ConvertInitError(ValueError):
    """DST has no conversion record, or lies where no module name can reach it: one line naming the path."""


def read_record(dst: Path) -> dict[str, Any]:
    path = dst / RECORD
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConvertInitError(
            f"{path}: not found; run `paddle-port convert SRC --out {dst}` first (it writes this record)"
        ) from None
    except (OSError, ValueError) as error:
        raise ConvertInitError(f"{path}: cannot be read ({error}); run `paddle-port convert` again") from None
    if not isinstance(record, dict) or not isinstance(record.get("src"), str):
        raise ConvertInitError(f"{path}: not a conversion record (no src); run `paddle-port convert` again")
    return record


def dotted(path: Path, root: Path) -> str:
    """The module name of a file or folder under an import root (`a/b.py` -> `a.b`), "" when none reaches it."""
    try:
        parts = list(path.resolve().relative_to(root.resolve()).with_suffix("").parts)
    except ValueError:
        return ""
    if parts and parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts) if all(part.isidentifier() for part in parts) else ""


def module_file(name: str, roots: list[Path]) -> Path | None:
    """Where an import of `name` finds its source under the import roots (a module file or a package's
    __init__.py), found on disk without importing anything."""
    relative = Path(*name.split("."))
    for root in roots:
        for candidate in (root / relative.with_suffix(".py"), root / relative / "__init__.py"):
            if candidate.is_file():
                return candidate.resolve()
    return None


def converted_values(
    values: dict[str, str], src: Path, dst: Path, workspace: Path, roots: list[Path]
) -> tuple[dict[str, str], list[str]]:
    """The Paddle side's factory values for the reference's that live in SRC, and a note for each that does
    not (the porter names that one)."""
    dst_name = dotted(dst, workspace)
    if not dst_name:
        raise ConvertInitError(
            f"{dst}: the converted code must lie in the workspace ({workspace}) under importable folder names, "
            "so its modules can be named beside the reference's"
        )
    paddle: dict[str, str] = {}
    notes: list[str] = []
    for factory, kwargs in FACTORIES:
        spec = values.get(f"reference_{factory}", "")
        module, _, name = spec.partition(":")
        if not module or not name:
            continue
        found = module_file(module, roots)
        if found is None or not found.is_relative_to(src):
            notes.append(f"[reference] {factory} {spec} is not in {src}: name the Paddle one (--paddle-{factory})")
            continue
        twin = dst / found.relative_to(src)
        if not twin.is_file():
            notes.append(f"[reference] {factory} {spec}: {twin} is missing from the conversion")
            continue
        paddle[f"paddle_{factory}"] = f"{dotted(twin, workspace)}:{name}"
        if values.get(f"reference_{kwargs}"):
            paddle[f"paddle_{kwargs}"] = values[f"reference_{kwargs}"]
    return paddle, notes


def own_imports(src: Path, dst: Path, roots: list[Path]) -> list[str]:
    """Each line of the converted tree that imports one of the reference's own modules by its absolute name
    (resolved to the torch module when both sides run in one process), with the edit that imports the twin."""
    reference_names = {dotted(src, root) for root in roots} - {""}
    src_roots = [root for root in roots if root.resolve() == src.resolve()]
    tops = {path.stem for path in src.iterdir() if path.suffix == ".py" or (path / "__init__.py").is_file()}
    lines = []
    for path in sorted(dst.rglob("*.py")):
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue  # the smoke check names the file that does not parse
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for imported in names:
                first = imported.split(".")[0]
                ours = any(imported == name or imported.startswith(name + ".") for name in reference_names)
                if ours or (src_roots and first in tops):
                    where = f"{path.relative_to(dst.parent).as_posix()}:{node.lineno}"
                    lines.append(
                        f"{where} imports {imported} by its absolute name: with both sides in one process that is "
                        "the reference's (torch) module; import the converted one relatively (from . import ...)"
                    )
    return lines


def import_roots(raw: dict[str, Any], workspace: Path) -> list[Path]:
    """Where a config's modules are imported from: the workspace, then its `[run] pythonpath` (config.py's order)."""
    return [workspace, *(workspace / entry for entry in raw.get("run", {}).get("pythonpath", []))]


def updated_tables(config_path: Path, dst: Path, workspace: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """An existing config's tables with its Paddle factories pointed at their converted twins in DST (each with its
    reference's keyword arguments), every other key as it is; None when nothing changes. What cannot be mapped,
    and the imports that would load the torch module, come back as notes."""
    import tomllib

    raw = tomllib.loads(config_path.read_text(encoding="utf-8"))  # parse_config has read it already: valid
    reference = raw.get("reference", {})
    src = Path(read_record(dst)["src"]).resolve()
    roots = import_roots(raw, workspace)
    values = {f"reference_{name}": reference[name] for name, _ in FACTORIES if isinstance(reference.get(name), str)}
    paddle, notes = converted_values(values, src, dst, workspace, roots)
    side = dict(raw.get("paddle", {}))
    for name, kwargs in FACTORIES:
        if f"paddle_{name}" in paddle:
            side[name] = paddle[f"paddle_{name}"]
            if isinstance(reference.get(kwargs), dict):
                side[kwargs] = dict(reference[kwargs])
    notes += own_imports(src, dst, roots)
    if side == raw.get("paddle", {}):
        return None, [*notes, "the config names these factories already: nothing to change"]
    return {**raw, "paddle": side}, notes
