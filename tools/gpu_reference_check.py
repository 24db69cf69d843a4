"""GPU check of the torch side and the device plumbing, for a machine that has CUDA torch but no paddle.

Run from the repository root on a GPU machine:
    python tools/gpu_reference_check.py OUT_DIR
It checks the device mapping and the determinism settings for real on CUDA, measures what TF32 would do
to a comparison, and computes the golden reference of steps forward, data, metric and predict on `gpu:0`
into a copy of the demo workspace. The cache it writes (OUT_DIR/cache/) lets the Paddle side run on
another machine (`reference_device = "gpu:0"`) without torch ever touching a GPU there: the two
frameworks need not share a GPU, nor a machine.
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main(out: Path, device_name: str = "gpu:0") -> int:
    from paddle_port_checks.config import load_config
    from paddle_port_checks.device import GPU_ENVIRONMENT, parse_device
    from paddle_port_checks.factories import add_workspace_to_path
    from paddle_port_checks.session import CheckContext
    from paddle_port_checks.steps import data, metric, predict

    report: dict[str, object] = {}
    assert (parse_device("gpu:0").paddle, parse_device("gpu:0").torch) == ("gpu:0", "cuda:0")
    gpu = parse_device(device_name)  # "cpu" only to rehearse this script on a machine without a GPU

    workspace = Path(tempfile.mkdtemp()) / "demo"
    workspace.mkdir()
    for name in ("demo_port", "lite_data", "lite_data.txt", "paddle_port.toml", "test_tipc"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, workspace / name)
    config_text = (
        (workspace / "paddle_port.toml")
        .read_text()
        .replace('device = "cpu"', f'device = "cpu"\nreference_device = "{gpu}"')
    )
    (workspace / "paddle_port.toml").write_text(config_text)
    add_workspace_to_path(workspace)
    # The very checkpoint file of the machine that will run the Paddle side (carried along), else a new one:
    # a reference is reusable elsewhere only for the same checkpoint bytes.
    checkpoint = workspace / "weights/reference.pth"
    checkpoint.parent.mkdir(exist_ok=True)
    if (REPO / "weights/reference.pth").is_file():
        shutil.copy2(REPO / "weights/reference.pth", checkpoint)
    else:
        from demo_port.make_checkpoint import make_checkpoint

        make_checkpoint(checkpoint, workspace / "lite_data.txt")
    config = load_config(workspace / "paddle_port.toml")

    # The context sets the determinism variables before torch initialises CUDA.
    context = CheckContext("forward", config, parse_device("cpu"), gpu, fresh=True)
    report["environment_set"] = {name: os.environ.get(name) for name in GPU_ENVIRONMENT}
    torch = context.torch()
    report["torch"] = torch.__version__
    report["gpu"] = torch.cuda.get_device_name(0) if gpu.is_gpu else "none (rehearsal)"
    report["torch_flags"] = {
        "cudnn.deterministic": torch.backends.cudnn.deterministic,
        "cudnn.benchmark": torch.backends.cudnn.benchmark,
        "matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
    }

    # The same model and input on CPU and on the GPU, TF32 off; then twice on the GPU; then TF32 on.
    model = context.reference_model()
    x = torch.from_numpy(context.inputs().first)
    with torch.no_grad():
        gpu_logits = model(x.to(gpu.torch)).cpu()
        gpu_again = model(x.to(gpu.torch)).cpu()
        cpu_logits = model.to("cpu")(x)
        model.to(gpu.torch)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        tf32_logits = model(x.to(gpu.torch)).cpu()
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    report["gpu_vs_cpu_mean_abs"] = float((gpu_logits - cpu_logits).abs().mean())
    report["gpu_vs_cpu_max_abs"] = float((gpu_logits - cpu_logits).abs().max())
    report["gpu_repeat_bitwise_equal"] = bool(torch.equal(gpu_logits, gpu_again))
    report["tf32_vs_fp32_mean_abs"] = float((tf32_logits - gpu_logits).abs().mean())
    report["tf32_vs_fp32_max_abs"] = float((tf32_logits - gpu_logits).abs().max())

    # Golden references on the GPU: each step's run computes the reference first, then needs paddle.
    context.reference_state()
    computed = {}
    # Each step's own computation, as its script runs it (forward: the script's hooks are part of the key).
    forward_script = runpy.run_path(str(workspace / "test_tipc/01_test_forward.py"), run_name="gpu_check")
    steps = {"forward": forward_script["check"], "data": data.run, "metric": metric.run, "predict": predict.run}
    for name, compute in steps.items():
        step_context = CheckContext(name, config, parse_device("cpu"), gpu, fresh=True)
        try:
            compute(step_context)
        except ImportError as error:  # no paddle on this machine: the reference part is done by now
            if "paddle" not in str(error):
                raise
        computed[name] = step_context.reference
    report["references"] = computed
    shutil.copytree(workspace / "result" / "cache", out / "cache")
    (out / "gpu_report.json").write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), *sys.argv[2:3]))
