"""The bundled demo port really is a faithful port: models, weight mapping, data pipelines, data set.

The demo is what newcomers run first and what the check library's own tests lean on, so these tests
pin the properties every later check relies on: a converted checkpoint reproduces the logits, the
faulty twins do not, the two data pipelines agree to the bit, and the small data set is what
`tools/make_lite_data.py` says it is.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import numpy as np
import paddle
import pytest
import torch
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # demo_port is a workspace module, not an installed package
    sys.path.insert(0, str(REPO_ROOT))

from demo_port import paddle_data, paddle_model, torch_data, torch_model  # noqa: E402
from paddle_port_checks.samples import read_list_file  # noqa: E402

SEED = 33


def torch_to_paddle_name(name: str) -> str | None:
    """The demo's mapping rule: BatchNorm statistics renamed, `num_batches_tracked` has no Paddle twin."""
    if name.endswith("num_batches_tracked"):
        return None
    return name.replace("running_mean", "_mean").replace("running_var", "_variance")


def convert(torch_state: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """Torch state dict -> Paddle state dict for the demo twin (paddle.nn.Linear stores [in, out])."""
    converted = {}
    for name, tensor in torch_state.items():
        paddle_name = torch_to_paddle_name(name)
        if paddle_name is None:
            continue
        array = tensor.detach().cpu().numpy()
        converted[paddle_name] = array.T if name == "fc.weight" else array
    return converted


@pytest.fixture(scope="module")
def reference() -> torch.nn.Module:
    paddle.set_device("cpu")
    torch.manual_seed(SEED)
    return torch_model.resnet18(num_classes=10).eval()


@pytest.fixture(scope="module")
def fake_input() -> np.ndarray:
    return np.random.default_rng(SEED).standard_normal((1, 3, 224, 224)).astype(np.float32)


@pytest.fixture(scope="module")
def reference_logits(reference: torch.nn.Module, fake_input: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return reference(torch.from_numpy(fake_input)).numpy()


def paddle_logits(reference: torch.nn.Module, fake_input: np.ndarray, **twin_kwargs: object) -> np.ndarray:
    """Logits of a Paddle twin (faithful by default) loaded with the converted reference weights."""
    twin = paddle_model.resnet18(num_classes=10, **twin_kwargs)
    twin.set_state_dict(convert(reference.state_dict()))
    twin.eval()
    with paddle.no_grad():
        return twin(paddle.to_tensor(fake_input)).numpy()


# --- (a) models and the weight mapping -------------------------------------------------------------


def test_parameter_names_and_shapes_map_one_to_one(reference: torch.nn.Module) -> None:
    paddle.set_device("cpu")
    twin = paddle_model.resnet18(num_classes=10)
    paddle_state = twin.state_dict()
    converted = convert(reference.state_dict())

    assert set(converted) == set(paddle_state), (
        f"only torch: {sorted(set(converted) - set(paddle_state))}; "
        f"only paddle: {sorted(set(paddle_state) - set(converted))}"
    )
    for name, array in converted.items():
        assert tuple(paddle_state[name].shape) == array.shape, name
    # Spot-check the names the mapping rule is about, so a silent rename on either side fails here.
    renamed = {"bn1._mean", "bn1._variance", "layer2.0.downsample.0.weight", "layer2.0.downsample.1._mean"}
    assert renamed <= set(paddle_state)
    assert tuple(paddle_state["fc.weight"].shape) == (512, 10)
    assert tuple(reference.state_dict()["fc.weight"].shape) == (10, 512)


def test_models_have_the_same_number_of_trainable_parameters(reference: torch.nn.Module) -> None:
    twin = paddle_model.resnet18(num_classes=10)
    torch_count = sum(p.numel() for p in reference.parameters() if p.requires_grad)
    paddle_count = sum(int(p.numel()) for p in twin.parameters() if not p.stop_gradient)
    assert torch_count == paddle_count == 11_181_642  # torchvision's resnet18 with a 10-class head


def test_converted_weights_reproduce_the_reference_logits(
    reference: torch.nn.Module, fake_input: np.ndarray, reference_logits: np.ndarray
) -> None:
    logits = paddle_logits(reference, fake_input)
    diff = np.abs(logits - reference_logits)
    assert logits.shape == reference_logits.shape == (1, 10)
    assert diff.max() <= 1e-4, diff.max()
    assert diff.mean() <= 1e-5, diff.mean()


@pytest.mark.parametrize(
    "fault",
    [{"bn_epsilon": 1e-3}, {"maxpool_ceil_mode": True}, {"dropout_mode": "downscale_in_infer"}],
    ids=["bn_epsilon", "maxpool_ceil_mode", "dropout_mode"],
)
def test_faulty_twins_diverge_measurably(
    reference: torch.nn.Module, fake_input: np.ndarray, reference_logits: np.ndarray, fault: dict
) -> None:
    logits = paddle_logits(reference, fake_input, **fault)
    # Orders of magnitude above the forward step's 1e-5 threshold: the check must flag each of these.
    assert np.abs(logits - reference_logits).mean() > 1e-3


def test_faithful_twin_defaults_match_torch_layer_settings() -> None:
    twin = paddle_model.resnet18()
    assert twin.bn1._epsilon == pytest.approx(1e-5)
    assert twin.bn1._momentum == pytest.approx(1 - torch.nn.BatchNorm2d(1).momentum)
    assert twin.maxpool.ceil_mode is False
    assert twin.dropout.mode == "upscale_in_train"


# --- (c) the reference init -------------------------------------------------------------------------


def test_torch_init_is_deterministic_for_a_seed() -> None:
    def state(seed: int) -> dict[str, torch.Tensor]:
        torch.manual_seed(seed)
        return torch_model.resnet18().state_dict()

    first, again, other = state(SEED), state(SEED), state(SEED + 1)
    assert all(torch.equal(first[name], again[name]) for name in first)
    assert not torch.equal(first["layer3.1.conv2.weight"], other["layer3.1.conv2.weight"])


def test_torch_init_gives_nontrivial_batchnorm_state_and_logits(
    reference: torch.nn.Module, reference_logits: np.ndarray
) -> None:
    state = reference.state_dict()
    # Non-default statistics, so a mapping that drops or swaps _mean/_variance changes the output.
    assert state["layer1.0.bn1.running_mean"].abs().max() > 0.05
    assert (state["layer1.0.bn1.running_var"] - 1).abs().max() > 0.1
    assert (state["layer1.0.bn1.running_var"] > 0).all()
    assert np.abs(reference_logits).max() > 0.1


# --- (b) data pipelines and the small data set ------------------------------------------------------


@pytest.fixture(scope="module")
def samples() -> list[tuple[str, int]]:
    return read_list_file(REPO_ROOT / "lite_data.txt", REPO_ROOT)


def test_lite_data_is_twelve_photographs_in_ten_classes(samples: list[tuple[str, int]]) -> None:
    assert len(samples) == 12
    assert {label for _, label in samples} == set(range(10))
    total_bytes = sum(Path(path).stat().st_size for path, _ in samples)
    assert total_bytes < 1_000_000
    modes = set()
    for path, _ in samples:
        with Image.open(path) as image:
            assert min(image.size) == 288 and image.format == "JPEG", path
            modes.add(image.mode)
    assert modes == {"L", "RGB"}  # greyscale photographs are in the set, so the RGB conversion is exercised
    licences = (REPO_ROOT / "lite_data" / "LICENSES.md").read_text(encoding="utf-8")
    assert all(f"images/{Path(path).name}" in licences for path, _ in samples)


def test_data_pipelines_agree_on_every_image(samples: list[tuple[str, int]]) -> None:
    paddle.set_device("cpu")
    reference = torch_data.build_dataset(samples)
    twin = paddle_data.build_dataset(samples)
    assert len(reference) == len(twin) == len(samples)
    for index, (path, label) in enumerate(samples):
        ref_image, ref_label = reference[index]
        twin_image, twin_label = twin[index]
        ref_array, twin_array = ref_image.numpy(), np.asarray(twin_image)
        assert ref_array.shape == twin_array.shape == (3, 224, 224), path
        assert ref_array.dtype == twin_array.dtype == np.float32, path
        assert np.abs(ref_array - twin_array).max() <= 1e-6, path
        assert ref_label == twin_label == label
        assert -2.2 < ref_array.min() < 0 < ref_array.max() < 2.7, path  # ImageNet-normalized, not raw pixels


def test_a_different_resize_filter_is_caught(samples: list[tuple[str, int]]) -> None:
    paddle.set_device("cpu")
    reference = torch_data.build_dataset(samples)
    faulty = paddle_data.build_dataset(samples, interpolation="nearest")
    diff = np.abs(reference[0][0].numpy() - np.asarray(faulty[0][0]))
    assert diff.max() > 0.1


def test_make_lite_data_regenerates_the_committed_files(tmp_path: Path) -> None:
    import skimage

    tool = runpy.run_path(str(REPO_ROOT / "tools" / "make_lite_data.py"), run_name="make_lite_data")

    images = tool["make_lite_data"](tmp_path)  # also checks the quoted licences against skimage's docstrings

    def text(root: Path, name: str) -> str:
        # The committed LICENSES.md names the scikit-image it came from; another version may regenerate it.
        committed_version = tool["EXPECTED_SKIMAGE"]
        return (root / name).read_text(encoding="utf-8").replace(skimage.__version__, committed_version)

    for name in ("lite_data.txt", "lite_data/LICENSES.md"):
        assert text(tmp_path, name) == text(REPO_ROOT, name)
    assert len(images) == 12
    for image in images:
        with Image.open(REPO_ROOT / "lite_data" / "images" / image.name) as old, Image.open(image) as new:
            committed, regenerated = np.asarray(old, dtype=np.int16), np.asarray(new, dtype=np.int16)
        # A libjpeg other than the one that wrote the committed files may round a few values differently.
        assert committed.shape == regenerated.shape
        assert np.abs(committed - regenerated).max() <= 2, image.name
