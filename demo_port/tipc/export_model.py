"""TIPC export: trained .pdparams -> a static inference model `<dir>/inference.*` for Paddle Inference.

Paddle 3 writes the program as `inference.json` (PIR), older Paddle as `inference.pdmodel`, beside
`inference.pdiparams`; infer.py accepts either. The batch dimension stays free (None) so one export
serves every `--batch-size` the runner's inference stage tries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the workspace root, for `demo_port`

import paddle
from paddle.static import InputSpec

from demo_port.tipc.common import INPUT_SHAPE, build_model, set_device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", required=True, help="the trained .pdparams")
    parser.add_argument("--save-inference-dir", required=True)
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_device(args.device)
    model = build_model(args.pretrained)
    model.eval()  # export the inference graph: BatchNorm on running statistics, dropout off
    out_dir = Path(args.save_inference_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paddle.jit.save(model, str(out_dir / "inference"), input_spec=[InputSpec(INPUT_SHAPE, "float32", name="x")])
    written = sorted(p.name for p in out_dir.glob("inference.*"))
    print(f"exported {args.pretrained} to {out_dir}: {', '.join(written)}", flush=True)


if __name__ == "__main__":
    main()
