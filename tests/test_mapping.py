"""The torch -> Paddle mapping: by name, by structure, by call order, and its editable JSON file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from twins import (
    disjoint_names_convnet,
    example_input,
    reordered_definitions_chain,
    run_paddle,
    run_torch,
    same_names_convnet,
    square_linear_mlp,
)

from paddle_port_checks import mapping_rules
from paddle_port_checks.convert import convert_state_dict, load_into_paddle, torch_state_to_numpy
from paddle_port_checks.mapping import (
    Mapping,
    MappingEntry,
    MappingError,
    build_mapping,
    build_mapping_from_state,
    load_mapping,
    save_mapping,
)


def _outputs_after_conversion(torch_model, paddle_model, mapping: Mapping | None, x: np.ndarray) -> float:
    """Convert the torch weights with `mapping`, load them, and return the mean abs output difference."""
    torch_state = torch_state_to_numpy(torch_model.state_dict())
    converted, report = convert_state_dict(torch_state, paddle_model, mapping)
    assert report.ok, report.summary()
    assert load_into_paddle(paddle_model, converted).ok
    return float(np.abs(run_torch(torch_model, x) - run_paddle(paddle_model, x)).mean())


def test_identical_names_map_by_name_with_batchnorm_renames():
    torch_model, paddle_model = same_names_convnet()
    mapping = build_mapping(torch_model, paddle_model)

    pairs = {e.torch_name: e.paddle_name for e in mapping.entries}
    assert {e.how for e in mapping.entries} == {"name"}
    assert pairs["1.running_mean"] == "1._mean" and pairs["1.running_var"] == "1._variance"
    assert mapping.complete
    assert mapping.dropped == ["1.num_batches_tracked", "5.num_batches_tracked"]
    assert not any("num_batches_tracked" in e.torch_name for e in mapping.entries)


def test_disjoint_names_and_nesting_map_by_structure_and_outputs_agree():
    torch_model, paddle_model = disjoint_names_convnet()
    mapping = build_mapping(torch_model, paddle_model)

    pairs = {e.torch_name: e.paddle_name for e in mapping.entries}
    assert {e.how for e in mapping.entries} == {"structure"}
    assert mapping.complete, mapping.summary()
    assert pairs["4.weight"] == "body.conv.weight"
    assert pairs["5.running_var"] == "body.norm._variance"
    assert pairs["10.weight"] == "head.classifier.weight"
    assert [e.transpose for e in mapping.entries if e.paddle_name == "head.classifier.weight"] == [True]

    x = example_input()
    assert _outputs_after_conversion(torch_model, paddle_model, mapping, x) <= 1e-6


def test_checkpoint_only_mapping_pairs_disjoint_names_without_a_torch_model():
    torch_model, paddle_model = disjoint_names_convnet()
    shapes = {k: tuple(v.shape) for k, v in torch_model.state_dict().items()}
    from_state = build_mapping_from_state(shapes, paddle_model)
    from_model = build_mapping(torch_model, paddle_model)
    assert from_state.entries == from_model.entries


def test_call_order_pairs_lookalike_layers_that_definition_order_swaps():
    x = example_input()
    torch_model, paddle_model = reordered_definitions_chain()

    by_definition = build_mapping(torch_model, paddle_model)
    assert by_definition.by_torch_name()["2.weight"].paddle_name == "last.weight"  # the wrong one
    assert _outputs_after_conversion(torch_model, paddle_model, by_definition, x) > 1e-3

    by_call = build_mapping(torch_model, paddle_model, example_input=x)
    pairs = {e.torch_name: e.paddle_name for e in by_call.entries}
    assert pairs["0.weight"] == "entry.weight"
    assert pairs["2.weight"] == "middle.weight"
    assert pairs["4.weight"] == "last.weight"
    assert _outputs_after_conversion(torch_model, paddle_model, by_call, x) <= 1e-6


def test_call_order_run_leaves_training_mode_as_it_was():
    torch_model, paddle_model = reordered_definitions_chain()
    torch_model.train()
    paddle_model.train()
    build_mapping(torch_model, paddle_model, example_input=example_input())
    assert torch_model.training and all(m.training for m in torch_model.modules())
    assert paddle_model.training and all(layer.training for layer in paddle_model.sublayers())


def test_transpose_is_decided_by_the_paddle_layer_type_for_a_square_linear():
    nn_mapping = build_mapping(*square_linear_mlp("nn"))
    compat_mapping = build_mapping(*square_linear_mlp("compat"))
    weights = ("0.weight", "2.weight")
    assert all(nn_mapping.by_torch_name()[w].transpose for w in weights)
    assert not any(compat_mapping.by_torch_name()[w].transpose for w in weights)
    # Same shapes on both sides either way: only the layer type could tell them apart.
    assert [e.paddle_shape for e in nn_mapping.entries] == [e.paddle_shape for e in compat_mapping.entries]


def test_unmatched_layers_are_listed_with_a_reason():
    torch_model, _ = disjoint_names_convnet()
    _, paddle_model = reordered_definitions_chain()  # three convs, no BatchNorm, no Linear
    mapping = build_mapping(torch_model, paddle_model)

    assert mapping.by_torch_name()["0.weight"].paddle_name == "entry.weight"
    unmapped_torch = {u.name: u.reason for u in mapping.unmapped_torch}
    conv_reason = unmapped_torch["4.weight"]
    assert conv_reason.startswith("no paddle layer of kind conv with weight (16, 8, 3, 3) left")
    assert "unpaired paddle layers of that kind: 'last': weight (8, 8, 3, 3)" in conv_reason
    assert "no paddle layer of kind batchnorm" in unmapped_torch["1.running_mean"]
    assert "no paddle layer of kind linear" in unmapped_torch["10.weight"]
    unmapped_paddle = {u.name: u.reason for u in mapping.unmapped_paddle}
    assert set(unmapped_paddle) == {"last.weight", "last.bias", "middle.weight", "middle.bias"}
    paddle_reason = unmapped_paddle["last.bias"]
    assert "no torch layer of kind conv with weight (8, 8, 3, 3), bias (8,) left" in paddle_reason
    assert not mapping.complete
    assert "unmapped paddle middle.weight (8, 8, 3, 3)" in mapping.summary()


def test_the_structural_pass_asks_the_rule_registered_for_the_two_kinds(monkeypatch):
    monkeypatch.setattr(mapping_rules, "_RULES", dict(mapping_rules._RULES))
    asked = []

    @mapping_rules.mapping_rule("linear", "linear")
    def refuse(torch_layer, paddle_layer):
        asked.append((torch_layer.path, paddle_layer.path))

    mapping = build_mapping(*disjoint_names_convnet())
    assert asked == [("10", "head.classifier")]
    assert {u.name for u in mapping.unmapped_torch} == {"10.weight", "10.bias"}
    assert mapping.by_torch_name()["0.weight"].paddle_name == "stem.conv.weight"
    with pytest.raises(ValueError, match="already registered"):
        mapping_rules.mapping_rule("linear", "linear")(refuse)


def test_mapping_json_round_trips(tmp_path: Path):
    mapping = build_mapping(*disjoint_names_convnet())
    path = tmp_path / "mapping.json"
    save_mapping(mapping, path)
    assert load_mapping(path) == mapping
    assert json.loads(path.read_text())["entries"][0]["how"] == "structure"


def test_hand_edited_mapping_entry_is_honoured(tmp_path: Path):
    torch_model, paddle_model = same_names_convnet()
    mapping = build_mapping(torch_model, paddle_model)
    path = tmp_path / "mapping.json"
    save_mapping(mapping, path)

    # The porter swaps the sources of the two BatchNorm bias vectors' first layer: 1.bias <- 1.weight.
    data = json.loads(path.read_text())
    for entry in data["entries"]:
        if entry["torch_name"] == "1.weight":
            entry["paddle_name"], entry["how"] = "1.bias", "file"
        elif entry["torch_name"] == "1.bias":
            entry["paddle_name"], entry["how"] = "1.weight", "file"
    path.write_text(json.dumps(data))

    edited = load_mapping(path)
    assert edited.by_torch_name()["1.weight"] == MappingEntry("1.weight", "1.bias", (8,), (8,), False, "file")
    torch_state = torch_state_to_numpy(torch_model.state_dict())
    converted, report = convert_state_dict(torch_state, paddle_model, edited)
    assert report.ok
    np.testing.assert_array_equal(converted["1.bias"], torch_state["1.weight"])
    np.testing.assert_array_equal(converted["1.weight"], torch_state["1.bias"])


def test_hand_written_entry_without_transpose_lets_the_layer_type_decide(tmp_path: Path):
    torch_model, paddle_model = square_linear_mlp("nn")
    path = tmp_path / "mapping.json"
    names = ("0.weight", "0.bias", "2.weight", "2.bias")
    path.write_text(json.dumps({"entries": [{"torch_name": n, "paddle_name": n} for n in names]}))

    mapping = load_mapping(path)
    assert {e.how for e in mapping.entries} == {"file"}
    assert all(e.transpose is None for e in mapping.entries)
    torch_state = torch_state_to_numpy(torch_model.state_dict())
    converted, report = convert_state_dict(torch_state, paddle_model, mapping)
    assert report.ok
    assert set(report.transposed) == {"0.weight", "2.weight"}
    np.testing.assert_array_equal(converted["0.weight"], torch_state["0.weight"].T)


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON at line 1"),
        ('{"entries": {}}', 'a list under "entries"'),
        ('{"entries": [{"torch_name": "a.weight"}]}', 'entries[0]: "paddle_name" must be a non-empty string'),
        (
            '{"entries": [{"torch_name": "a", "paddle_name": "b"}, {"torch_name": "c", "paddle_name": "d",'
            ' "transpose": "yes"}]}',
            "entries[1] (torch 'c'): \"transpose\" must be true, false or absent",
        ),
        (
            '{"entries": [{"torch_name": "a", "paddle_name": "b"}, {"torch_name": "c", "paddle_name": "b"}]}',
            "entries[1]: paddle_name 'b' is already used by entries[0]",
        ),
        ('{"entries": [{"torch_name": "a", "paddle_name": "b", "how": "guess"}]}', '"how" must be one of'),
        ('{"entries": [{"torch_name": "a", "paddle_name": "b", "torch_shape": [2, "x"]}]}', "torch_shape"),
    ],
)
def test_malformed_mapping_file_names_the_file_and_the_entry(tmp_path: Path, content: str, expected: str):
    path = tmp_path / "edited_mapping.json"
    path.write_text(content)
    with pytest.raises(MappingError) as error:
        load_mapping(path)
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_missing_mapping_file_names_it(tmp_path: Path):
    with pytest.raises(MappingError, match="nowhere.json: cannot read"):
        load_mapping(tmp_path / "nowhere.json")
