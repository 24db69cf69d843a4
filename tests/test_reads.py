"""The golden reference is keyed by everything it read: files, folders and environment variables recorded
while it is computed, checked before it is reused (issue 10, item 5)."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest
from workspaces import key, run_step, set_config

from paddle_port_checks import golden, reads
from paddle_port_checks.golden import GoldenCache

# --- the recorder, without frameworks -----------------------------------------------------------------


def test_a_file_read_is_recorded_and_library_and_written_files_are_not(tmp_path: Path) -> None:
    settings = tmp_path / "settings.json"
    settings.write_text('{"scale": 2}')
    own_output, checkpoint = tmp_path / "made_by_the_run.txt", tmp_path / "reference.pth"
    checkpoint.write_bytes(b"weights")
    with reads.recording() as recording:
        json.loads(settings.read_text())
        golden.file_digest(checkpoint)  # the checks library's own read: the static key holds it
        (Path(sysconfig.get_paths()["stdlib"]) / "LICENSE.txt").read_bytes()  # the standard library's data
        own_output.write_text("written first, so the run's own output")
        own_output.read_text()
        os.close(os.open(tmp_path / "opened_with_os_open.bin", os.O_WRONLY | os.O_CREAT | os.O_TRUNC))
    assert recording.input_files() == [settings.resolve()]


def test_importing_modules_records_nothing(tmp_path: Path) -> None:
    package = tmp_path / "porters_package"
    package.mkdir()
    (package / "__init__.py").write_text("VALUE = 1\n")
    sys.path.insert(0, str(tmp_path))
    try:
        with reads.recording() as recording:
            importlib.import_module("porters_package")  # its source, bytecode and folder listings are code
            importlib.import_module("email.mime.text")  # the standard library
            importlib.metadata.version("numpy")  # lists every sys.path folder, opens site-packages files
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("porters_package", None)
    assert recording.input_files() == [] and recording.input_folders() == []


def test_a_listed_data_folder_is_recorded_and_tool_folders_are_left_out(tmp_path: Path) -> None:
    data, result = tmp_path / "data", tmp_path / "result"
    data.mkdir(), result.mkdir()
    (result / "forward_input.npy").write_bytes(b"x")
    with reads.recording() as recording:
        sorted(data.iterdir())
        (result / "forward_input.npy").read_bytes()
        os.listdir(result)
    assert recording.input_folders(leave_out=[result]) == [data.resolve()]
    assert recording.input_files(leave_out=[result]) == []


def test_variables_looked_up_by_the_porters_code_are_recorded_with_their_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TWIN_SCALE", "3")
    monkeypatch.delenv("TWIN_ABSENT", raising=False)
    monkeypatch.setenv("PADDLE_PORT_RUN_ID", "run-1")
    with reads.recording() as recording:
        assert os.environ.get("TWIN_SCALE") == "3" and os.getenv("TWIN_ABSENT") is None
        assert "TWIN_ALSO_ABSENT" not in os.environ
        assert os.environ["PADDLE_PORT_RUN_ID"] == "run-1"  # the tool's plumbing: a new id every run
        dict(os.environ), {**os.environ}, os.environ.copy(), list(os.environ.items())  # bulk reads
        os.path.expanduser("~")  # the standard library reads HOME for itself
        os.environ["TWIN_SET_HERE"] = "1"  # set by the run before it reads it: its own, not an input
        assert os.environ["TWIN_SET_HERE"] == "1"
    assert recording.input_variables() == {"TWIN_ABSENT": None, "TWIN_ALSO_ABSENT": None, "TWIN_SCALE": "3"}
    seen_by_a_child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.environ['TWIN_SET_HERE'])"], capture_output=True, text=True
    )
    assert seen_by_a_child.stdout.strip() == "1", "the twin's writes reach the real environment"
    del os.environ["TWIN_SET_HERE"]


def test_a_nested_recording_counts_for_the_outer_one_too(tmp_path: Path) -> None:
    inner_file, outer_file = tmp_path / "inner.txt", tmp_path / "outer.txt"
    inner_file.write_text("i"), outer_file.write_text("o")
    with reads.recording() as outer:
        outer_file.read_text()
        with reads.recording() as inner:
            inner_file.read_text()
    assert inner.input_files() == [inner_file.resolve()]
    assert outer.input_files() == sorted([inner_file.resolve(), outer_file.resolve()])
    assert not reads.is_recording()


def import_from(folder: Path, module: str) -> None:
    """Import a porter's module as a step's factory would, and forget it again (other tests import theirs)."""
    sys.path.insert(0, str(folder))
    try:
        importlib.import_module(module)
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop(module, None)


def test_what_the_porters_code_read_earlier_in_the_process_counts_unless_the_paddle_twin_read_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A module that reads its settings at import reads them once per worker: the first step's reference
    records them, a later step's reference, computed without reading them again, depends on them too."""
    from paddle_port_checks.config import load_config

    (tmp_path / "settings.json").write_text('{"scale": 1}')
    (tmp_path / "paddle_settings.json").write_text('{"scale": 1}')
    (tmp_path / "reference_side.py").write_text("import json\nSETTINGS = json.loads(open('settings.json').read())\n")
    (tmp_path / "paddle_side.py").write_text("import json\nSETTINGS = json.load(open('paddle_settings.json'))\n")
    (tmp_path / "paddle_port.toml").write_text('[reference]\nmodel = "reference_side:build"\n[paddle]\nmodel = "p:b"\n')
    monkeypatch.chdir(tmp_path)
    cache = GoldenCache(tmp_path / "result" / "cache")  # watches this workspace
    load_config(tmp_path / "paddle_port.toml")  # the checks library's own reads are in the static key
    import_from(tmp_path, "reference_side")
    import_from(tmp_path, "paddle_side")
    cache.code_left_out = frozenset({tmp_path / "paddle_side.py"})
    with reads.recording() as recording:
        pass  # reads nothing itself
    assert list(cache.digest_reads(recording)["files"]) == ["settings.json"]


