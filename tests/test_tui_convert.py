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
