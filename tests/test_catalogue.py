"""The step catalogue is the one declaration of the steps: everything that lists steps agrees with it."""

from __future__ import annotations

from pathlib import Path

import pytest

from paddle_port_checks import catalogue
from paddle_port_checks.catalogue import STEPS, markdown_table, step_by_id
from paddle_port_checks.config import DEFAULT_THRESHOLDS, parse_config
from paddle_port_tui.cli import build_parser

REPO = Path(__file__).resolve().parents[1]


def test_readme_step_table_is_the_catalogue() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert markdown_table() in readme, "README's step table differs from catalogue.markdown_table(): paste it in"


def test_config_defaults_come_from_the_catalogue(tmp_path: Path) -> None:
    config = parse_config('[reference]\nmodel = "a:b"\n[paddle]\nmodel = "c:d"\n', tmp_path / "paddle_port.toml")
    assert config.thresholds == {step.id: step.threshold for step in STEPS} == DEFAULT_THRESHOLDS
    assert config.weights_mapping == catalogue.DEFAULT_MAPPING_FILE


def test_every_step_has_a_template_module_and_script_name() -> None:
    templates = REPO / "templates"
    steps_dir = REPO / "checks" / "steps"
    for step in STEPS:
        assert (templates / step.template).is_file(), step.template
        assert (steps_dir / f"{step.id}.py").is_file(), f"checks/steps/{step.id}.py"
        assert (REPO / step.script).is_file(), f"the demo workspace has no {step.script}"
        assert step.pass_rule and step.proves and step.porter_writes


def test_cli_help_names_every_step() -> None:
    help_text = build_parser().format_help() + build_parser()._subparsers._group_actions[0].choices["run"].format_help()
    for step in STEPS:
        assert step.id in help_text


def test_steps_are_found_by_id_and_number_and_unknown_names_list_the_valid_ones() -> None:
    assert step_by_id("3") is step_by_id("metric")
    with pytest.raises(KeyError, match="expected one of forward, data"):
        step_by_id("nosuch")


def test_the_wizard_about_text_is_the_catalogue_text() -> None:
    from paddle_port_tui.tui.step_page import about

    step = step_by_id("weights")
    text = about(step, None).plain
    assert step.proves in text and step.porter_writes in text and catalogue.DEFAULT_MAPPING_FILE in text
