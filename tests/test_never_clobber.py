"""Never clobber, never escape (issue 11, item 5): what the tool writes stays in the workspace unless the
config allows otherwise, never lands on a file the config names for something else, and never replaces a
file it did not write (or that the porter changed since it did)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from workspaces import copy_demo, run_step, set_config

from paddle_port_checks.config import ConfigError, load_config
from paddle_port_checks.written import MANIFEST, make_way_for_output, record_written

MINIMAL = '[reference]\nmodel = "a:b"\ncheckpoint = "weights/reference.pth"\n[paddle]\nmodel = "c:d"\n'
ASIDE = Path("result/.before-paddle-port")


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def recorded_sha256(workspace: Path, path: Path) -> str:
    files = json.loads((workspace / "result" / MANIFEST).read_text())["files"]
    return str(files[path.relative_to(workspace).as_posix()]["sha256"])


def add_table(workspace: Path, table: str) -> None:
    """A table the demo config lacks, put before its [run] table."""
    set_config(workspace, "[run]", f"{table}\n\n[run]")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace without frameworks, one level down, so `../` lands in this test's own folder."""
    root = tmp_path / "ws"
    (root / "weights").mkdir(parents=True)
    (root / "weights" / "reference.pth").write_bytes(b"the porter's checkpoint")
    (root / "paddle_port.toml").write_text(MINIMAL)
    return root


def configure(workspace: Path, extra: str, paddle: str = "") -> None:
    """Write the workspace config (`paddle`: more keys of [paddle]) and load it as a check would."""
    (workspace / "paddle_port.toml").write_text(MINIMAL + paddle + extra)
    load_config(workspace)


# --- an output on a file the config names for something else ----------------------------------------------


