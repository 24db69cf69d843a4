"""Script generation: templates render valid Python; the porter's edits are never lost."""

from __future__ import annotations

import hashlib

import pytest

from paddle_port_checks.catalogue import STEPS
from paddle_port_tui.generate import plan, render_script, write
from paddle_port_tui.state import State, load_state
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
    porters = script.read_text().replace('if __name__ == "__main__":', '# my tweak\nif __name__ == "__main__":')
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


def test_run_knows_a_script_is_current_without_rendering_and_notices_template_upgrades(tmp_path, monkeypatch):
    """`run`'s fast path (no Jinja2): current/edited from the render record; a template change falls back."""
    import shutil

    from fake_checks import write_fake_workspace

    from paddle_port_tui import generate
    from paddle_port_tui.generate import known_status, plan, render_script, write

    ws = write_fake_workspace(tmp_path / "ws", {})
    state = load_state(ws)
    assert known_status(ws, state, "forward") is None  # the porter's script, never recorded
    assert write(ws, state, "forward").status == "edited" and known_status(ws, state, "forward") == "edited"
    ws.script_path("data").unlink()
    assert known_status(ws, state, "data") is None
    assert write(ws, state, "data").status == "missing" and known_status(ws, state, "data") == "current"
    text = ws.script_path("data").read_text()
    ws.script_path("data").write_text(text + "# mine\n")
    assert known_status(ws, state, "data") == "edited" == plan(ws, state, "data").status
    ws.script_path("data").write_text(text)
    assert known_status(ws, state, "data") == "current"
    del state.generated["test_tipc/02_test_data.py"]  # a lost hash: the record alone is not enough
    assert known_status(ws, state, "data") is None
    assert write(ws, state, "data").status == "current" and known_status(ws, state, "data") == "current"
    templates = tmp_path / "templates"
    shutil.copytree(generate.TEMPLATES_DIR, templates)
    monkeypatch.setattr(generate, "TEMPLATES_DIR", templates)
    generate._environment.cache_clear()
    try:
        (templates / "_header.py.j2").write_text((templates / "_header.py.j2").read_text() + "# upgraded\n")
        assert known_status(ws, state, "data") is None
        assert plan(ws, state, "data").status == "outdated"
        assert write(ws, state, "data").written and known_status(ws, state, "data") == "current"
        assert "# upgraded" in render_script("data")
        (ws.state_dir / "renders.json").write_text("{not json")
        assert known_status(ws, state, "data") is None
    finally:
        generate._environment.cache_clear()
