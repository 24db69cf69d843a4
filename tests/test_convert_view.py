"""The wizard's step 0 view of a conversion record, from a document written by hand (no PaConvert)."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any

from rich.console import Console

from paddle_port_tui import convert_view
from paddle_port_tui.tui.app import editor_command


def plain(renderable: Any, width: int = 120) -> str:
    console = Console(width=width, file=io.StringIO(), record=True, color_system=None)
    console.print(renderable)
    return console.export_text()


def document(dst: Path, **changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "src": str(dst.parent / "torch_src"),
        "dst": str(dst),
        "log": str(dst / ".paddle_port_convert.log"),
        "rate": 93.75,
        "apis_total": 16,
        "apis_converted": 15,
        "apis_not_converted": 1,
        "converted": [{"name": "torch.nn.Linear", "count": 3}],
        "unconverted": [
            {"file": "model.py", "line": 12, "api": "torch.fancy", "source_line": 11, "text": "torch.fancy(x)"},
            {"file": "util.py", "line": 4, "api": "torch.fancy", "source_line": 4, "text": "torch.fancy(y)"},
            {"file": "util.py", "line": None, "api": "torch.other", "source_line": 9, "text": ""},
        ],
        "comments_dropped": {"model.py": 2},
        "smoke": [
            {"file": "model.py", "ok": True, "line": None, "failing_file": None, "text": "", "error": "", "seconds": 1},
            {
                "file": "train.py",
                "ok": False,
                "line": 7,
                "failing_file": "data.py",
                "text": "loader = paddle.utils.data.DataLoader(ds)",
                "error": "AttributeError: module 'paddle.utils' has no attribute 'data'",
                "seconds": 1.2,
            },
        ],
        "rule_hits": [
            {
                "file": "data.py",
                "line": 7,
                "rule": "paddle-io",
                "text": "loader = paddle.utils.data.DataLoader(ds)",
                "suggested": "loader = paddle.io.DataLoader(ds)",
                "safe": True,
                "why": "PaConvert 3.3.1 leaves torch.utils.data as paddle.utils.data",
            },
            {
                "file": "model.py",
                "line": 30,
                "rule": "view",
                "text": "y = x.view(2, -1)",
                "suggested": "use x.reshape([2, -1])",
                "safe": False,
                "why": "breaks paddle.jit.save",
            },
        ],
        "fix_diff": None,
        "smoke_after_fix": None,
        "passed": False,
    }
    doc.update(changes)
    return doc


def test_renderable_shows_rate_grouped_unconverted_smoke_faults_and_next(tmp_path: Path) -> None:
    dst = tmp_path / "paddle_src"
    text = plain(convert_view.convert_renderable(document(dst), tmp_path, ["torch_src.model:Net"]))
    assert "convert rate 93.75%: 15 of 16 torch APIs converted, 1 not" in text
    assert "torch.fancy: model.py:12, util.py:4" in text  # grouped by API
    assert "torch.other: util.py" in text
    assert "comments dropped by PaConvert: model.py (2)" in text
    assert "model.py: ok" in text
    assert "train.py: fails at data.py:7: AttributeError" in text
    assert "edit (--fix): loader = paddle.io.DataLoader(ds)" in text
    assert "by hand: use x.reshape([2, -1])" in text
    assert "paddle-port init --from-convert paddle_src" in text


def test_next_is_the_forward_step_once_the_config_names_dst(tmp_path: Path) -> None:
    dst = tmp_path / "paddle_src"
    text = plain(convert_view.convert_renderable(document(dst), tmp_path, ["paddle_src.model:Net"]))
    assert "init --from-convert" not in text and "paddle-port run forward" in text
    assert convert_view.names_dst(document(dst), tmp_path, ["paddle_src:Net"])
    assert not convert_view.names_dst(document(dst), tmp_path, ["paddle_srcx.model:Net"])


def test_after_fix_the_final_smoke_and_fixed_hits(tmp_path: Path) -> None:
    dst = tmp_path / "paddle_src"
    after = [{"file": "train.py", "ok": True, "line": None, "failing_file": None, "text": "", "error": ""}]
    doc = document(dst, fix_diff="--- a\n+++ b\n", smoke_after_fix=after)
    text = plain(convert_view.convert_renderable(doc))
    assert "Smoke import after --fix" in text and "fixed by --fix: loader = paddle.io.DataLoader(ds)" in text
    labels = [location.label for location in convert_view.locations(doc)]
    assert not any(label.startswith("fails") for label in labels)  # the fix made it import
    assert not any("paddle-io" in label for label in labels) and any("[view]" in label for label in labels)


def test_locations_failing_smoke_first_then_unconverted_then_faults(tmp_path: Path) -> None:
    dst = tmp_path / "paddle_src"
    found = convert_view.locations(document(dst))
    assert [(location.path, location.line) for location in found] == [
        (dst / "data.py", 7),
        (dst / "model.py", 12),
        (dst / "util.py", 4),
        (dst / "util.py", None),
        (dst / "data.py", 7),
        (dst / "model.py", 30),
    ]
    assert found[0].label.startswith("fails: data.py:7: AttributeError")


def test_find_records_depth_skips_and_newest_first(tmp_path: Path) -> None:
    def record(folder: str, mtime: float) -> Path:
        path = tmp_path / folder / convert_view.RECORD
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
        os.utime(path, (mtime, mtime))
        return path

    old = record("paddle_old", 1_000)
    new = record("a/b/paddle_new", 2_000)
    record("a/b/c/too_deep", 3_000)
    record(".venv/lib", 3_000)
    record("result/x", 3_000)
    (tmp_path / convert_view.RECORD).write_text("{}")  # the root itself is no DST
    assert convert_view.find_records(tmp_path) == [new, old]


def test_a_record_that_cannot_be_read_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / convert_view.RECORD
    path.write_text("{not json")
    for content in ("{not json", json.dumps([1])):
        path.write_text(content)
        try:
            convert_view.read_document(path)
        except convert_view.ConvertViewError as error:
            assert str(path) in str(error) and "\n" not in str(error)
        else:
            raise AssertionError("no error")


def test_editor_command_takes_a_line_where_the_editor_does(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    assert editor_command("vim", path, 7) == ["vim", "+7", str(path)]
    assert editor_command("/usr/bin/nano", path, 7) == ["/usr/bin/nano", "+7", str(path)]
    assert editor_command("emacs -nw", path, 7) == ["emacs", "-nw", "+7", str(path)]
    assert editor_command("code --wait", path, 7) == ["code", "--wait", "-g", f"{path}:7"]
    assert editor_command("gedit", path, 7) == ["gedit", str(path)]
    assert editor_command("vi", path, None) == ["vi", str(path)]
