"""The per-key verdict fields (the rule that decided, the float64 replay's figure and verdict) in the CLI diff
table, the wizard's result view and the reports: shown compactly where a result has them, absent for older
results that do not."""

from __future__ import annotations

import json

import pytest
from fake_checks import write_fake_workspace
from test_tui import plain

from paddle_port_checks.schema import StepResult
from paddle_port_tui.report import export
from paddle_port_tui.state import StepState, load_state, save_state
from paddle_port_tui.tables import diff_table
from paddle_port_tui.tui.result_views import result_view
from paddle_port_tui.workspace import file_hash

MEAN_RULE = "mean abs diff <= 1e-05"


def _key(name: str, mean: float, **verdict: object) -> dict[str, object]:
    return {"key": name, "mean": mean, "max": mean, "min": 0.0, "threshold": 1e-5, "method": "mean"} | {
        "passed": verdict.pop("passed", True),
        **verdict,
    }


REPLAYED = {
    "schema": 2,
    "step": "forward",
    "status": "failed",
    "keys": [
        _key("logits", 9.7e-6, passed=False, rule="float64 replay", float64_diff=9.7e-6, noise_verdict="math differs"),
        _key("pooled", 3e-7, rule=MEAN_RULE, float64_diff=1.2e-15, noise_verdict="noise"),
        # no float64 kernel on the Paddle side: the difference against the reference's noise floor
        _key("hidden", 4e-7, rule=MEAN_RULE, noise_floor=2e-7, noise_verdict="noise"),
        _key("state", 2.4e-6, rule=MEAN_RULE, noise_floor=2e-7, noise_verdict="12x the noise floor"),
    ],
}
OLD = {"schema": 1, "step": "forward", "status": "passed", "keys": [_key("logits", 9e-8)]}


def test_the_diff_table_has_a_float64_column_and_the_rules_under_it_only_when_a_result_has_them() -> None:
    text = plain(diff_table(StepResult.from_json(REPLAYED)), width=160)
    rows = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 3}
    assert "float64" in text.splitlines()[2] and "rule" not in text.splitlines()[2]  # no column: the numbers keep room
    assert "9.70e-06 math differs" in rows["logits"]
    assert "1.20e-15 noise" in rows["pooled"] and "2x floor noise" in rows["hidden"]
    assert "12x the noise floor" in rows["state"] and "floor 12x" not in rows["state"]
    assert f"rules: float64 replay (logits); {MEAN_RULE} (pooled, hidden, state)" in " ".join(text.split())
    single_rule = {**REPLAYED, "keys": REPLAYED["keys"][1:]}
    text = plain(diff_table(StepResult.from_json(single_rule)), width=160)
    assert f"rule: {MEAN_RULE}" in text  # one rule is said once, under the table
    old = plain(diff_table(StepResult.from_json(OLD)), width=160)
    assert "float64" not in old and "rule" not in old


def test_the_wizard_result_view_shows_the_replay_and_its_rule_at_any_width() -> None:
    result = StepResult.from_json(REPLAYED)
    for width in (150, 84):
        text = plain(result_view(result, width), width=width)
        assert "9.70e-06 math differs" in text and "float64 replay (logits)" in " ".join(text.split())


@pytest.mark.parametrize("fmt", ["md", "html", "json"])
def test_the_reports_show_the_replay_per_key(tmp_path, fmt) -> None:
    ws = write_fake_workspace(tmp_path)
    ws.result_dir.mkdir()
    ws.result_path("forward").write_text(json.dumps(REPLAYED))
    state = load_state(ws)
    state.steps["forward"] = StepState(
        status="failed",
        result_path="result/forward.json",
        script_hash=file_hash(ws.script_path("forward")),
        config_hash=ws.config_hash(),
    )
    save_state(ws, state)
    text = export(ws, load_state(ws), fmt).read_text()
    if fmt == "json":
        logits = json.loads(text)["steps"][0]["keys"][0]
        assert (logits["float64_diff"], logits["noise_verdict"], logits["rule"]) == (
            9.7e-6,
            "math differs",
            "float64 replay",
        )
        return
    assert "float64" in text and "9.70e-06 math differs" in text and "1.20e-15 noise" in text
    assert "float64 replay" in text and MEAN_RULE.replace("<", "&lt;") in text
