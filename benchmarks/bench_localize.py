"""Cost of first-divergence localisation and of the float64 replay on a ResNet-50 twin at 224x224, next to the
plain forwards and PaDiff; the replay's verdict on this faithful pair is printed too (a false alarm shows).

Each measurement runs in its own child process, so its peak RSS (``ru_maxrss`` of that process) is its own;
tracemalloc would miss the C++ allocators of both frameworks. Every child builds the same pair (Paddle's
``paddle.vision.models.resnet50`` and the torch twin below, weights converted by paddle_port_checks) and
then runs one operation: a warm-up, then ``--repeat`` timed runs (median reported). Besides the peak RSS
of the whole process, a sampler thread records the peak RSS reached *during* the timed phase above the
RSS after set-up, which is what the operation itself costs.

    python benchmarks/bench_localize.py [--repeat 3] [--size 224]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

MODES = ("plain", "localize", "replay", "plain_backward", "localize_backward", "padiff")


def build_torch_resnet50(num_classes: int = 1000) -> Any:
    """A torch ResNet-50 laid out like paddle.vision's (same layers, same call order; no torchvision)."""
    from torch import nn

    class Bottleneck(nn.Module):
        def __init__(self, in_channels: int, channels: int, stride: int) -> None:
            super().__init__()
            width, out = channels, channels * 4
            self.conv1 = nn.Conv2d(in_channels, width, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(width)
            self.conv2 = nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(width)
            self.conv3 = nn.Conv2d(width, out, 1, bias=False)
            self.bn3 = nn.BatchNorm2d(out)
            self.relu = nn.ReLU(inplace=True)
            self.downsample = None
            if stride != 1 or in_channels != out:
                self.downsample = nn.Sequential(
                    nn.Conv2d(in_channels, out, 1, stride=stride, bias=False), nn.BatchNorm2d(out)
                )

        def forward(self, x: Any) -> Any:
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.relu(self.bn2(self.conv2(out)))
            out = self.bn3(self.conv3(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(out + identity)

    class ResNet50(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
            self.bn1 = nn.BatchNorm2d(64)
            self.relu = nn.ReLU(inplace=True)
            self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
            stages, in_channels = [], 64
            for index, (channels, blocks) in enumerate(zip((64, 128, 256, 512), (3, 4, 6, 3), strict=True)):
                stride = 1 if index == 0 else 2
                stage = [Bottleneck(in_channels, channels, stride)]
                stage += [Bottleneck(channels * 4, channels, 1) for _ in range(blocks - 1)]
                stages.append(nn.Sequential(*stage))
                in_channels = channels * 4
            self.layer1, self.layer2, self.layer3, self.layer4 = stages
            self.avgpool = nn.AdaptiveAvgPool2d(1)
            self.fc = nn.Linear(2048, num_classes)

        def forward(self, x: Any) -> Any:
            x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
            x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
            return self.fc(self.avgpool(x).flatten(1))

    return ResNet50()


def _pair(size: int) -> tuple[Any, Any, Any]:
    """(torch model, paddle model with the converted torch weights, input), both models in eval mode."""
    import numpy as np
    import paddle
    import torch

    from paddle_port_checks.convert import convert_state_dict, torch_state_to_numpy
    from paddle_port_checks.mapping import build_mapping

    paddle.set_device("cpu")
    torch.manual_seed(0)
    torch_model = build_torch_resnet50().eval()
    paddle_model = paddle.vision.models.resnet50().eval()
    state, _ = convert_state_dict(
        torch_state_to_numpy(torch_model.state_dict()), paddle_model, build_mapping(torch_model, paddle_model)
    )
    paddle_model.set_state_dict(state)
    del state
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    return torch_model, paddle_model, x


def _operation(mode: str, torch_model: Any, paddle_model: Any, x: Any) -> Callable[[], Any]:
    import numpy as np
    import paddle
    import torch

    from paddle_port_checks.localize import localize

    # localize runs the torch side in a worker thread; the plain passes do too, so the ratio compares like with
    # like (under load, torch's OpenMP threads on the main thread run many times slower than in a worker).
    def in_thread(work: Callable[[], Any]) -> None:
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()

    def torch_forward() -> None:
        with torch.no_grad():
            torch_model(torch.from_numpy(x))

    def plain() -> None:
        in_thread(torch_forward)
        with paddle.no_grad():
            paddle_model(paddle.to_tensor(x))

    def plain_backward() -> None:
        cotangent = np.random.default_rng(33).standard_normal((1, 1000)).astype(np.float32)
        in_thread(lambda: torch_model(torch.from_numpy(x)).backward(torch.from_numpy(cotangent)))
        paddle_model(paddle.to_tensor(x)).backward(paddle.to_tensor(cotangent))
        torch_model.zero_grad()
        paddle_model.clear_gradients()

    def padiff() -> None:
        from padiff import auto_diff

        auto_diff(
            paddle_model,
            torch_model,
            ({"x": paddle.to_tensor(x)}, {"x": torch.from_numpy(x)}),
            auto_weights=False,
            options={"atol": 1e-5},
        )

    def float64_replay() -> dict[str, Any]:
        from paddle_port_checks import replay

        ref64 = replay.torch_float64_outputs(torch, torch_model, x)["logits"]
        paddle64 = replay.paddle_float64_outputs(paddle, paddle_model, x)["logits"]
        with torch.no_grad():
            ref32 = torch_model(torch.from_numpy(x)).numpy()
        figures = replay.KeyReplay(replay.statistic(ref64, paddle64, "mean"), replay.statistic(ref32, ref64, "mean"))
        return {"float64_diff": figures.float64_diff, "noise_floor": figures.noise_floor, "verdict": figures.verdict(0)}

    operations = {
        "plain": plain,
        "replay": float64_replay,
        "plain_backward": plain_backward,
        "padiff": padiff,
        "localize": lambda: localize(torch_model, paddle_model, x),
        "localize_backward": lambda: localize(torch_model, paddle_model, x, backward=True),
    }
    return operations[mode]


def _child(mode: str, repeat: int, size: int) -> dict[str, Any]:
    """Run one mode in this process; report times and peak RSS."""
    import psutil

    torch_model, paddle_model, x = _pair(size)
    operation = _operation(mode, torch_model, paddle_model, x)
    process = psutil.Process()
    operation()  # warm-up: first-call allocations and kernel selection
    baseline = process.memory_info().rss
    peak = [baseline]
    sampling = True

    def sample() -> None:
        while sampling:
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    times = []
    answer = None
    for _ in range(repeat):
        start = time.perf_counter()
        answer = operation()
        times.append(time.perf_counter() - start)
    sampling = False
    sampler.join()
    return {
        "mode": mode,
        "time_s": statistics.median(times),
        "times_s": times,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "phase_peak_mb": (peak[0] - baseline) / 2**20,
        "answer": answer if isinstance(answer, dict) else None,
    }


def _run_child(mode: str, repeat: int, size: int) -> dict[str, Any]:
    command = [sys.executable, __file__, "--child", mode, "--repeat", str(repeat), "--size", str(size)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if completed.returncode != 0 or not lines:
        return {"mode": mode, "error": (completed.stderr.strip().splitlines() or ["no output"])[-1]}
    return json.loads(lines[-1])


def _padiff_available() -> bool:
    probe = subprocess.run([sys.executable, "-c", "import padiff"], capture_output=True, check=False)
    return probe.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--child", choices=MODES)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.repeat, args.size)), flush=True)
        return
    modes = [mode for mode in MODES if mode != "padiff" or _padiff_available()]
    results = {mode: _run_child(mode, args.repeat, args.size) for mode in modes}
    print(f"ResNet-50 twin, input 1x3x{args.size}x{args.size}, CPU threads {os.cpu_count()}, median of {args.repeat}")
    print(f"{'measurement':<20}{'time s':>9}{'peak RSS MB':>13}{'phase +MB':>11}")
    for mode, result in results.items():
        if "error" in result:
            print(f"{mode:<20} error: {result['error']}")
            continue
        print(f"{mode:<20}{result['time_s']:>9.3f}{result['peak_rss_mb']:>13.0f}{result['phase_peak_mb']:>11.0f}")
    replayed = results.get("replay", {}).get("answer")
    if replayed:
        print(
            f"float64 replay on this faithful pair: float64 diff {replayed['float64_diff']:.3g}, noise floor "
            f"{replayed['noise_floor']:.3g}: {replayed['verdict']} (a false alarm would say 'math differs')"
        )
    if "padiff" not in results:
        print("padiff: not importable (pip install padiff==0.2.0 pyyaml), not measured")
    _print_ratios(results)


def _print_ratios(results: dict[str, dict[str, Any]]) -> None:
    def ratio(numerator: str, denominator: str, key: str) -> str:
        a, b = results.get(numerator, {}), results.get(denominator, {})
        if key not in a or key not in b or not b[key]:
            return "n/a"
        return f"{a[key] / b[key]:.2f}x"

    print(
        "ratios (goal: localize <= 1.2x time and <= 1.1x peak RSS of the plain forwards; "
        "with backward <= 0.15x PaDiff's time; plain_backward / padiff is the floor of that ratio):"
    )
    for numerator, denominator in (
        ("localize", "plain"),
        ("replay", "plain"),
        ("localize_backward", "plain_backward"),
        ("localize_backward", "padiff"),
        ("plain_backward", "padiff"),
        ("localize", "padiff"),
    ):
        print(
            f"  {numerator} / {denominator}: time {ratio(numerator, denominator, 'time_s')}, "
            f"peak RSS {ratio(numerator, denominator, 'peak_rss_mb')}, "
            f"phase memory {ratio(numerator, denominator, 'phase_peak_mb')}"
        )


if __name__ == "__main__":
    main()
