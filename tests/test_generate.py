"""Script generation: templates render valid Python; the porter's edits are never lost."""

from __future__ import annotations

import hashlib

import pytest

from paddle_port_tui.generate import plan, render_script, write
from paddle_port_tui.state import State, load_state
from paddle_port_tui.steps import STEPS
from paddle_port_tui.workspace import Workspace


@pytest.mark.parametrize("step", STEPS, ids=lambda step: step.id)
def test_every_template_renders_valid_python(step):
    text = render_script(step)
    compile(text, step.script, "exec")
    assert f"Checkpoint {step.number}: {step.title}." in text
    assert text.endswith("\n") and "{{" not in text
    assert f'run_check("{step.id}"' in text


def test_a_step_can_be_named_by_id_or_number():
    assert render_script("3") == render_script("metric") == render_script(STEPS[2])


def test_missing_script_is_written_and_its_hash_saved(tmp_path):
    ws, state = Workspace(tmp_path), State()
    assert plan(ws, state, "forward").status == "missing"
    done = write(ws, state, "forward")
    assert done.written and done.status == "missing" and done.backup is None
    assert ws.script_path("forward").read_text() == render_script("forward")
    saved = load_state(ws).generated["test_tipc/01_test_forward.py"]
    assert saved == hashlib.sha256(render_script("forward").encode()).hexdigest()
    assert plan(ws, state, "forward").status == "current"


def test_an_edited_script_is_kept_unless_forced_then_backed_up(tmp_path):
    ws, state = Workspace(tmp_path), State()
    write(ws, state, "data")
    script = ws.script_path("data")
    porters = script.read_text().replace('if __name__ == "__main__":', "# my tweak\nif __name__ == \"__main__\":")
    script.write_text(porters)

    kept = write(ws, state, "data")
    assert kept.status == "edited" and not kept.written
    assert script.read_text() == porters
    assert "-# my tweak" in kept.diff and kept.diff.startswith("--- test_tipc/02_test_data.py (on disk)")

    forced = write(ws, state, "data", force=True)
    assert forced.written and forced.backup is not None
    assert forced.backup.name.startswith("02_test_data.py.bak-")
    assert forced.backup.read_text() == porters
    assert "-# my tweak" in forced.diff
    assert script.read_text() == render_script("data")
    assert plan(ws, state, "data").status == "current"


def test_a_script_we_wrote_that_lags_the_template_is_outdated_and_rewritten(tmp_path):
    ws, state = Workspace(tmp_path), State()
    old_render = render_script("metric").replace("Checkpoint 3", "Checkpoint three")
    ws.script_path("metric").parent.mkdir(parents=True)
    ws.script_path("metric").write_text(old_render)
    state.generated["test_tipc/03_test_metric.py"] = hashlib.sha256(old_render.encode()).hexdigest()
    assert plan(ws, state, "metric").status == "outdated"
    done = write(ws, state, "metric")
    assert done.written and done.backup is None
    assert ws.script_path("metric").read_text() == render_script("metric")
    assert list(ws.script_path("metric").parent.glob("*.bak-*")) == []


def test_without_a_record_a_different_file_counts_as_edited(tmp_path):
    ws, state = Workspace(tmp_path), State()
    ws.script_path("weights").parent.mkdir(parents=True)
    ws.script_path("weights").write_text("print('my own weights check')\n")
    assert plan(ws, state, "weights").status == "edited"
    ws.script_path("weights").write_text(render_script("weights"))
    assert write(ws, state, "weights").status == "current"
    assert "test_tipc/04_test_weights.py" in load_state(ws).generated
