"""The data list as editors and servers leave it (issue 11 item 7): a Windows editor's BOM and CRLF line
endings work; a missing image, a folder where an image belongs, an empty or missing list is one line naming
the file (and line) with exit 2. The real demo's data step, on one copy of the demo."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from harness import EXIT_ERROR, EXIT_PASSED, assert_sound, run_check
from workspaces import copy_demo

LIST = "lite_data.txt"
SECOND_IMAGE = "lite_data/images/camera.jpg"  # the list's second line


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_demo(tmp_path_factory.mktemp("data-list-faults") / "ws")


@pytest.fixture
def demo(shared_demo: Path) -> Iterator[Path]:
    """The module's demo copy; each case's list (and folder) is put back afterwards."""
    pristine = (shared_demo / LIST).read_bytes()
    yield shared_demo
    (shared_demo / LIST).write_bytes(pristine)
    for made in ("result", "lite_data/images/a_folder"):
        shutil.rmtree(shared_demo / made, ignore_errors=True)


def edit_list(workspace: Path, edit: Callable[[bytes], bytes]) -> None:
    path = workspace / LIST
    path.write_bytes(edit(path.read_bytes()))


WORKING_ENCODINGS: dict[str, Callable[[bytes], bytes]] = {
    "UTF-8 BOM": lambda text: b"\xef\xbb\xbf" + text,
    "CRLF line endings": lambda text: text.replace(b"\n", b"\r\n"),
    "BOM and CRLF": lambda text: b"\xef\xbb\xbf" + text.replace(b"\n", b"\r\n"),
}


@pytest.mark.parametrize("encoding", WORKING_ENCODINGS)
def test_a_list_saved_by_a_windows_editor_works(demo: Path, capsys: pytest.CaptureFixture[str], encoding: str) -> None:
    edit_list(demo, WORKING_ENCODINGS[encoding])
    assert_sound(run_check(demo, "data", capsys), EXIT_PASSED)


def _second_line_names_a_folder(workspace: Path) -> None:
    (workspace / "lite_data/images/a_folder").mkdir()
    edit_list(workspace, lambda text: text.replace(SECOND_IMAGE.encode(), b"lite_data/images/a_folder"))


BROKEN_LISTS: dict[str, tuple[Callable[[Path], None], list[str]]] = {
    "an image that is not there": (
        lambda ws: edit_list(ws, lambda text: text.replace(SECOND_IMAGE.encode(), b"lite_data/images/gone.jpg")),
        [f"{LIST}:2:", "image not found", "gone.jpg"],
    ),
    "a folder where an image belongs": (_second_line_names_a_folder, [f"{LIST}:2:", "a_folder"]),
    "an empty list": (lambda ws: edit_list(ws, lambda text: b""), [LIST, "no samples"]),
    "a list of blank lines": (lambda ws: edit_list(ws, lambda text: b"\n  \n\n"), [LIST, "no samples"]),
    "no list at all": (lambda ws: (ws / LIST).unlink(), [LIST, "not found"]),
}


@pytest.mark.parametrize("fault", BROKEN_LISTS)
def test_a_broken_list_is_one_line_naming_the_file(demo: Path, capsys: pytest.CaptureFixture[str], fault: str) -> None:
    break_it, names = BROKEN_LISTS[fault]
    break_it(demo)
    outcome = run_check(demo, "data", capsys)
    assert_sound(outcome, EXIT_ERROR, names)