# --- the cache decides by what was read, still without frameworks ---------------------------------------


def scaled_compute(workspace: Path) -> tuple[list[int], object]:
    """A stand-in reference: reads a JSON file and a variable of the workspace; counts its runs."""
    runs = [0]

    def compute() -> dict[str, np.ndarray]:
        runs[0] += 1
        scale = json.loads((workspace / "settings.json").read_text())["scale"]
        shift = float(os.environ.get("TWIN_SHIFT", "0"))
        return {"logits": np.arange(3.0) * scale + shift}

    return runs, compute


def test_the_cache_recomputes_when_a_file_or_variable_it_read_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TWIN_SHIFT", raising=False)
    (tmp_path / "settings.json").write_text('{"scale": 1}')
    cache = GoldenCache(tmp_path / "result" / "cache")
    runs, compute = scaled_compute(tmp_path)

    first, origin = cache.get_or_compute("forward", "key", compute)  # type: ignore[arg-type]
    assert origin["reused"] is False and "recomputed" not in origin
    _, origin = cache.get_or_compute("forward", "key", compute)  # type: ignore[arg-type]
    assert origin["reused"] is True and runs == [1]
    sidecar = json.loads((tmp_path / "result/cache/forward.json").read_text())
    assert list(sidecar["reads"]["files"]) == ["settings.json"], "workspace-relative: a moved workspace reuses"
    assert list(sidecar["reads"]["variables"]) == ["TWIN_SHIFT"]

    (tmp_path / "settings.json").write_text('{"scale": 2}')
    changed, origin = cache.get_or_compute("forward", "key", compute)  # type: ignore[arg-type]
    assert origin == {**origin, "reused": False, "recomputed": "settings.json changed"}
    assert np.array_equal(changed["logits"], 2 * first["logits"])

    monkeypatch.setenv("TWIN_SHIFT", "0.5")
    shifted, origin = cache.get_or_compute("forward", "key", compute)  # type: ignore[arg-type]
    assert origin["recomputed"] == "environment variable TWIN_SHIFT changed" and shifted["logits"][0] == 0.5
    assert "0.5" not in (tmp_path / "result/cache/forward.json").read_text(), "values are kept as digests"

    (tmp_path / "settings.json").unlink()
    assert cache.lookup("forward", "key").stale == "settings.json is gone"


def test_an_entry_reused_inside_another_computation_passes_its_reads_on(tmp_path: Path) -> None:
    (tmp_path / "settings.json").write_text('{"scale": 1}')
    cache = GoldenCache(tmp_path / "result" / "cache")
    _, inner = scaled_compute(tmp_path)
    cache.get_or_compute("reference_state", "weights", inner)  # type: ignore[arg-type]

    def outer() -> dict[str, np.ndarray]:  # reuses the inner entry: reads nothing itself
        return cache.get_or_compute("reference_state", "weights", inner)[0]  # type: ignore[arg-type]

    cache.get_or_compute("forward", "key", outer)
    assert list(json.loads((tmp_path / "result/cache/forward.json").read_text())["reads"]["files"]) == ["settings.json"]


# --- the real checks, with real torch and paddle ----------------------------------------------------------

TWIN_CONFIG = """\
[reference]
model = "settings_twin.torch_side:build"

[paddle]
model = "settings_twin.paddle_side:build"

[input]
shape = [2, 4]
dtype = "float32"
"""

