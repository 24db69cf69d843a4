"""Calibration of the float64 replay: its verdict on every faithful twin pair the suite has, and on the planted
faults, with the figures behind each. Prints the false-alarm rate (faithful pairs called "math differs") and
the detection rate (planted faults called "math differs"), and each pair's float64 difference as a share of
its float32 noise floor: the rule's threshold (replay.MATH_DIFFERS_RATIO) must sit between the two groups.

    python benchmarks/bench_replay.py

The pairs: every layer twin of tests/layer_twins.py, the convnets of tests/twins.py (with their faults), the
three demo ports (their checkpoints made here, seeded; with their planted faults) and the tutorial-layout
port's MiniAlexNet. Weights converted by paddle_port_checks, as the checks do.
"""

from __future__ import annotations

import runpy
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO)]

Pair = tuple[Any, Any, Any]  # torch model, paddle model with converted weights, input (array or dict of arrays)


def converted(torch_model: Any, paddle_model: Any, example: Any) -> Pair:
    from paddle_port_checks.convert import convert_state_dict, load_into_paddle, torch_state_to_numpy
    from paddle_port_checks.mapping import build_mapping

    mapping = build_mapping(torch_model, paddle_model)
    state, _ = convert_state_dict(torch_state_to_numpy(torch_model.state_dict()), paddle_model, mapping)
    load_into_paddle(paddle_model, state)
    return torch_model.eval(), paddle_model.eval(), example


def layer_twins() -> Iterator[tuple[str, Callable[[], Pair]]]:
    from layer_twins import TWINS

    for name, build in TWINS.items():

        def pair(build: Callable[[], Any] = build) -> Pair:
            twin = build()
            return converted(twin.torch_model, twin.paddle_model, twin.x)

        yield f"layer {name}", pair


def convnets(faulty: bool) -> Iterator[tuple[str, Callable[[], Pair]]]:
    import twins

    faults = {"bn_epsilon": {"bn_epsilon": 1e-3}, "maxpool_ceil_mode": {"maxpool_ceil_mode": True}}
    for builder in (twins.same_names_convnet, twins.disjoint_names_convnet):
        for fault, kwargs in faults.items() if faulty else [("faithful", {})]:

            def pair(builder: Callable[..., Any] = builder, kwargs: dict[str, Any] = kwargs) -> Pair:
                torch_model, paddle_model = builder(**kwargs)
                return converted(torch_model, paddle_model, twins.example_input())

            yield f"{builder.__name__} {fault}", pair


DEMO_FAULTS = {
    "resnet": {"maxpool_ceil_mode": {"maxpool_ceil_mode": True}},
    "text": {"gelu_approximate": {"gelu_approximate": True}, "ln_epsilon": {"ln_epsilon": 1e-5}},
    "sequence": {"swap_directions": {"swap_directions": True}},
}


def demos(faulty: bool, folder: Path) -> Iterator[tuple[str, Callable[[], Pair]]]:
    import importlib

    import torch

    from paddle_port_checks.config import load_config
    from paddle_port_checks.inputs import fixed_inputs
    from paddle_port_tui.demo import make_checkpoint, write_demo

    for name, faults in DEMO_FAULTS.items():
        for fault, kwargs in faults.items() if faulty else [("faithful", {})]:

            def pair(name: str = name, kwargs: dict[str, Any] = kwargs) -> Pair:
                root = folder / name
                if not (root / "paddle_port.toml").is_file():
                    write_demo(root, name)
                    make_checkpoint(root, sys.executable, name)
                config = load_config(root)  # its checkpoint and inputs; the code is the repository's demo_port
                torch_side = importlib.import_module(config.reference.model.split(":")[0])
                paddle_side = importlib.import_module(config.paddle.model.split(":")[0])
                torch_model = getattr(torch_side, config.reference.model.split(":")[1])(**config.reference.kwargs)
                torch_model.load_state_dict(torch.load(root / config.reference.checkpoint, weights_only=True))
                factory = getattr(paddle_side, config.paddle.model.split(":")[1])
                paddle_model = factory(**{**config.paddle.kwargs, **kwargs})
                inputs = fixed_inputs(config)
                return converted(torch_model, paddle_model, inputs.as_called)

            yield f"demo {name} {fault}", pair


def tutorial() -> Iterator[tuple[str, Callable[[], Pair]]]:
    def pair() -> Pair:
        import torch

        port = REPO / "tests/tutorial_port"
        torch_model = runpy.run_path(str(port / "Mini_ref/torchvision/models/alexnet.py"))["mini_alexnet"]()
        paddle_model = runpy.run_path(str(port / "Mini_paddle/paddlevision/models/alexnet.py"))["mini_alexnet"]()
        torch.manual_seed(33)
        torch_model.train()
        with torch.no_grad():  # BatchNorm statistics off 0 and 1
            torch_model(torch.randn(8, 3, 64, 64) * 2 + 0.5)
        x = np.random.default_rng(0).standard_normal((2, 3, 64, 64)).astype(np.float32)
        return converted(torch_model, paddle_model, x)

    yield "tutorial mini_alexnet faithful", pair


