"""Lint findings as part of a step's verdict: grouped, counted by severity, said the same way everywhere.

A check passes or fails on its numbers; a pitfall finding beside a pass (a BatchNorm momentum copied from
torch: invisible in eval mode, fatal to training) must still be read, so every face says "passed · 1
warning" and lists the finding with its fix and where the Paddle layer is written. Twenty BatchNorms with
the same momentum are one finding naming twenty layers: the count is of mismatches, not of layers. The
exit code does not change: a passed step with findings still exits 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from paddle_port_checks.schema import Finding

LAYERS_NAMED = 3  # layers named in one line of text before "…"


@dataclass(frozen=True)
class FindingGroup:
    """One kind of mismatch and every layer that has it."""

    attribute: str
    torch_value: Any
    paddle_value: Any
    expected_paddle_value: Any
    fix: str
    why: str
    severity: str  # error | warning: the worst of its members
    visible_in_eval: bool  # any member visible
    layers: tuple[str, ...]  # the Paddle layers (or functional call sites), in the check's order
    torch_layers: tuple[str, ...]
    defined_at: tuple[str, ...]  # distinct `file:line`s where those layers are written, in order

    def to_json(self) -> dict[str, Any]:
        """The finding as `run --json` and the JSON report carry it."""
        from paddle_port_checks.schema import to_json

        return {
            "rule": self.attribute,
            "severity": self.severity,
            "layers": list(self.layers),
            "torch_layers": list(self.torch_layers),
            "torch_value": to_json(self.torch_value),
            "paddle_value": to_json(self.paddle_value),
            "expected_paddle_value": to_json(self.expected_paddle_value),
            "fix": self.fix,
            "defined_at": list(self.defined_at),
            "visible_in_eval": self.visible_in_eval,
            "why": self.why,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> FindingGroup:
        """A group back from its document (the report renders its plain dict)."""
        return cls(
            attribute=raw["rule"],
            torch_value=raw["torch_value"],
            paddle_value=raw["paddle_value"],
            expected_paddle_value=raw["expected_paddle_value"],
            fix=raw["fix"],
            why=raw["why"],
            severity=raw["severity"],
            visible_in_eval=raw["visible_in_eval"],
            layers=tuple(raw["layers"]),
            torch_layers=tuple(raw["torch_layers"]),
            defined_at=tuple(raw["defined_at"]),
        )

    def headline(self) -> str:
        """`momentum: paddle 0.1, expected 0.9 (torch 0.1), invisible in eval mode, in 20 layers (bn1, …)`."""
        count = f"{len(self.layers)} layers" if len(self.layers) > 1 else "1 layer"
        named = ", ".join(self.layers[:LAYERS_NAMED]) + (", …" if len(self.layers) > LAYERS_NAMED else "")
        hidden = "" if self.visible_in_eval else ", invisible in eval mode,"
        return (
            f"{self.attribute}: paddle {_value(self.paddle_value)}, expected {_value(self.expected_paddle_value)} "
            f"(torch {_value(self.torch_value)}){hidden} in {count} ({named})"
        )

    def remedy(self) -> str:
        """`fix: paddle.nn.BatchNorm2D(momentum=0.9) at demo_port/paddle_model.py:20, :23 +2 more`, or ""."""
        parts = [f"fix: {self.fix}"] if self.fix else []
        if self.defined_at:
            parts.append(f"at {places(self.defined_at)}")
        return " ".join(parts)


def grouped(findings: Iterable[Finding]) -> list[FindingGroup]:
    """One group per distinct mismatch (setting, values, fix), in the order first found."""
    members: dict[tuple[str, str, str, str, str], list[Finding]] = {}
    for finding in findings:
        key = (
            finding.attribute,
            _value(finding.torch_value),
            _value(finding.paddle_value),
            _value(finding.expected_paddle_value),
            finding.fix,
        )
        members.setdefault(key, []).append(finding)
    groups = []
    for found in members.values():
        first = found[0]
        groups.append(
            FindingGroup(
                attribute=first.attribute,
                torch_value=first.torch_value,
                paddle_value=first.paddle_value,
                expected_paddle_value=first.expected_paddle_value,
                fix=first.fix,
                why=first.why,
                severity="error" if any(member.severity == "error" for member in found) else "warning",
                visible_in_eval=any(member.visible_in_eval for member in found),
                layers=tuple(member.paddle_layer for member in found),
                torch_layers=tuple(member.torch_layer for member in found),
                defined_at=tuple(dict.fromkeys(member.defined_at for member in found if member.defined_at)),
            )
        )
    return groups


def count_label(groups: Iterable[FindingGroup]) -> str:
    """`1 warning`, `2 findings`, `1 finding, 1 warning`; "" without any. A finding that changes outputs
    is a "finding" (a passed step's numbers may still hide it); one eval mode cannot see is a "warning"."""
    groups = list(groups)
    errors = sum(group.severity == "error" for group in groups)
    warnings = len(groups) - errors
    parts = [f"{errors} finding{'s' if errors != 1 else ''}"] if errors else []
    if warnings:
        parts.append(f"{warnings} warning{'s' if warnings != 1 else ''}")
    return ", ".join(parts)


def verdict_label(status: str, groups: Iterable[FindingGroup]) -> str:
    """`passed · 1 warning`: the status, then what its findings add."""
    counted = count_label(groups)
    return f"{status} · {counted}" if counted else status


def places(sites: Iterable[str]) -> str:
    """`demo_port/paddle_model.py:20, :23, :28 +1 more`: one file named once, at most three places."""
    shown, last_file, listed = [], None, list(sites)
    for site in listed[:LAYERS_NAMED]:
        file, _, line = site.rpartition(":")
        shown.append(f":{line}" if file == last_file and line else site)
        last_file = file
    more = len(listed) - LAYERS_NAMED
    return ", ".join(shown) + (f" +{more} more" if more > 0 else "")


def _value(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)
