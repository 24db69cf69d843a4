"""Data that is not images: a tsv of sentences and a jsonl of records through both pipelines (real torch and
paddle), and the list formats' errors, named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_inputs import text_workspace
from workspaces import key, run_step

from paddle_port_checks.samples import SamplesError, read_samples

SENTENCES = [("a good small movie", 1), ("bad and long", 0), ("good", 1), ("not good at all", 0), ("fine", 1)]
DATASETS = """
[data]
list = "{list}"
batch_size = 2
num_batches = 2
"""


def with_data(root: Path, list_name: str, text: str) -> Path:
    (root / list_name).write_text(text, encoding="utf-8")
    config = root / "paddle_port.toml"
    body = config.read_text()
    body = body.replace(
        'model = "input_twins.torch_side:build"',
        'model = "input_twins.torch_side:build"\ndataset = "input_twins.torch_side:build_dataset"',
    )
    body = body.replace(
        'model = "input_twins.paddle_side:build"',
        'model = "input_twins.paddle_side:build"\ndataset = "input_twins.paddle_side:build_dataset"',
    )
    config.write_text(body + DATASETS.format(list=list_name))
    return root


@pytest.mark.parametrize(
    ("list_name", "text"),
    [
        ("data.tsv", "".join(f"{sentence}\t{label}\n" for sentence, label in SENTENCES)),
        (
            "data.jsonl",
            "".join(json.dumps({"text": s, "label": label, "id": i}) + "\n" for i, (s, label) in enumerate(SENTENCES)),
        ),
    ],
)
def test_a_text_data_set_passes_data_metric_and_predict(tmp_path: Path, list_name: str, text: str) -> None:
    root = with_data(text_workspace(tmp_path), list_name, text)
    code, result = run_step(root, "data")
    assert code == 0, result["error"]
    assert key(result, "length")["values"] == [5.0, 5.0]
    assert {"dataloader_0/input_ids", "dataloader_0/attention_mask", "label_0"} <= {k["key"] for k in result["keys"]}
    code, result = run_step(root, "metric")
    assert code == 0, result["error"]
    code, result = run_step(root, "predict")
    assert code == 0, result["error"]
    assert "a good small movie" in result["details"]["sample"], "the set's first sample is predicted"


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.tsv", "no label here\n", r"bad.tsv:1: expected '<text><TAB><integer label>'"),
        ("bad.jsonl", '{"text": "x"}\n', r"bad.jsonl:1: expected an object with an integer 'label'"),
        ("bad.jsonl", "not json\n", r"bad.jsonl:1: not a JSON object"),
        ("empty.tsv", "# only a comment\n", r"empty.tsv: no samples"),
    ],
)
def test_bad_lists_name_the_file_and_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(SamplesError, match=message):
        read_samples(tmp_path / name, tmp_path)


def test_a_byte_order_mark_is_not_part_of_the_first_sample(tmp_path: Path) -> None:
    (tmp_path / "bom.tsv").write_bytes("\ufeffgood\t1\n".encode())
    assert read_samples(tmp_path / "bom.tsv", tmp_path) == [("good", 1)]
