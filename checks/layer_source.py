"""Where a layer of a model is written in the porter's source: the `file:line` a lint finding sends them to.

A finding names a layer by its path (`layer1.0.bn1`); the porter needs the line that builds it
(`self.bn1 = nn.BatchNorm2D(channels, momentum=bn_momentum)`). Walking the path from the model down, the
deepest class of the porter's own that holds the layer is read (ast over `inspect`'s source, nothing is
run) for the assignment of the attribute that leads to it, and inside that assignment for the call that
constructs the layer's class. Best effort: a layer built in a helper and attached by a loop falls back to
the first construction of its class in that source, then to the layer's own class when it is the porter's,
else "".
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap
from dataclasses import dataclass
from typing import Any

from paddle_port_checks.lint_source import porters_own, source_site


@dataclass(frozen=True)
class _Assignment:
    attribute: str
    line: int
    calls: tuple[tuple[str, int], ...]  # (called name, line) of every call in the assigned value, in order


def construction_site(model: Any, path: str) -> str:
    """`file:line` where the layer at `path` of `model` is constructed (or its class defined), or ""."""
    names = [name for name in path.split(".") if name]
    chain = [model]
    for name in names:
        child = _children(chain[-1]).get(name)
        if child is None:
            return ""
        chain.append(child)
    layer, leaf_class = chain[-1], type(chain[-1]).__name__
    for depth in range(len(names) - 1, -1, -1):  # the deepest owner first: it is the most specific
        owner = type(chain[depth])
        if not porters_own(owner):
            continue
        rank = _rank_among_siblings(chain[depth + 1], layer) if depth == len(names) - 2 else 0
        line = _line_in(owner, names[depth], leaf_class, rank)
        if line is not None:
            return source_site(*line)
    if porters_own(type(layer)):
        return _class_site(type(layer))
    return ""


def _children(layer: Any) -> dict[str, Any]:
    """The named sublayers one level down: Paddle's `_sub_layers`, torch's `_modules`."""
    found = getattr(layer, "_sub_layers", None)
    if found is None:
        found = getattr(layer, "_modules", None)
    return dict(found or {})


def _rank_among_siblings(container: Any, layer: Any) -> int:
    """Which of its container's children of the same class the layer is (the second BatchNorm2D of a
    Sequential is the second BatchNorm2D call in the line that builds it)."""
    same = [child for child in _children(container).values() if type(child) is type(layer)]
    return next((index for index, child in enumerate(same) if child is layer), 0)


def _line_in(owner: type, attribute: str, leaf_class: str, rank: int) -> tuple[str, int] | None:
    """(file, line) in the owner's class source: the leaf's construction inside the attribute's assignment,
    that assignment, or the first construction of the leaf's class anywhere in the class."""
    source = _class_source(owner)
    if source is None:
        return None
    file, assignments, calls = source
    candidates = [item for item in assignments if item.attribute == attribute]
    for assignment in candidates:
        lines = [line for name, line in assignment.calls if name == leaf_class]
        if lines:
            return file, lines[min(rank, len(lines) - 1)]
    if candidates:
        return file, candidates[-1].line
    lines = [line for name, line in calls if name == leaf_class]
    return (file, lines[0]) if lines else None


@functools.cache
def _class_source(cls: type) -> tuple[str, tuple[_Assignment, ...], tuple[tuple[str, int], ...]] | None:
    """The class's file, its `self.x = ...` assignments and every call in it, with absolute line numbers."""
    try:
        lines, first = inspect.getsourcelines(cls)
        tree = ast.parse(textwrap.dedent("".join(lines)))
        file = inspect.getsourcefile(cls)
    except (OSError, TypeError, SyntaxError):
        return None
    if not file:
        return None
    offset = first - 1
    assignments = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            calls = tuple(_calls(node.value, offset))
            for attribute in (name for target in targets for name in _self_attributes(target)):
                assignments.append(_Assignment(attribute, node.lineno + offset, calls))
    return file, tuple(sorted(assignments, key=lambda item: item.line)), tuple(_calls(tree, offset))


def _self_attributes(target: ast.expr) -> list[str]:
    """`self.a` -> ["a"]; `self.a, self.b` -> ["a", "b"]."""
    if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
        return [target.attr]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for item in target.elts for name in _self_attributes(item)]
    return []


def _calls(node: ast.AST, offset: int) -> list[tuple[str, int]]:
    """(the called name, its line) of every call under `node`, in source order."""
    found = []
    for item in ast.walk(node):
        if isinstance(item, ast.Call):
            function = item.func
            name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            found.append((name, item.lineno + offset, item.col_offset))
    return [(name, line) for name, line, _ in sorted(found, key=lambda call: (call[1], call[2]))]


def _class_site(cls: type) -> str:
    try:
        _, first = inspect.getsourcelines(cls)
        file = inspect.getsourcefile(cls)
    except (OSError, TypeError):
        return ""
    return source_site(file, first) if file else ""
