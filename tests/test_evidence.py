"""evidence and atomic: files reviewers can read with reprod_log, written so no reader sees half a file."""

from __future__ import annotations

import json
import logging
import os
import re

import numpy as np
import pytest

from paddle_port_checks import atomic
from paddle_port_checks.atomic import write_json_atomic, write_text_atomic
from paddle_port_checks.compare import compare
from paddle_port_checks.evidence import diff_log_messages, save_arrays, write_diff_log, write_result

# reprod_log's formatter: '[%(asctime)s] %(name)s %(levelname)s: %(message)s', datefmt "%Y/%m/%d %H:%M:%S".
REPROD_LINE = re.compile(r"^\[\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}\] root INFO: (.*)$")


def messages_of(text: str) -> list[str]:
    """The messages of a reprod_log-format log; fails on any line not in that format."""
    matches = [REPROD_LINE.match(line) for line in text.splitlines()]
    assert all(matches), text
    return [match.group(1) for match in matches]


def run_reprod_log_report(ref: dict, paddle: dict, method: str, threshold: float, path) -> str:
    """reprod_log's own report, with the root-logger handlers it adds removed afterwards."""
    from reprod_log import ReprodDiffHelper

    logger = logging.getLogger("root")
    before = list(logger.handlers)
    try:
        helper = ReprodDiffHelper()
        helper.compare_info(ref, paddle)
        helper.report(diff_method=method, diff_threshold=threshold, path=str(path))
    finally:
        for handler in [h for h in logger.handlers if h not in before]:
            logger.removeHandler(handler)
            handler.close()
    return path.read_text()


def test_saved_arrays_load_with_reprod_log(tmp_path):
    from reprod_log import ReprodDiffHelper

    ref = {"logits": np.arange(6, dtype=np.float32).reshape(2, 3), "extra": {"length": 16}}
    paddle = {"logits": np.arange(6, dtype=np.float32).reshape(2, 3) + 1, "extra": {"length": 16}}
    paths = save_arrays(tmp_path / "result", "forward", ref, paddle)
    assert [p.name for p in paths] == ["forward_paddle.npy", "forward_ref.npy"]

    helper = ReprodDiffHelper()
    loaded_paddle, loaded_ref = (helper.load_info(str(p)) for p in paths)
    assert list(loaded_ref) == ["logits", "extra/length"]
    np.testing.assert_array_equal(loaded_ref["logits"], ref["logits"])
    np.testing.assert_array_equal(loaded_paddle["logits"], paddle["logits"])
    assert isinstance(loaded_ref["extra/length"], np.ndarray) and loaded_ref["extra/length"].shape == ()

    # reprod_log can run its own comparison on our evidence files.
    helper.compare_info(loaded_ref, loaded_paddle)
    assert helper.diff_dict["logits"]["mean"] == 1.0
    assert sorted(os.listdir(tmp_path / "result")) == ["forward_paddle.npy", "forward_ref.npy"]


def test_diff_log_matches_reprod_log_report_line_for_line(tmp_path, capsys):
    rng = np.random.default_rng(3)
    close = rng.standard_normal((2, 5))
    ref = {"logits": close, "feature": np.zeros(4)}
    paddle = {"logits": close + 1e-9, "feature": np.ones(4)}

    reprod_text = run_reprod_log_report(ref, paddle, "all", 1e-5, tmp_path / "reprod.log")
    capsys.readouterr()
    path = write_diff_log(tmp_path / "result", "forward", compare(ref, paddle, 1e-5, method="all"))

    assert path == tmp_path / "result" / "log" / "forward_diff.log"
    ours = path.read_text()
    assert messages_of(ours) == messages_of(reprod_text)
    assert messages_of(ours)[-1] == "diff check failed"
    assert capsys.readouterr().out == ours  # the same lines go to stdout


def test_diff_log_names_problems_and_fails(tmp_path, capsys):
    logits = np.ones((1, 10), dtype=np.float32)
    diffs = compare({"logits": logits, "gone": 1.0}, {"logits": logits.T.copy()}, 1e-5)
    text = write_diff_log(tmp_path, "forward", diffs).read_text()
    assert messages_of(text) == [
        "logits: ",
        "\tmean diff: check passed: False, value: None",
        "\tshape mismatch: reference (1, 10) vs paddle (10, 1)",
        "gone: ",
        "\tmean diff: check passed: False, value: None",
        "\tmissing in paddle output",
        "diff check failed",
    ]
    assert capsys.readouterr().out == text


def test_nan_reads_as_failed_in_the_log():
    diffs = compare({"x": np.array([1.0, 2.0])}, {"x": np.array([1.0, np.nan])}, 1e-5)
    assert diff_log_messages(diffs) == [
        "x: ",
        "\tmean diff: check passed: False, value: nan",
        "\tNaN/Inf in paddle output (1 element)",
        "diff check failed",
    ]


def test_diff_log_method_override_shows_chosen_statistics():
    diffs = compare({"x": np.zeros(4)}, {"x": np.array([0.0, 0.0, 0.0, 1.0])}, 0.5)
    assert diff_log_messages(diffs, method="max") == [
        "x: ",
        "\tmax diff: check passed: False, value: 1.0",
        "diff check passed",  # the verdict stays the key's own method (mean 0.25 <= 0.5)
    ]


def test_write_result_is_strict_json(tmp_path):
    diffs = compare({"x": np.array([1.0, np.inf])}, {"x": np.array([1.0, 2.0])}, 1e-5)
    result = {
        "schema": 1,
        "step": "forward",
        "status": "failed",
        "keys": [d.to_json() for d in diffs],
        "duration_s": np.float64(0.5),
        "warnings": [],
    }
    path = write_result(tmp_path / "result", "forward", result)
    assert path == tmp_path / "result" / "forward.json"

    def reject(token):
        raise AssertionError(f"non-strict JSON token {token}")

    loaded = json.loads(path.read_text(), parse_constant=reject)
    assert loaded["keys"][0]["mean"] is None
    assert loaded["keys"][0]["problem"] == "NaN/Inf in reference output (1 element)"
    assert loaded["duration_s"] == 0.5


def test_atomic_write_creates_parents_and_leaves_no_temporary(tmp_path):
    path = write_json_atomic(tmp_path / "a" / "b" / "state.json", {"step": "forward", "ok": True})
    assert json.loads(path.read_text()) == {"step": "forward", "ok": True}
    assert os.listdir(path.parent) == ["state.json"]
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not mkstemp's 0600


def test_failure_in_the_middle_of_a_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = write_text_atomic(tmp_path / "state.json", '{"old": true}\n')

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    # The new bytes are already written to the temporary file when fsync fails.
    monkeypatch.setattr(atomic.os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        write_json_atomic(path, {"new": True, "payload": "x" * 100_000})
    monkeypatch.undo()

    assert path.read_text() == '{"old": true}\n'
    assert os.listdir(tmp_path) == ["state.json"]


def test_unserialisable_object_keeps_the_old_file(tmp_path):
    path = write_json_atomic(tmp_path / "result.json", {"old": 1})
    with pytest.raises(TypeError, match="cannot write object as JSON"):
        write_json_atomic(path, {"new": object()})
    assert json.loads(path.read_text()) == {"old": 1}
    assert os.listdir(tmp_path) == ["result.json"]
