"""`init --from-convert DST`: the Paddle factories named after PaConvert's output of the reference's own code,
end to end (real PaConvert, real frameworks: the config's forward step runs on the converted code and passes),
and the pieces on small trees of our own (no converter needed for those)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from paddle_port_tui.convert_init import ConvertInitError, converted_values, own_imports, read_record

TREES = Path(__file__).parent / "convert_trees"
CLI = [sys.executable, "-m", "paddle_port_tui"]


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_each_reference_factory_in_src_gets_its_converted_twin(tmp_path: Path) -> None:
    src = tree(tmp_path / "torch_src", {"nets/model.py": "def build(): ...\n", "nets/__init__.py": ""})
    dst = tree(tmp_path / "paddle_src", {"nets/model.py": "def build(): ...\n", "nets/__init__.py": ""})
    values = {
        "reference_model": "torch_src.nets.model:build",
        "reference_kwargs": "{ num_classes = 10 }",
        "reference_dataset": "elsewhere.data:build",
    }
    paddle, notes = converted_values(values, src, dst, tmp_path, [tmp_path])
    assert paddle == {"paddle_model": "paddle_src.nets.model:build", "paddle_kwargs": "{ num_classes = 10 }"}
    assert notes == [
        f"[reference] dataset elsewhere.data:build is not in {src}: name the Paddle one (--paddle-dataset)"
    ]


def test_converted_code_outside_the_workspace_is_refused_in_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConvertInitError, match="must lie in the workspace"):
        converted_values({}, tmp_path / "src", tmp_path.parent / "elsewhere", tmp_path, [tmp_path])


def test_an_absolute_import_of_the_references_own_module_is_named(tmp_path: Path) -> None:
    files = {"a.py": "X = 1\n", "b.py": "import os\nfrom torch_src.a import X\nfrom . import a\n"}
    src, dst = tree(tmp_path / "torch_src", files), tree(tmp_path / "paddle_src", files)
    [line] = own_imports(src, dst, [tmp_path])
    assert line.startswith("paddle_src/b.py:2 imports torch_src.a by its absolute name")
    # With the source itself an import root ([run] pythonpath), its top-level modules are its own names.
    flat = {"a.py": "X = 1\n", "b.py": "from a import X\n"}
    src, dst = tree(tmp_path / "flat_src", flat), tree(tmp_path / "flat_dst", flat)
    assert [line.split(" ")[0] for line in own_imports(src, dst, [tmp_path, src])] == ["flat_dst/b.py:1"]


def test_a_folder_without_a_conversion_record_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ConvertInitError, match="run `paddle-port convert SRC --out"):
        read_record(tmp_path)


@pytest.mark.e2e
def test_convert_fix_and_init_from_convert_give_a_config_whose_forward_passes(tmp_path: Path) -> None:
    """Issue 14's "done": the torch Dataset's file does not import, --fix makes it, init --from-convert names
    the converted factories, and the forward step runs on PaConvert's output (and passes: a faithful conversion)."""
    shutil.copytree(TREES / "text_classifier", tmp_path / "torch_src")
    run = {"cwd": tmp_path, "capture_output": True, "text": True, "timeout": 300}
    converted = subprocess.run([*CLI, "convert", "torch_src", "--out", "paddle_src", "--fix", "-w", "."], **run)
    assert converted.returncode == 0, converted.stdout[-2000:] + converted.stderr[-1000:]
    assert "dataset.py: fails at dataset.py:6: AttributeError: module 'paddle.utils' has no attribute 'data'" in (
        converted.stdout
    )
    assert (tmp_path / "paddle_src/.paddle_port_convert.json").is_file()
    flags = ["--input", "ids:2x8:int64:high=100", "--yes", "-w", "."]
    init = subprocess.run([*CLI, "init", "--from-convert", "paddle_src", *flags], **run)
    assert init.returncode == 0, init.stdout[-2000:] + init.stderr[-1000:]
    config = (tmp_path / "paddle_port.toml").read_text()
    assert 'model = "torch_src.model:build_model"' in config and 'model = "paddle_src.model:build_model"' in config
    forward = subprocess.run([*CLI, "run", "forward", "-w", "."], **run)
    assert forward.returncode == 0, forward.stdout[-2000:] + forward.stderr[-1000:]
    assert "forward: PASSED" in forward.stdout


def test_an_existing_config_keeps_its_keys_and_gets_the_converted_factories(tmp_path: Path) -> None:
    from paddle_port_tui.cli import main

    tree(tmp_path / "torch_src", {"model.py": "def build(width=4): ...\n"})
    dst = tree(tmp_path / "paddle_src", {"model.py": "def build(width=4): ...\n"})
    (dst / ".paddle_port_convert.json").write_text(json.dumps({"src": str(tmp_path / "torch_src")}))
    config = tmp_path / "paddle_port.toml"
    config.write_text(
        '[reference]\nmodel = "torch_src.model:build"\nkwargs = { width = 8 }\n'
        '[paddle]\nmodel = "mine.model:build"\n[input]\nshape = [2, 5]\n[thresholds]\nforward = 1e-4\n'
    )
    assert main(["init", "--from-convert", str(dst), "--yes", "-w", str(tmp_path)]) == 0
    text = config.read_text()
    assert 'model = "paddle_src.model:build"' in text and "width = 8" in text.split("[paddle]")[1]
    assert "shape = [2, 5]" in text and "forward = 0.0001" in text  # the porter's other keys stay
    [backup] = tmp_path.glob("paddle_port.toml.bak-*")
    assert 'model = "mine.model:build"' in backup.read_text()
    assert main(["init", "--from-convert", str(dst), "--yes", "-w", str(tmp_path)]) == 0  # nothing to change
    assert len(list(tmp_path.glob("paddle_port.toml.bak-*"))) == 1
