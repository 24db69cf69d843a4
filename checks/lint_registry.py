"""The lint rules' registry: a rule reads one setting of a torch layer and of its Paddle twin.

A rule is a small function registered for the layer kinds it applies to (``layer_kinds.layer_kind``); it
yields a Setting per value it reads: the torch and the Paddle value, the Paddle value that would match the
torch one, and why a mismatch matters. The lint engine (``lint.py``) pairs the layers, runs every rule
registered for their kind in registration order, and reports the settings whose Paddle value is not the
expected one. A new pitfall is one more decorated function; the engine does not change::

    @lint_rule("dropout")
    def dropout_p(torch_layer: Any, paddle_layer: Any) -> Iterator[Setting]:
        yield Setting("p", torch_layer.p, paddle_layer.p, "a different drop probability changes training")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

_AS_TORCH: Any = object()


@dataclass(frozen=True)
class Setting:
    """One setting of a layer pair: both values, and why a mismatch matters.

    ``expected`` is the Paddle value that matches the torch one, where the conventions differ (Paddle's
    BatchNorm momentum is 1 - torch's); by default it is the torch value itself. The fix a finding names is
    the Paddle constructor's ``argument`` (default: the attribute's own name) set to ``fix_value`` (default:
    ``expected``); ``fix`` says it in words instead where no argument fixes it (Paddle has no such option).
    """

    attribute: str
    torch_value: Any
    paddle_value: Any
    why: str
    visible_in_eval: bool = True
    expected: Any = _AS_TORCH
    argument: str = ""
    fix_value: Any = _AS_TORCH
    fix: str = ""

    @property
    def expected_paddle_value(self) -> Any:
        return self.torch_value if self.expected is _AS_TORCH else self.expected

    @property
    def paddle_argument(self) -> tuple[str, Any]:
        """The Paddle constructor argument that sets this, and the value that matches the reference."""
        value = self.expected_paddle_value if self.fix_value is _AS_TORCH else self.fix_value
        return self.argument or self.attribute, value


LintRule = Callable[[Any, Any], Iterable[Setting]]
_Rule = TypeVar("_Rule", bound=LintRule)
_RULES: dict[str, list[LintRule]] = {}


def lint_rule(*kinds: str) -> Callable[[_Rule], _Rule]:
    """Register a rule ``(torch_layer, paddle_layer) -> the Settings it reads`` for pairs of these layer kinds."""

    def register(rule: _Rule) -> _Rule:
        for kind in kinds:
            _RULES.setdefault(kind, []).append(rule)
        return rule

    return register


def rules_for(kind: str) -> tuple[LintRule, ...]:
    """The rules registered for one layer kind, in registration order."""
    return tuple(_RULES.get(kind, ()))
