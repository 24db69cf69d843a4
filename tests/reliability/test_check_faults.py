"""Faults inside a check (issue 11 item 6): each is one line naming the file (and line, item or key) with
exit 2, or, where recovering is right (our own cache), a recomputation and a warning. Every case runs the
real demo, and none may change a file of the porter's."""

from __future__ import annotations

import errno
import os
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from harness import CLI, EXIT_ERROR, Outcome, assert_sound, porters_files, run_check
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks import atomic, session

TRUNCATED_IMAGE = "lite_data/images/chelsea.jpg"  # the list's third line: item 2, in the first batch


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    return copy_demo(tmp_path / "ws")


@pytest.fixture
def unchanged(demo: Path) -> Iterator[Any]:
    """Call with the workspace once the fault is in place; the test's end checks no porter's file changed."""
    before: dict[str, str] = {}

    def snapshot() -> None:
        before.update(porters_files(demo))

    yield snapshot
    assert before, "the test took no snapshot of the porter's files"
    assert porters_files(demo) == before


def edit_list_line(workspace: Path, number: int, new: bytes) -> None:
    lines = (workspace / "lite_data.txt").read_bytes().splitlines()
    lines[number - 1] = new
    (workspace / "lite_data.txt").write_bytes(b"\n".join(lines) + b"\n")


def exit_code_without_result(monkeypatch: pytest.MonkeyPatch, workspace: Path, step: str) -> int:
    """Run a step whose result cannot be written at all: its exit code (run_step's reading of the result
    fails, as the app's would)."""
    codes: list[int] = []
    real_run_check = session.run_check

    def recorded(*args: Any, **kwargs: Any) -> int:
        codes.append(real_run_check(*args, **kwargs))
        return codes[-1]

    monkeypatch.setattr(session, "run_check", recorded)
    with pytest.raises(OSError):
        run_step(workspace, step)
    return codes[0]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


# --- our own cache: a miss, recomputed, with a warning ------------------------------------------------
@pytest.mark.parametrize("damaged", ["forward.npz", "forward.json"])
def test_unreadable_cache_entry_is_recomputed_with_a_warning(demo: Path, unchanged: Any, damaged: str) -> None:
    assert run_step(demo, "forward")[0] == 0
    entry = demo / "result" / "cache" / damaged
    entry.write_bytes(entry.read_bytes()[:50])  # truncated, as a full disk or a killed copy leaves it
    unchanged()
    code, result = run_step(demo, "forward")
    assert (code, result["status"], result["reference"]["reused"]) == (0, "passed", False), result["error"]
    assert f"reference recomputed: result/cache/{damaged} was unreadable (" in result["warnings"][0]
    # The rewritten entry is reused: a damaged cache never fails (or recomputes) every run until --fresh.
    code, result = run_step(demo, "forward")
    assert (code, result["reference"]["reused"], result["warnings"]) == (0, True, [])


