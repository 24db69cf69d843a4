"""TIPC inference: run the exported model with Paddle Inference and print the top class.

The deployment path, deliberately without the dynamic-graph model: only `<model-dir>/inference.*`
and the port's preprocessing. On the CPU oneDNN is off by default (Paddle Inference 3.3 with oneDNN
has failed on some exported ops, and its kernels round differently) and one math thread keeps the
result deterministic, so it agrees with predict.py to 1e-5.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the workspace root, for `demo_port`

import numpy as np
import paddle
from paddle import inference

from demo_port.tipc.common import fail, format_prediction, load_image, str2bool


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="the folder holding inference.*")
    parser.add_argument("--img-path", required=True)
    parser.add_argument("--use-gpu", type=str2bool, default=False)
    parser.add_argument("--batch-size", type=int, default=1, help="the image repeated to this batch size")
    parser.add_argument("--benchmark", type=str2bool, default=False)
    parser.add_argument("--enable-mkldnn", type=str2bool, default=False)
    return parser.parse_args(argv)


def model_files(model_dir: Path) -> tuple[Path, Path]:
    """The program (Paddle 3's inference.json, else the older inference.pdmodel) and its parameters."""
    params = model_dir / "inference.pdiparams"
    for program in (model_dir / "inference.json", model_dir / "inference.pdmodel"):
        if program.is_file() and params.is_file():
            return program, params
    fail(f"no exported model in {model_dir} (need inference.json or inference.pdmodel, and inference.pdiparams)")


def make_predictor(args: argparse.Namespace) -> inference.Predictor:
    program, params = model_files(Path(args.model_dir))
    config = inference.Config(str(program), str(params))
    if args.use_gpu:
        if not paddle.is_compiled_with_cuda():
            fail("--use-gpu True: this Paddle build has no CUDA support")
        config.enable_use_gpu(500, 0)
    else:
        config.disable_gpu()
        config.set_cpu_math_library_num_threads(1)
        if args.enable_mkldnn:
            config.enable_mkldnn()
        else:
            config.disable_mkldnn()
    config.disable_glog_info()
    return inference.create_predictor(config)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.benchmark and importlib.util.find_spec("auto_log") is None:
        print("AutoLog is not installed: --benchmark True runs without its timing report", flush=True)
    predictor = make_predictor(args)
    batch = np.repeat(load_image(args.img_path), args.batch_size, axis=0)
    predictor.get_input_handle(predictor.get_input_names()[0]).copy_from_cpu(batch)
    predictor.run()
    logits = predictor.get_output_handle(predictor.get_output_names()[0]).copy_to_cpu()
    print(format_prediction(logits[0]), flush=True)


if __name__ == "__main__":
    main()