@pytest.mark.parametrize(
    "output",
    ["weights/reference.pth", "./weights/../weights/reference.pth", "weights/link.pth", "weights/hard.pth"],
    ids=["same", "dotdot", "symlink", "hardlink"],
)
def test_the_reference_checkpoint_as_weights_output_is_a_config_error_and_survives(tmp_path: Path, output: str) -> None:
    root = copy_demo(tmp_path)
    checkpoint = root / "weights" / "reference.pth"
    (root / "weights" / "link.pth").symlink_to("reference.pth")
    os.link(checkpoint, root / "weights" / "hard.pth")
    before = digest(checkpoint)
    add_table(root, f'[weights]\noutput = "{output}"')
    code, result = run_step(root, "weights")
    assert code == 2
    assert "[weights.output] is the same file as [reference.checkpoint]" in result["error"]
    assert "the tool would overwrite your checkpoint" in result["error"]
    assert digest(checkpoint) == before


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('[data]\nlist = "list.txt"\n[weights]\noutput = "list.txt"\n', r"\[weights.output\] .* \[data.list\]"),
        (
            '[weights]\noutput = "out/model.json"\n[predict]\nexport_dir = "out"\n',
            r"\[predict.export_dir\] .* \[weights",
        ),
        ('[weights]\nmapping = "weights/reference.pth"\n', r"\[weights.mapping\] .*: one file cannot be both"),
        ('[input]\nfile = "result/forward_ref.npy"\n', r"\[input.file\] .* the forward step's result/forward_ref.npy"),
    ],
    ids=["data-list", "two-outputs", "mapping", "evidence"],
)
def test_an_output_on_another_named_file_is_a_config_error_naming_both(
    workspace: Path, extra: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        configure(workspace, extra)


def test_with_a_paddle_checkpoint_nothing_is_written_to_the_weights_output(workspace: Path) -> None:
    """The weights step verifies `[paddle] checkpoint` instead of writing `[weights] output`, so a porter who
    points both at the file an earlier run wrote is not in the wrong."""
    paddle = 'checkpoint = "result/weights/model.pdparams"\n'
    configure(workspace, '[weights]\noutput = "result/weights/model.pdparams"\n', paddle)
    configure(workspace, '[weights]\noutput = "../anywhere.pdparams"\n', paddle)


# --- never outside the workspace unless allowed -----------------------------------------------------------


OUTSIDE = [
    ("weights", "output", "../outside.pdparams"),
    ("weights", "output", "{outside}/absolute.pdparams"),
    ("weights", "output", "escape/model.pdparams"),  # a symlink inside the workspace to a folder outside
    ("weights", "mapping", "../../mapping.json"),
    ("predict", "export_dir", "../exported"),
    ("input", "file", "../input.npy"),
    ("inputs.ids", "file", "{outside}/ids.npy"),
]


@pytest.mark.parametrize(("table", "key", "value"), OUTSIDE, ids=[f"{t}.{k}:{v}" for t, k, v in OUTSIDE])
def test_an_output_outside_the_workspace_is_a_config_error_unless_allowed(
    workspace: Path, table: str, key: str, value: str
) -> None:
    outside = workspace.parent / "elsewhere"
    outside.mkdir()
    (workspace / "escape").symlink_to(outside)
    value = value.format(outside=outside)
    shape = "shape = [2, 3]\n" if table.startswith("inputs.") else ""
    extra = f'[{table}]\n{shape}{key} = "{value}"\n'
    with pytest.raises(ConfigError, match=rf"\[{table}.{key}\] .* resolves outside the workspace \(/") as error:
        configure(workspace, extra)
    assert f"set allow_outside = true in [{table}] to allow it" in str(error.value)
    assert str(error.value).count("\n") == 0
    configure(workspace, f"{extra}allow_outside = true\n")


def test_an_existing_mapping_or_input_file_outside_is_only_read_so_it_needs_no_permission(workspace: Path) -> None:
    for name in ("mapping.json", "input.npy"):
        (workspace.parent / name).write_bytes(b"the porter's")
    configure(workspace, '[weights]\nmapping = "../mapping.json"\n[input]\nfile = "../input.npy"\n')


def test_allowed_outside_the_weights_step_writes_there(tmp_path: Path) -> None:
    root = copy_demo(tmp_path / "ws")
    add_table(root, '[weights]\noutput = "../outside.pdparams"\nallow_outside = true')
    code, result = run_step(root, "weights")
    assert code == 0, result["error"]
    assert (tmp_path / "outside.pdparams").stat().st_size > 1_000_000
    assert not (root / "result" / "weights" / "model.pdparams").exists()


# --- never over a file the tool did not write -------------------------------------------------------------


def test_a_foreign_weights_output_in_result_is_moved_aside_and_the_tools_own_is_rewritten(tmp_path: Path) -> None:
    root = copy_demo(tmp_path)
    output = root / "result" / "weights" / "model.pdparams"
    output.parent.mkdir(parents=True)
    output.write_bytes(b"a tutorial's own pdparams")
    code, result = run_step(root, "weights")
    assert code == 0, result["error"]
    assert (root / ASIDE / "weights" / "model.pdparams").read_bytes() == b"a tutorial's own pdparams"
    assert any("result/weights/model.pdparams was not written by paddle-port: moved" in w for w in result["warnings"])

    first = output.stat().st_mtime_ns
    code, again = run_step(root, "weights")
    assert code == 0 and again["warnings"] == [], "its own output is rewritten without a word"
    assert output.stat().st_mtime_ns != first and recorded_sha256(root, output) == digest(output)

    with output.open("ab") as handle:
        handle.write(b"the porter's edit")
    edited = digest(output)
    code, third = run_step(root, "weights")
    assert code == 0, third["error"]
    assert any("was changed since paddle-port wrote it: moved" in warning for warning in third["warnings"])
    assert digest(root / ASIDE / "weights" / "model.pdparams.1") == edited
    assert digest(output) != edited and recorded_sha256(root, output) == digest(output)


def test_a_foreign_weights_output_outside_result_is_refused_and_kept(tmp_path: Path) -> None:
    root = copy_demo(tmp_path)
    theirs = root / "weights" / "model.pdparams"
    theirs.write_bytes(b"the porter's converted weights")
    add_table(root, '[weights]\noutput = "weights/model.pdparams"')
    code, result = run_step(root, "weights")
    assert code == 2
    assert result["error"].count("\n") == 0
    assert "[weights.output] would overwrite" in result["error"] and str(theirs) in result["error"]
    assert "was not written by paddle-port" in result["error"]
    assert theirs.read_bytes() == b"the porter's converted weights"
    assert not (root / ASIDE).exists()


def test_an_output_outside_result_the_tool_wrote_is_rewritten_until_the_porter_edits_it(workspace: Path) -> None:
    """The record's rule, without frameworks: the same content is the tool's own (a `touch` changes nothing),
    an edit of the same size is not."""
    configure(workspace, '[predict]\nexport_dir = "exported"\n')
    config = load_config(workspace)
    program = config.export_files()[0]
    program.parent.mkdir()
    program.write_text('{"program": 1}')
    record_written(workspace / "result", [program])
    os.utime(program, ns=(1, 1))
    assert make_way_for_output(config, "predict.export_dir", config.export_files()) == []
    assert program.exists(), "kept: only remove_ours deletes the tool's own"
    assert make_way_for_output(config, "predict.export_dir", config.export_files(), remove_ours=True) == []
    assert not program.exists(), "an earlier export's program is removed before a new export"

    program.write_text('{"program": 1}')
    record_written(workspace / "result", [program])
    program.write_text('{"program": 2}')
    with pytest.raises(ConfigError, match=r"\[predict.export_dir\] would overwrite .*model.json, which was changed"):
        make_way_for_output(config, "predict.export_dir", config.export_files(), remove_ours=True)
    assert program.read_text() == '{"program": 2}'


def test_a_record_of_the_first_kind_is_still_honoured(workspace: Path) -> None:
    """Schema 1 kept [size, mtime_ns] per result/-relative path: those files stay the tool's own."""
    configure(workspace, "")
    config = load_config(workspace)
    ours = workspace / "result" / "weights" / "model.pdparams"
    ours.parent.mkdir(parents=True)
    ours.write_bytes(b"converted by an earlier paddle-port")
    stat = ours.stat()
    (workspace / "result" / MANIFEST).write_text(
        json.dumps({"weights/model.pdparams": [stat.st_size, stat.st_mtime_ns]})
    )
    assert make_way_for_output(config, "weights.output", [ours]) == []
    assert ours.exists()
