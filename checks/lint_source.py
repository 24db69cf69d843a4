"""Pitfall lint of the functional calls in the two models' own forward() code, read from their source.

Layer attributes show a `nn.GELU(approximate="tanh")`, but not an `F.gelu(x, approximate="tanh")` in a
forward(), nor an `F.interpolate(..., align_corners=True)`. Those live in the porter's code: each model's
own classes (not the frameworks') are parsed (ast, nothing is run), their functional calls listed in order,
and the settings that differ at the same position are findings, naming the Paddle file and line.
"""

from __future__ import annotations

import ast
import contextlib
import inspect
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from paddle_port_checks.schema import Finding

# The functional calls whose settings differ silently, by function name, and how each framework spells them.
GELU, INTERPOLATE = "gelu", "interpolate"
_FRAMEWORK_ROOTS = ("torch", "paddle")


@dataclass(frozen=True)
class FunctionalCall:
    """One functional call in a forward(): the function, the settings that matter, where it is."""

    function: str
    settings: tuple[tuple[str, Any], ...]
    where: str  # "file.py:42 (ClassName.forward)"
    site: str = ""  # "pkg/file.py:42", the file relative to the working directory (the workspace root)


def functional_calls(model: Any, modules: Any) -> list[FunctionalCall]:
    """The gelu / interpolate calls in the forward() of every class of the model that is the porter's own."""
    calls: list[FunctionalCall] = []
    seen: set[type] = set()
    for module in modules:
        cls = type(module)
        if cls in seen or not porters_own(cls):
            continue
        seen.add(cls)
        calls.extend(_calls_in(cls))
    return calls


def lint_functional(torch_model: Any, paddle_model: Any) -> list[Finding]:
    """Findings for a functional setting whose values never meet: every call of the reference uses one value
    and every call of the port another. Source shows branches, not which one runs, so a setting used both
    ways on one side is left alone: no false alarm from a branch that is never taken."""
    torch_calls = functional_calls(torch_model, torch_model.modules())
    paddle_calls = functional_calls(paddle_model, paddle_model.sublayers(include_self=True))
    findings = []
    for function in (GELU, INTERPOLATE):
        ours = [call for call in paddle_calls if call.function == function]
        theirs = [call for call in torch_calls if call.function == function]
        if not ours or not theirs:
            continue
        for position, (name, _) in enumerate(theirs[0].settings):
            values = _disagreement(theirs, ours, position)
            if values is not None:
                findings.append(
                    Finding(
                        torch_layer=theirs[0].where,
                        paddle_layer=ours[0].where,
                        torch_type=f"F.{function}",
                        paddle_type=f"F.{function}",
                        attribute=name,
                        torch_value=values[0],
                        paddle_value=values[1],
                        expected_paddle_value=values[0],
                        why=_WHY[function, name],
                        fix=f"paddle.nn.functional.{function}({name}={_paddle_spelling(function, name, values[0])!r})",
                        defined_at=ours[0].site,
                    )
                )
    return findings


_WHY = {
    (GELU, "approximate"): "tanh-approximate and exact GELU differ by up to ~5e-4 per activation: a real difference "
    "in the math (torch approximate='tanh' is Paddle approximate=True)",
    (INTERPOLATE, "mode"): "a different interpolation mode changes every resampled value",
    (INTERPOLATE, "align_corners"): "align_corners moves the sampling grid: every resampled value shifts",
}


def _paddle_spelling(function: str, name: str, value: Any) -> Any:
    """A setting as Paddle's functional call takes it: GELU's approximate is a bool there ("tanh" is True)."""
    return value == "tanh" if (function, name) == (GELU, "approximate") else value


def _disagreement(theirs: list[FunctionalCall], ours: list[FunctionalCall], position: int) -> tuple[Any, Any] | None:
    """(torch value, paddle value) when each side uses one literal value of the setting and they differ."""
    torch_values = {call.settings[position][1] for call in theirs}
    paddle_values = {call.settings[position][1] for call in ours}
    if len(torch_values) != 1 or len(paddle_values) != 1 or torch_values == paddle_values:
        return None
    values = (next(iter(torch_values)), next(iter(paddle_values)))
    computed = any(isinstance(value, str) and value.startswith("<") for value in values)
    return None if computed else values


def porters_own(cls: type) -> bool:
    """A class defined outside the frameworks (and outside any installed package)."""
    module = cls.__module__.split(".")[0]
    if module in _FRAMEWORK_ROOTS:
        return False
    try:
        source = inspect.getsourcefile(cls)
    except TypeError:
        return False
    return source is not None and "site-packages" not in Path(source).parts


def _calls_in(cls: type) -> list[FunctionalCall]:
    forward = cls.__dict__.get("forward")
    if forward is None:
        return []
    try:
        lines, first_line = inspect.getsourcelines(forward)
        tree = ast.parse(textwrap.dedent("".join(lines)))
        source = inspect.getsourcefile(forward) or "?"
    except (OSError, TypeError, SyntaxError):
        return []
    path = Path(source).name
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        settings = _settings(name, node)
        if settings is not None:
            line = first_line + node.lineno - 1
            where = f"{path}:{line} ({cls.__name__}.forward)"
            calls.append(FunctionalCall(name, settings, where, source_site(source, line)))
    return sorted(calls, key=lambda call: int(call.where.split(":")[1].split(" ")[0]))


def source_site(source: str, line: int) -> str:
    """`file:line`, the file relative to the working directory (the workspace root, where checks run) when it
    lies under it."""
    path = Path(source)
    with contextlib.suppress(ValueError, OSError):  # outside the workspace (an installed package): as it is
        path = path.resolve().relative_to(Path.cwd().resolve())
    return f"{path}:{line}"


def _settings(name: str, node: ast.Call) -> tuple[tuple[str, Any], ...] | None:
    keywords = {keyword.arg: keyword.value for keyword in node.keywords if keyword.arg}
    if name == GELU:
        value = _constant(keywords.get("approximate"), default=False)
        if isinstance(value, str) and value.startswith("<"):  # computed: unknown, never a finding
            return (("approximate", value),)
        return (("approximate", "tanh" if value in (True, "tanh") else "none"),)
    if name == INTERPOLATE:
        return (
            ("mode", _constant(keywords.get("mode"), default="nearest")),
            ("align_corners", _constant(keywords.get("align_corners"), default=False)),
        )
    return None


def _constant(node: ast.expr | None, default: Any) -> Any:
    """A literal keyword value; a computed one is taken as unknown and left alone (never a false finding)."""
    if node is None:
        return default
    if isinstance(node, ast.Constant):
        return default if node.value is None else node.value
    return f"<{ast.unparse(node)}>"