def measure(build: Callable[[], Pair]) -> dict[str, Any]:
    import paddle
    import torch

    from paddle_port_checks import replay
    from paddle_port_checks.inputs import call_model
    from paddle_port_checks.inputs import converted as convert_inputs
    from paddle_port_checks.outputs import model_outputs

    torch_model, paddle_model, example = build()
    with torch.no_grad():
        ref32 = next(iter(model_outputs(call_model(torch_model, convert_inputs(example, torch.from_numpy))).values()))
    with paddle.no_grad():
        ours32 = next(iter(model_outputs(call_model(paddle_model, convert_inputs(example, paddle.to_tensor))).values()))
    started = time.perf_counter()
    ref64 = next(iter(replay.torch_float64_outputs(torch, torch_model, example).values()))
    try:
        ours64: Any = next(iter(replay.paddle_float64_outputs(paddle, paddle_model, example).values()))
    except Exception as error:  # no float64 kernel on the Paddle side: the fallback
        ours64 = None
        print(f"    (no float64 Paddle side: {str(error).strip().splitlines()[-1][:100]})", flush=True)
    seconds = time.perf_counter() - started
    float32_diff = replay.statistic(ref32, ours32, "mean")
    figures = replay.KeyReplay(
        None if ours64 is None else replay.statistic(ref64, ours64, "mean"), replay.statistic(ref32, ref64, "mean")
    )
    return {
        "float32": float32_diff,
        "float64": figures.float64_diff,
        "floor": figures.noise_floor,
        "verdict": figures.verdict(float32_diff),
        "seconds": seconds,
    }


def report(title: str, pairs: list[tuple[str, Callable[[], Pair]]], expected: str) -> tuple[int, int]:
    print(f"\n{title}")
    print(f"{'pair':<52}{'float32':>10}{'float64':>10}{'floor':>10}{'share':>10}  verdict")
    hits = 0
    for name, build in pairs:
        row = measure(build)
        share = "n/a" if row["float64"] is None or not row["floor"] else f"{row['float64'] / row['floor']:.1e}"
        float64 = "n/a" if row["float64"] is None else f"{row['float64']:.1e}"
        print(f"{name:<52}{row['float32']:>10.1e}{float64:>10}{row['floor']:>10.1e}{share:>10}  {row['verdict']}")
        hits += row["verdict"] == expected
    return hits, len(pairs)


def step_cost(folder: Path, repeat: int = 3) -> None:
    """The demo's forward step with and without the replay, warm (references cached), alternated in one run."""
    import statistics

    from workspaces import copy_demo, run_step, set_config

    from paddle_port_checks.steps import forward

    root = copy_demo(folder / "cost")
    run_step(root, "forward", after_compare=forward.explain)  # the references (float32 and float64) cached
    config = (root / "paddle_port.toml").read_text()
    times: dict[str, list[float]] = {"with replay": [], "without": []}
    for _ in range(repeat):
        for label, switch in (("with replay", "true"), ("without", "false")):
            (root / "paddle_port.toml").write_text(config)
            set_config(root, "seed = 33", f"seed = 33\nfloat64_replay = {switch}")
            started = time.perf_counter()
            run_step(root, "forward", after_compare=forward.explain)
            times[label].append(time.perf_counter() - started)
    with_replay, without = (statistics.median(times[label]) for label in ("with replay", "without"))
    print(
        f"\ndemo ResNet-18 forward step (warm, median of {repeat}): {with_replay:.2f} s with the replay, "
        f"{without:.2f} s without: ratio {with_replay / without:.2f}x"
    )


def main() -> None:
    import paddle

    from paddle_port_checks import replay

    paddle.set_device("cpu")
    with tempfile.TemporaryDirectory(prefix="bench-replay-") as folder:
        step_cost(Path(folder))
        faithful = [*layer_twins(), *convnets(False), *demos(False, Path(folder)), *tutorial()]
        faults = [*convnets(True), *demos(True, Path(folder))]
        calm, total = report("faithful pairs (must be noise)", faithful, replay.NOISE)
        caught, planted = report("planted faults (must be 'math differs')", faults, replay.MATH_DIFFERS)
    print(
        f"\nfalse alarms: {total - calm}/{total} faithful pairs called '{replay.MATH_DIFFERS}'; "
        f"detections: {caught}/{planted} planted faults; the rule: math differs when float64 diff > "
        f"{replay.MATH_DIFFERS_RATIO:g} x noise floor"
    )


if __name__ == "__main__":
    main()
