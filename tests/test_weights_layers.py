"""Weights for every common layer: each torch layer and its hand-written Paddle twin map completely, convert,
load, and give the same outputs; a planted bug per pair is caught (a missing tensor named, a wrong gate
fails, a missing in_proj_bias named). Also: Paddle's aliased recurrent weights, and N:M entries (split /
concat) in the mapping and its file."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from layer_twins import (
    TWINS,
    LayerTwin,
    embedding,
    multihead_attention,
    recurrent,
    run_paddle,
    run_torch,
    self_attention,
    transformer_encoder_layer,
)

from paddle_port_checks.convert import convert_state_dict, load_into_paddle, torch_state_to_numpy
from paddle_port_checks.mapping import Mapping, MappingError, build_mapping, load_mapping, save_mapping
from paddle_port_checks.mapping_file import Concat, MappingEntry, Split, mapping_from_json
from paddle_port_checks.paddle_aliases import paddle_aliases

TOLERANCE = 1e-5


def _torch_state(twin: LayerTwin) -> dict[str, np.ndarray]:
    return torch_state_to_numpy(twin.torch_model.state_dict())


def _load(twin: LayerTwin, state: dict[str, np.ndarray], mapping: Mapping | None):
    """Convert and load; the report of the conversion and the mean abs output difference."""
    converted, report = convert_state_dict(state, twin.paddle_model, mapping)
    load_report = load_into_paddle(twin.paddle_model, converted)
    diff = np.abs(run_torch(twin.torch_model, twin.x) - run_paddle(twin.paddle_model, twin.x))
    return report, load_report, float(diff.mean()), float(diff.max())


@pytest.mark.parametrize("how", ["definition", "call", "checkpoint"])
@pytest.mark.parametrize("twin_name", list(TWINS))
def test_every_layer_twin_maps_completely_and_outputs_agree(twin_name: str, how: str):
    twin = TWINS[twin_name]()
    mapping = None  # "checkpoint": names and shapes only, no torch model
    if how != "checkpoint":
        example = twin.x if how == "call" else None
        mapping = build_mapping(twin.torch_model, twin.paddle_model, example_input=example)
        assert mapping.complete, mapping.summary()
    report, load_report, mean, worst = _load(twin, _torch_state(twin), mapping)
    assert report.ok, report.summary()
    assert load_report.ok, load_report.summary()
    assert not report.warnings
    assert mean <= TOLERANCE and worst <= TOLERANCE, (mean, worst)


@pytest.mark.parametrize("twin_name", list(TWINS))
def test_a_tensor_missing_from_the_checkpoint_is_named(twin_name: str):
    twin = TWINS[twin_name]()
    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    state = _torch_state(twin)
    lost = next(iter(state))
    del state[lost]

    report, load_report, _, _ = _load(twin, state, mapping)
    assert not report.ok and not load_report.ok
    assert report.missing, report.summary()
    assert all(f"'{lost}'" in m.reason and "the checkpoint lacks" in m.reason for m in report.missing)
    assert {m.name for m in report.missing} == {e.paddle_name for e in mapping.entries if lost in e.sources}


# ----------------------------------------------------------------------------------------------------------
# Recurrent layers: gate order and Paddle's aliased weights

# Rows of each gate in weight_ih_l0 ([gates x hidden, input]): torch's order, which Paddle shares.
_GATES = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gates_copy_straight_and_a_swapped_gate_fails(cell: str):
    twin = recurrent(cell, time_major=False)
    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    state = _torch_state(twin)
    _, _, straight, _ = _load(twin, state, mapping)
    assert straight <= TOLERANCE

    hidden = 7
    swapped = dict(state)
    weight = state["0.weight_ih_l0"].copy()
    first, second = slice(0, hidden), slice(hidden, 2 * hidden)  # i and f (LSTM), r and z (GRU)
    weight[first], weight[second] = state["0.weight_ih_l0"][second], state["0.weight_ih_l0"][first]
    swapped["0.weight_ih_l0"] = weight
    report, load_report, wrong, _ = _load(twin, swapped, mapping)
    assert report.ok and load_report.ok  # every tensor fits: only the outputs can show the mistake
    assert wrong > 100 * TOLERANCE, f"gates {_GATES[cell][:2]} swapped gave the same outputs ({wrong})"


def test_paddle_recurrent_aliases_are_counted_once():
    twin = recurrent("lstm", time_major=False)
    aliases = paddle_aliases(twin.paddle_model)
    assert len(aliases) == 16
    assert aliases["body.0.cell_fw.weight_ih"] == "body.weight_ih_l0"
    assert aliases["body.1.cell_bw.bias_hh"] == "body.bias_hh_l1_reverse"

    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    assert mapping.complete and len(mapping.entries) == 16
    assert not any("cell_" in e.paddle_name for e in mapping.entries)

    converted, report = convert_state_dict(_torch_state(twin), twin.paddle_model, mapping)
    assert report.ok and len(report.mapped) == 16 and not report.missing
    assert "16 paddle aliases counted once" in report.summary()
    # The converted state names every tensor as Paddle's own state_dict does, the alias with the same array.
    assert converted["body.0.cell_fw.weight_ih"] is converted["body.weight_ih_l0"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "Skip loading for body.0.cell_fw.weight_ih"
        load_report = load_into_paddle(twin.paddle_model, converted)
    assert load_report.ok and load_report.loaded == 16


def test_loading_takes_a_tensor_by_its_alias_and_names_two_names_that_disagree():
    twin = recurrent("gru", time_major=True)
    converted, _ = convert_state_dict(_torch_state(twin), twin.paddle_model)
    by_alias = {name: value for name, value in converted.items() if ".cell_" in name}
    assert load_into_paddle(twin.paddle_model, by_alias).ok

    conflicting = dict(converted)
    conflicting["body.0.cell_fw.weight_hh"] = converted["body.weight_hh_l0"] + 1
    report = load_into_paddle(twin.paddle_model, conflicting)
    assert report.mismatched == [
        "body.0.cell_fw.weight_hh: given another value than 'body.weight_hh_l0', the same tensor"
    ]


def test_a_mapping_file_naming_an_alias_fills_the_canonical_tensor(tmp_path: Path):
    twin = recurrent("lstm", time_major=True)
    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    data = mapping.to_json()
    for entry in data["entries"]:
        if entry["paddle_name"] == "body.weight_ih_l0":
            entry["paddle_name"], entry["how"] = "body.0.cell_fw.weight_ih", "file"
    path = tmp_path / "mapping.json"
    path.write_text(json.dumps(data))
    report, load_report, mean, _ = _load(twin, _torch_state(twin), load_mapping(path))
    assert report.ok and load_report.ok, report.summary()
    assert "body.weight_ih_l0" in {t.paddle_name for t in report.mapped}
    assert mean <= TOLERANCE


# ----------------------------------------------------------------------------------------------------------
# Attention: fused in_proj split into q/k/v, and the reverse


def test_fused_in_proj_splits_into_q_k_v_each_transposed_by_its_linear():
    twin = multihead_attention()
    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    splits = {e.paddle_name: e for e in mapping.entries if e.split is not None}
    assert set(splits) == {f"body.{p}_proj.{t}" for p in "qkv" for t in ("weight", "bias")}
    key = splits["body.k_proj.weight"]
    assert (key.torch_name, key.torch_shape, key.paddle_shape) == ("0.in_proj_weight", (24, 8), (8, 8))
    assert key.split == Split(axis=0, index=1, parts=3) and key.transpose is True
    assert splits["body.v_proj.bias"].split == Split(0, 2, 3) and splits["body.v_proj.bias"].transpose is False
    converted, _ = convert_state_dict(_torch_state(twin), twin.paddle_model, mapping)
    np.testing.assert_array_equal(converted["body.k_proj.weight"], _torch_state(twin)["0.in_proj_weight"][8:16].T)


@pytest.mark.parametrize("with_mapping", [True, False], ids=["mapping", "checkpoint_only"])
def test_a_checkpoint_missing_in_proj_bias_is_named(with_mapping: bool):
    twin = transformer_encoder_layer()
    mapping = build_mapping(twin.torch_model, twin.paddle_model) if with_mapping else None
    state = _torch_state(twin)
    del state["self_attn.in_proj_bias"]

    report, load_report, _, _ = _load(twin, state, mapping)
    assert not report.ok and not load_report.ok
    missing = {m.name: m.reason for m in report.missing}
    assert set(missing) == {f"self_attn.{p}_proj.bias" for p in "qkv"}
    assert missing["self_attn.k_proj.bias"] == (
        "the mapping takes it from torch 'self_attn.in_proj_bias' (part 2 of 3 along axis 0), "
        "which the checkpoint lacks"
    )
    assert "missing in checkpoint: self_attn.q_proj.bias" in report.summary()


def test_separate_q_k_v_concatenate_into_a_fused_paddle_qkv():
    twin = self_attention(torch_fused=False, paddle_fused=True)
    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    fused = mapping.by_torch_name()["query.weight + key.weight + value.weight"]
    assert fused.paddle_name == "qkv.weight" and fused.concat == Concat(
        ("query.weight", "key.weight", "value.weight"), 0
    )
    assert (fused.torch_shape, fused.paddle_shape, fused.transpose) == ((24, 8), (8, 24), True)
    report, _, mean, _ = _load(twin, _torch_state(twin), mapping)
    assert [t.piece for t in report.mapped if t.paddle_name == "qkv.bias"] == ["3 tensors concatenated along axis 0"]
    assert mean <= TOLERANCE


def test_a_concat_source_missing_from_the_checkpoint_is_named():
    twin = self_attention(torch_fused=False, paddle_fused=True)
    mapping = build_mapping(twin.torch_model, twin.paddle_model)
    state = _torch_state(twin)
    del state["key.bias"]
    report, *_ = _load(twin, state, mapping)
    assert [(m.name, m.reason) for m in report.missing] == [
        (
            "qkv.bias",
            "the mapping takes it from torch 'query.bias' + 'key.bias' + 'value.bias' "
            "(3 tensors concatenated along axis 0); the checkpoint lacks 'key.bias'",
        )
    ]
    assert {u.name for u in report.unexpected} == {"query.bias", "value.bias"}


# ----------------------------------------------------------------------------------------------------------
# What the weights cannot show: the layers' own settings


def test_transformer_post_norm_against_pre_norm_converts_cleanly_yet_disagrees():
    twin = transformer_encoder_layer(norm_first=False, paddle_normalize_before=True)
    report, load_report, mean, _ = _load(twin, _torch_state(twin), build_mapping(twin.torch_model, twin.paddle_model))
    assert report.ok and load_report.ok
    assert mean > 1e-2


def test_paddle_embedding_zeroes_the_padding_row_whatever_the_checkpoint_holds():
    """torch returns the stored row for padding_idx; Paddle returns zeros. A checkpoint whose padding row is
    not zero (torch never zeroes it after init) converts cleanly and differs at the padded positions only."""
    twin = embedding()
    state = _torch_state(twin)
    state["0.weight"][0] = 1.0
    twin.torch_model.load_state_dict({"0.weight": torch.from_numpy(state["0.weight"])})
    report, load_report, _, _ = _load(twin, state, None)
    assert report.ok and load_report.ok
    diff = np.abs(run_torch(twin.torch_model, twin.x) - run_paddle(twin.paddle_model, twin.x)).max(axis=-1)
    np.testing.assert_array_equal(diff > 0, twin.x == 0)


# ----------------------------------------------------------------------------------------------------------
# The mapping file: split and concat entries


def test_split_and_concat_entries_round_trip_through_the_file(tmp_path: Path):
    path = tmp_path / "mapping.json"
    for twin in (multihead_attention(), self_attention(torch_fused=False, paddle_fused=True)):
        mapping = build_mapping(twin.torch_model, twin.paddle_model)
        save_mapping(mapping, path)
        assert load_mapping(path) == mapping
    entries = json.loads(path.read_text())["entries"]
    concat = next(e for e in entries if "concat" in e)
    assert "torch_name" not in concat
    assert concat["concat"] == {"torch_names": ["query.weight", "key.weight", "value.weight"], "axis": 0}

    save_mapping(build_mapping(multihead_attention().torch_model, multihead_attention().paddle_model), path)
    split = next(e for e in json.loads(path.read_text())["entries"] if e["paddle_name"] == "body.q_proj.weight")
    assert split["torch_name"] == "0.in_proj_weight" and split["split"] == {"axis": 0, "index": 0, "parts": 3}


def test_hand_written_split_and_concat_entries_convert(tmp_path: Path):
    twin = self_attention(torch_fused=True, paddle_fused=False)
    path = tmp_path / "mapping.json"
    entries: list[dict] = [
        {"torch_name": f"qkv.{t}", "paddle_name": f"{p}.{t}", "split": {"axis": 0, "index": i, "parts": 3}}
        for i, p in enumerate("qkv")
        for t in ("weight", "bias")
    ]
    entries += [{"torch_name": f"proj.{t}", "paddle_name": f"out.{t}"} for t in ("weight", "bias")]
    path.write_text(json.dumps({"entries": entries}))
    report, load_report, mean, _ = _load(twin, _torch_state(twin), load_mapping(path))
    assert report.ok and load_report.ok, report.summary()
    assert mean <= TOLERANCE


def test_a_split_that_does_not_fit_is_a_mismatch_in_words():
    twin = multihead_attention()
    mapping = Mapping(
        entries=[MappingEntry("0.in_proj_bias", "body.q_proj.bias", None, None, None, "file", Split(0, 0, 5))]
    )
    _, report = convert_state_dict(_torch_state(twin), twin.paddle_model, mapping)
    assert report.mismatched[0].describe() == (
        "0.in_proj_bias -> body.q_proj.bias: cannot split axis 0 of shape (24,) into 5 equal parts"
    )


_SPLIT = {"torch_name": "a.w", "paddle_name": "b.w"}


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (
            [{**_SPLIT, "split": {"axis": 0, "index": 3, "parts": 3}}],
            "entries[0] (torch 'a.w'): split.index: must be 0 to 2",
        ),
        ([{**_SPLIT, "split": {"axis": 0, "index": 0, "parts": 1}}], "split.parts: a split needs at least 2 parts"),
        ([{**_SPLIT, "split": {"axis": "0", "index": 0, "parts": 2}}], "split.axis: expected an integer"),
        ([{**_SPLIT, "split": {"axis": 0, "parts": 2}}], 'split: expected {"axis": int, "index": int, "parts": int}'),
        (
            [
                {**_SPLIT, "split": {"axis": 0, "index": 0, "parts": 2}},
                {**_SPLIT, "paddle_name": "c", "split": {"axis": 0, "index": 0, "parts": 2}},
            ],
            "entries[1]: torch_name 'a.w' is already used by entries[0] (the same chunk, or another split)",
        ),
        ([_SPLIT, {**_SPLIT, "paddle_name": "c"}], "entries[1]: torch_name 'a.w' is already used by entries[0]"),
        (
            [{"concat": {"torch_names": ["x"], "axis": 0}, "paddle_name": "p"}],
            "concat.torch_names: expected at least 2",
        ),
        ([{"concat": {"torch_names": ["x", "x"], "axis": 0}, "paddle_name": "p"}], "names a tensor twice"),
        ([{"concat": {"torch_names": ["x", "y"]}, "paddle_name": "p"}], 'concat: expected {"torch_names"'),
        ([{**_SPLIT, "concat": {"torch_names": ["x", "y"], "axis": 0}}], 'not "torch_name"'),
        (
            [
                {
                    "concat": {"torch_names": ["x", "y"], "axis": 0},
                    "paddle_name": "p",
                    "split": {"axis": 0, "index": 0, "parts": 2},
                }
            ],
            'entries[0] (torch \'x + y\'): an entry takes "split" or "concat", not both',
        ),
        (
            [
                {"concat": {"torch_names": ["x", "y"], "axis": 0}, "paddle_name": "p"},
                {"torch_name": "y", "paddle_name": "q"},
            ],
            "entries[1]: torch_name 'y' is already used by entries[0]",
        ),
    ],
)
def test_malformed_split_or_concat_entries_name_the_entry_and_the_field(entries: list, expected: str):
    with pytest.raises(MappingError) as error:
        mapping_from_json({"entries": entries}, source="edited.json")
    assert str(error.value).startswith("edited.json: entries[")
    assert expected in str(error.value)
