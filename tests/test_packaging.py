"""The package respects the porter's environment: its extras are ranges, the tested builds a constraints file."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def extra(name: str) -> dict[str, Requirement]:
    return {Requirement(text).name: Requirement(text) for text in PROJECT["optional-dependencies"][name]}


@pytest.mark.parametrize("torch", ["2.13.0", "2.14.0", "2.14.1", "2.9.1"])
def test_the_cpu_extra_keeps_a_porters_torch(torch: str) -> None:
    assert extra("cpu")["torch"].specifier.contains(torch), f"pip install paddle-port[cpu] would replace torch {torch}"


def test_no_framework_is_pinned_exactly_in_the_extras() -> None:
    for name in ("cpu", "gpu"):
        for requirement in extra(name).values():
            assert not any(spec.operator == "==" for spec in requirement.specifier), f"[{name}] pins {requirement}"


def test_the_constraints_are_the_tested_builds_and_inside_the_ranges() -> None:
    lines = [line for line in (REPO / "constraints.txt").read_text().splitlines() if line and not line.startswith("#")]
    pins = {Requirement(line).name: Requirement(line) for line in lines}
    assert str(pins["torch"].specifier) == "==2.13.0" and str(pins["paddlepaddle"].specifier) == "==3.3.1"
    cpu = extra("cpu")
    for name, pin in pins.items():
        version = next(iter(pin.specifier)).version
        assert cpu[name].specifier.contains(version), f"constraints.txt pins {name} {version} outside [cpu]"
    assert "-c constraints.txt" in (REPO / "scripts" / "setup.sh").read_text()
