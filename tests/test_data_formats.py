"""Data that is not images: a tsv of sentences and a jsonl of records through both pipelines (real torch and
paddle), and the list formats' errors, named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from test_inputs import text_workspace
from workspaces import key, run_step, set_config

from paddle_port_checks.samples import SamplesError, read_samples

SENTENCES = [("a good small movie", 1), ("bad and long", 0), ("good", 1), ("not good at all", 0), ("fine", 1)]
DATASETS = """
[data]
list = "{list}"
batch_size = 2
num_batches = 2
"""


def with_pipelines(root: Path, key: str, reference: str, paddle: str, data_list: str = "") -> Path:
    """The text twins' config with each side's `dataset` or `loader` (`key`) set, and a [data] list."""
    config = root / "paddle_port.toml"
    body = config.read_text()
    for side, spec in (("torch_side", reference), ("paddle_side", paddle)):
        body = body.replace(
            f'model = "input_twins.{side}:build"', f'model = "input_twins.{side}:build"\n{key} = "{spec}"'
        )
    config.write_text(body + (DATASETS.format(list=data_list) if data_list else ""))
    return root


def with_data(root: Path, list_name: str, text: str) -> Path:
    (root / list_name).write_text(text, encoding="utf-8")
    factories = ("input_twins.torch_side:build_dataset", "input_twins.paddle_side:build_dataset")
    return with_pipelines(root, "dataset", *factories, data_list=list_name)


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


# Batches that keep raw texts and plain ints beside the tensors, as a porter's own collate_fn often does.
RAW_BATCHES = """
import paddle
import torch

from input_twins.torch_side import tokens

SENTENCES = [("a good small movie", 1), ("bad and long", 0), ("good", 1), ("not good at all", 0)]


def collate(framework, batch, shout=False):
    to_tensor = paddle.to_tensor if framework is paddle else torch.tensor
    texts = [text.upper() if shout else text for text, _ in batch]
    ids = framework.stack([to_tensor(tokens(text)[0]) for text, _ in batch])
    lengths = [len(text.split()) for text in texts]
    return {"text": texts, "lengths": lengths, "input_ids": ids}, [label for _, label in batch]


def build_torch():
    return torch.utils.data.DataLoader(SENTENCES, batch_size=2, collate_fn=lambda batch: collate(torch, batch))


def build_paddle(shout=False):
    return paddle.io.DataLoader(SENTENCES, batch_size=2, collate_fn=lambda batch: collate(paddle, batch, shout))
"""


def raw_batches_workspace(root: Path) -> Path:
    text_workspace(root)
    (root / "raw_batches.py").write_text(RAW_BATCHES)
    return with_pipelines(root, "loader", "raw_batches:build_torch", "raw_batches:build_paddle")


def test_raw_texts_and_plain_ints_in_batches_are_compared_whole(tmp_path: Path) -> None:
    root = raw_batches_workspace(tmp_path)
    code, result = run_step(root, "data")
    assert code == 0, result["error"]
    text = key(result, "dataloader_0/text")
    assert text["shape_ref"] == [2, len("a good small movie")], "a batch of texts: code points per sample"
    assert key(result, "dataloader_0/lengths")["shape_ref"] == [2], "plain ints: one array, not one key each"
    assert key(result, "label_1")["passed"]


def test_a_pipeline_that_changes_the_text_fails_at_the_sample_and_character(tmp_path: Path) -> None:
    root = raw_batches_workspace(tmp_path)
    set_config(
        root,
        'loader = "raw_batches:build_paddle"',
        'loader = "raw_batches:build_paddle"\nloader_kwargs = { shout = true }',
    )
    code, result = run_step(root, "data")
    assert code == 1
    text = key(result, "dataloader_0/text")
    assert not text["passed"] and text["worst_index"][0] in (0, 1)
    assert key(result, "dataloader_0/lengths")["passed"] and key(result, "dataloader_0/input_ids")["passed"]


# A feature-array data set: one .npy or .npz per sample, listed as "path label" or laid out as class folders.
FEATURES = """
import numpy as np
import paddle
import torch


def load(path):
    stored = np.load(path, allow_pickle=False)  # never unpickle a data file
    if isinstance(stored, np.lib.npyio.NpzFile):
        with stored:
            return stored["x"]
    return stored


class TorchFeatures(torch.utils.data.Dataset):
    def __init__(self, samples):
        self.samples = samples

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        return torch.from_numpy(load(path)), label


class PaddleFeatures(paddle.io.Dataset):
    def __init__(self, samples, scale=1.0):
        self.samples, self.scale = samples, scale

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        return load(path) * np.float32(self.scale), label
"""


def features_workspace(root: Path, layout: str) -> Path:
    text_workspace(root)
    (root / "features.py").write_text(FEATURES)
    rng = np.random.default_rng(0)
    lines = []
    for index in range(6):
        label = index % 3
        folder = root / ("features" if layout == "list" else f"features/class_{label}")
        folder.mkdir(parents=True, exist_ok=True)
        array = rng.standard_normal(8).astype(np.float32)
        if index % 2:
            np.savez(folder / f"{index}.npz", x=array)
            name = f"{index}.npz"
        else:
            np.save(folder / f"{index}.npy", array)
            name = f"{index}.npy"
        lines.append(f"{(folder / name).relative_to(root)} {label}\n")
    (root / "features.txt").write_text("".join(lines))
    data_list = "features.txt" if layout == "list" else "features"
    return with_pipelines(root, "dataset", "features:TorchFeatures", "features:PaddleFeatures", data_list)


@pytest.mark.parametrize("layout", ["list", "folder"])
def test_a_feature_array_data_set_passes_the_data_step(tmp_path: Path, layout: str) -> None:
    root = features_workspace(tmp_path, layout)
    code, result = run_step(root, "data")
    assert code == 0, result["error"]
    assert key(result, "length")["values"] == [6.0, 6.0]
    assert key(result, "dataloader_0")["shape_ref"] == [2, 8]


def test_a_feature_pipeline_that_scales_its_arrays_fails_the_data_step(tmp_path: Path) -> None:
    root = features_workspace(tmp_path, "list")
    set_config(
        root,
        'dataset = "features:PaddleFeatures"',
        'dataset = "features:PaddleFeatures"\ndataset_kwargs = { scale = 1.01 }',
    )
    code, result = run_step(root, "data")
    assert code == 1
    assert not key(result, "dataloader_0")["passed"] and key(result, "label_0")["passed"]