TORCH_SIDE = """\
import importlib.metadata
import json
import os
from pathlib import Path

import torch
from torch import nn


class Scaled(nn.Module):
    def __init__(self, scale: float, shift: float) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.scale, self.shift = scale, shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x) * self.scale + self.shift


def build() -> Scaled:
    import torch.utils.checkpoint  # noqa: F401  library reads: they must record nothing

    importlib.metadata.version("torch")
    settings = json.loads(Path("twin_settings.json").read_text())  # the workspace is the working folder
    return Scaled(settings["scale"], float(os.environ.get("TWIN_SHIFT", "0")))
"""

PADDLE_SIDE = """\
import paddle
from paddle import nn


class Scaled(nn.Layer):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: paddle.Tensor) -> paddle.Tensor:
        return self.linear(x)  # the port as first written: scale 1, no shift


def build() -> Scaled:
    return Scaled()
"""


AT_IMPORT = """\
import json
from pathlib import Path

from settings_twin.torch_side import Scaled

SETTINGS = json.loads(Path("twin_settings.json").read_text())  # once per process, when first imported


def build() -> Scaled:
    return Scaled(SETTINGS["scale"], 0.0)
"""


@pytest.fixture
def settings_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("TWIN_SHIFT", raising=False)
    package = tmp_path / "settings_twin"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "torch_side.py").write_text(TORCH_SIDE)
    (package / "paddle_side.py").write_text(PADDLE_SIDE)
    (tmp_path / "paddle_port.toml").write_text(TWIN_CONFIG)
    (tmp_path / "twin_settings.json").write_text('{"scale": 1.0}')
    return tmp_path


def forget_twin() -> None:
    for name in [name for name in sys.modules if name.split(".")[0] == "settings_twin"]:
        del sys.modules[name]


def forward(workspace: Path) -> tuple[int, dict[str, object]]:
    forget_twin()  # each run imports the twin afresh, as a new worker would
    try:
        return run_step(workspace, "forward")
    finally:
        forget_twin()


def test_a_reference_reading_a_json_file_is_recomputed_when_the_file_changes(settings_twin: Path) -> None:
    code, first = forward(settings_twin)
    assert code == 0 and first["reference"]["reused"] is False, first["error"]
    code, again = forward(settings_twin)
    assert code == 0 and again["reference"]["reused"] is True

    (settings_twin / "twin_settings.json").write_text('{"scale": 2.0}')
    code, changed = forward(settings_twin)
    assert changed["reference"]["reused"] is False
    assert "reference recomputed: twin_settings.json changed" in changed["warnings"]
    assert code == 1 and not key(changed, "logits")["passed"], "the verdict follows the new file"

    sidecar = json.loads((settings_twin / "result/cache/forward.json").read_text())
    assert list(sidecar["reads"]["files"]) == ["twin_settings.json"], "torch's own files record nothing"
    assert list(sidecar["reads"]["variables"]) == ["TWIN_SHIFT"] and sidecar["reads"]["folders"] == {}


def test_a_reference_reading_an_environment_variable_is_recomputed_when_it_changes(
    settings_twin: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _ = forward(settings_twin)
    assert code == 0
    monkeypatch.setenv("TWIN_SHIFT", "0.5")
    code, changed = forward(settings_twin)
    assert changed["reference"]["reused"] is False
    assert "reference recomputed: environment variable TWIN_SHIFT changed" in changed["warnings"]
    assert code == 1 and abs(key(changed, "logits")["mean"] - 0.5) < 1e-5
    code, again = forward(settings_twin)
    assert again["reference"]["reused"] is True and code == 1


def test_a_json_file_read_at_import_counts_for_a_reference_computed_later_in_the_same_process(
    settings_twin: Path,
) -> None:
    """One worker runs every step: the reference module is imported (and reads its settings) once, so the
    later steps' references read nothing themselves, and still depend on the file."""
    (settings_twin / "settings_twin/at_import.py").write_text(AT_IMPORT)
    set_config(settings_twin, "settings_twin.torch_side:build", "settings_twin.at_import:build")
    forget_twin()
    try:
        code, _ = run_step(settings_twin, "forward")  # imports the module: it reads the file
        assert code == 0
        code, later = run_step(settings_twin, "forward", None, "--fresh")  # imported already: reads nothing
        assert code == 0 and later["reference"]["reused"] is False
    finally:
        forget_twin()
    sidecar = json.loads((settings_twin / "result/cache/forward.json").read_text())
    assert list(sidecar["reads"]["files"]) == ["twin_settings.json"]

    (settings_twin / "twin_settings.json").write_text('{"scale": 2.0}')
    code, changed = forward(settings_twin)
    assert "reference recomputed: twin_settings.json changed" in changed["warnings"] and code == 1
