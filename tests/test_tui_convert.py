"""The wizard's step 0 page (`k`), driven with Pilot over a fake workspace with a conversion record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fake_checks import write_fake_workspace
from test_convert_view import document, plain
from test_tui import SIZE, sync, wizard_app
from textual.widgets import OptionList, Static

from paddle_port_tui.tui.convert_screen import ConvertScreen
from paddle_port_tui.tui.wizard import WizardScreen


@sync
async def test_k_shows_the_record_and_enter_opens_the_failing_line(tmp_path: Path, monkeypatch: Any) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    dst = ws.root / "paddle_src"
    dst.mkdir()
    (dst / ".paddle_port_convert.json").write_text(json.dumps(document(dst)))
    app = wizard_app(ws)
    opened: list[tuple[Path, int | None]] = []
    monkeypatch.setattr(app, "open_in_editor", lambda path, line=None: opened.append((path, line)))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k")
        screen = app.screen
        assert isinstance(screen, ConvertScreen)
        text = plain(screen.query_one("#convert-report", Static).content)
        assert "93.75%" in text and "train.py: fails at data.py:7" in text
        assert "paddle-port init --from-convert paddle_src" in text
        assert screen.query_one(OptionList).has_focus
        await pilot.press("enter")
        assert opened == [(dst / "data.py", 7)]
        await pilot.press("down", "enter")
        assert opened[-1] == (dst / "model.py", 12)
        await pilot.press("escape")
        assert isinstance(app.screen, WizardScreen)


@sync
async def test_without_a_record_it_says_how_to_make_one(tmp_path: Path) -> None:
    ws = write_fake_workspace(tmp_path / "ws")
    (ws.root / "bad").mkdir()
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k")
        text = plain(app.screen.query_one("#convert-report", Static).content)
        assert "paddle-port convert SRC --out DST -w ." in text
        assert not app.screen.query_one(OptionList).display
        await pilot.press("escape")
        (ws.root / "bad" / ".paddle_port_convert.json").write_text("{broken")
        await pilot.press("k")
        text = plain(app.screen.query_one("#convert-report", Static).content)
        assert "bad/.paddle_port_convert.json: cannot be read" in text


def test_the_dialogs_defaults_are_the_reference_package_and_a_new_folder(tmp_path: Path) -> None:
    from paddle_port_tui.tui.convert_screen import default_paths

    (tmp_path / "torch_src").mkdir()
    assert default_paths(tmp_path, "torch_src.model:build") == ("torch_src", "torch_src_paddle")
    (tmp_path / "torch_src_paddle").mkdir()
    (tmp_path / "torch_src_paddle" / "model.py").write_text("")
    assert default_paths(tmp_path, "torch_src.model:build") == ("torch_src", "torch_src_paddle_2")
    assert default_paths(tmp_path, "torchvision.models:resnet18") == ("", "converted_paddle")


@sync
async def test_r_asks_for_src_and_dst_and_w_writes_the_converted_factories(tmp_path: Path, monkeypatch: Any) -> None:
    """The page's actions run the CLI's convert and init: convert is recorded (PaConvert itself is tested in
    test_convert_command), init runs for real (no framework: the config's [paddle] model changes)."""
    from textual.widgets import Input

    ws = write_fake_workspace(tmp_path / "ws")
    (ws.root / "torch_src").mkdir()
    (ws.root / "torch_src" / "data.py").write_text("def build(): ...\n")
    dst = ws.root / "paddle_src"
    dst.mkdir()
    (dst / "data.py").write_text("def build(): ...\n")
    record = document(dst) | {"src": str(ws.root / "torch_src")}
    (dst / ".paddle_port_convert.json").write_text(json.dumps(record))
    app = wizard_app(ws)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("k")
        screen = app.screen
        assert isinstance(screen, ConvertScreen)
        ran: list[list[str]] = []
        monkeypatch.setattr(screen, "_cli", lambda arguments, what: ran.append(arguments))
        await pilot.press("r")
        await pilot.pause()
        assert app.screen.query_one("#convert-src", Input).value == ""  # the fake workspace's model is no folder
        app.screen.query_one("#convert-src", Input).value = "torch_src"
        await pilot.press("enter")
        await pilot.pause()
        assert ran and ran[-1][:4] == ["convert", "torch_src", "--out", "converted_paddle"] and "--fix" in ran[-1]
        monkeypatch.undo()
        config = ws.root / "paddle_port.toml"
        config.write_text(config.read_text().replace("[reference]", '[reference]\ndataset = "torch_src.data:build"', 1))
        await pilot.press("w")
        for _ in range(100):
            await pilot.pause(0.1)
            if 'dataset = "paddle_src.data:build"' in config.read_text():
                break
        assert 'dataset = "paddle_src.data:build"' in config.read_text()