# --- a result folder that cannot be written -------------------------------------------------------------
def test_disk_full_while_saving_evidence_is_one_line(
    demo: Path, unchanged: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_write = atomic._write_bytes_atomic

    def full_for_evidence(target: Path, data: bytes) -> Path:
        if target.suffix == ".npy":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(target, data)

    monkeypatch.setattr(atomic, "_write_bytes_atomic", full_for_evidence)
    unchanged()
    error = assert_sound(run_check(demo, "forward", capsys), EXIT_ERROR, [".npy: No space left on device"])
    assert error.startswith("cannot write result/forward_")


def test_disk_full_for_every_file_is_one_line_and_exit_2(
    demo: Path, unchanged: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_space(descriptor: int) -> None:  # fsync is where a full disk (or NFS quota) reports at the latest
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, "fsync", no_space)
    unchanged()
    assert exit_code_without_result(monkeypatch, demo, "forward") == EXIT_ERROR
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert error_lines(stderr)[-1] == "error: cannot write result/forward.json: No space left on device"


def _tmpfs_namespace() -> list[str] | None:
    """`unshare -rm`: a user and mount namespace of our own, where a tmpfs can be mounted without privileges."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-rm", "mount", "-t", "tmpfs", "tmpfs", "/mnt"]).returncode == 0:
        return [unshare, "-rm"]
    return None


@pytest.mark.skipif(_tmpfs_namespace() is None, reason="no user and mount namespaces here for a real full disk")
def test_a_really_full_disk_under_result_is_one_line_per_file_and_exit_2(demo: Path) -> None:
    """A 256 KiB tmpfs mounted on result/ and filled up: the kernel's ENOSPC, not a simulated one."""
    namespace = _tmpfs_namespace()
    assert namespace is not None
    (demo / "result").mkdir(exist_ok=True)
    before = porters_files(demo)
    result = demo / "result"
    script = (
        f"mount -t tmpfs -o size=256k tmpfs {result} && dd if=/dev/zero of={result}/fill bs=4k count=64 2>/dev/null;"
        f" {shlex.join([*CLI, 'run', 'forward'])}"
    )
    done = subprocess.run([*namespace, "sh", "-c", script], cwd=demo, capture_output=True, text=True, timeout=180)
    errors = [line.removeprefix("error: ") for line in done.stdout.splitlines() if line.startswith("error: ")]
    outcome = Outcome(demo, before, done.returncode, done.stdout, done.stderr, errors[:1], step="forward")
    assert_sound(outcome, EXIT_ERROR, names=["result/", "No space left on device"])


def test_a_file_where_the_result_folder_belongs_is_one_line_and_exit_2(
    demo: Path, unchanged: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (demo / "result").write_text("not a folder\n")
    unchanged()
    assert exit_code_without_result(monkeypatch, demo, "forward") == EXIT_ERROR
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr
    assert error_lines(stderr)[-1] == "error: cannot write result/forward.json: result is a file, not a folder"
    assert (demo / "result").read_text() == "not a folder\n"


# --- the data list ---------------------------------------------------------------------------------------
def test_latin1_byte_in_the_data_list_names_file_line_and_byte(
    demo: Path, unchanged: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    edit_list_line(demo, 3, "lite_data/images/chelsea.jpg 1 # café".encode("latin-1"))
    unchanged()
    error = assert_sound(run_check(demo, "data", capsys), EXIT_ERROR, ["lite_data.txt:3:", "not UTF-8", "0xe9"])
    assert error.endswith("save the list as UTF-8")


@pytest.mark.parametrize(
    ("label", "says"),
    [("-1", "label -1 is negative: labels index the classes"), ("cat", "expected '<image path> <integer label>'")],
)
def test_a_label_that_is_no_class_index_names_file_and_line(
    demo: Path, unchanged: Any, capsys: pytest.CaptureFixture[str], label: str, says: str
) -> None:
    edit_list_line(demo, 2, f"lite_data/images/camera.jpg {label}".encode())
    unchanged()
    assert_sound(run_check(demo, "data", capsys), EXIT_ERROR, ["lite_data.txt:2:", says])


# --- the porter's readers: an image that cannot be decoded -----------------------------------------------
@pytest.mark.parametrize("step", ["data", "metric"])
def test_truncated_jpeg_names_the_item_and_its_file(
    demo: Path, unchanged: Any, capsys: pytest.CaptureFixture[str], step: str
) -> None:
    image = demo / TRUNCATED_IMAGE
    image.write_bytes(image.read_bytes()[:300])
    unchanged()
    error = assert_sound(run_check(demo, step, capsys), EXIT_ERROR, [TRUNCATED_IMAGE])
    assert error.startswith(f"[reference.dataset] item 2 ({TRUNCATED_IMAGE}): OSError"), error


def test_an_image_pil_cannot_open_names_the_item_in_predict(
    demo: Path, unchanged: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    first = (demo / "lite_data.txt").read_text().split()[0]
    (demo / first).write_bytes(b"not an image at all\n")
    unchanged()
    error = assert_sound(run_check(demo, "predict", capsys), EXIT_ERROR, [first])
    assert error.startswith(f"[reference.dataset] item 0 ({first}): UnidentifiedImageError"), error


# --- the porter's model factory --------------------------------------------------------------------------
def test_a_model_factory_that_raises_names_the_key_last(demo: Path, unchanged: Any) -> None:
    model_file = demo / "demo_port" / "paddle_model.py"
    model_file.write_text(
        model_file.read_text() + "\n\ndef broken(**kwargs):\n    raise TypeError('a bug in __init__')\n"
    )
    set_config(demo, 'model = "demo_port.paddle_model:resnet18"', 'model = "demo_port.paddle_model:broken"')
    unchanged()
    code, result = run_step(demo, "forward")
    assert (code, result["status"]) == (EXIT_ERROR, "error")
    # The porter's own traceback is kept (their code to debug); its last line says which key was built.
    lines = result["error"].splitlines()
    assert lines[-2:] == [
        "TypeError: a bug in __init__",
        "[paddle.model] raised while calling demo_port.paddle_model:broken",
    ]
