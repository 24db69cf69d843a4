"""doctor: the probe runs in the configured interpreter and reports what is missing instead of crashing."""

from __future__ import annotations

import json
import os
import stat
import sys
from importlib.metadata import version

from fake_checks import write_fake_workspace

from paddle_port_tui.cli import main
from paddle_port_tui.doctor import devices, doctor_rows, probe, ready


def test_probe_of_the_ml_environment_reports_real_versions():
    found = probe(sys.executable)
    assert found["ok"] and ready(found)
    assert found["torch"]["version"].split("+")[0] == version("torch").split("+")[0]
    assert found["paddle"]["version"] == version("paddlepaddle")
    assert found["reprod_log"]["installed"] and found["paddle_port_checks"]["installed"]
    gpus = found["paddle"]["gpu_count"] if found["paddle"]["compiled_with_cuda"] else 0
    assert devices(found) == ["cpu", *(f"gpu:{n}" for n in range(gpus))]


def test_probe_without_the_frameworks_reports_them_missing(tmp_path):
    # The same interpreter without site-packages: a real environment where torch and paddle are absent.
    bare = tmp_path / "bare-python"
    bare.write_text(f'#!/bin/sh\nexec "{sys.executable}" -S "$@"\n')
    bare.chmod(bare.stat().st_mode | stat.S_IXUSR)
    found = probe(str(bare))
    assert found["ok"] and not ready(found)
    assert not found["torch"]["installed"] and "ModuleNotFoundError" in found["torch"]["error"]
    assert not found["paddle"]["installed"]
    rows = {row[0]: row for row in doctor_rows(found)}
    assert rows["torch"][1] == "missing" and rows["paddle"][1] == "missing"
    assert devices(found) == ["cpu"]


def test_probe_of_a_missing_interpreter_does_not_raise(tmp_path):
    found = probe(str(tmp_path / "no-such-python"))
    assert not found["ok"] and "no-such-python" in found["error"]
    assert doctor_rows(found)[0][0] == "interpreter"


def test_doctor_command_uses_the_configured_python(tmp_path, capsys):
    ws = write_fake_workspace(tmp_path)
    missing = tmp_path / "nowhere" / "python"
    ws.config_path.write_text(ws.config_path.read_text().replace("[run]\n", f'[run]\npython = "{missing}"\n'))
    assert main(["doctor", "--json", "--workspace", os.fspath(ws.root)]) == 1
    found = json.loads(capsys.readouterr().out)
    assert found["python"] == str(missing) and not found["ok"]
    assert main(["doctor", "--workspace", os.fspath(ws.root)]) == 1
    assert "nowhere" in capsys.readouterr().out
