"""TIPC training-engine prediction: the dynamic-graph model on one image, for comparison with infer.py.

The tipc step runs this and infer.py on the same image and requires the same class and a probability
within 1e-5; a gap means the export (not the model) changed something.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the workspace root, for `demo_port`

import paddle

from demo_port.tipc.common import build_model, format_prediction, load_image, set_device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pretrained", required=True, help="the trained .pdparams")
    parser.add_argument("--img-path", required=True)
    parser.add_argument("--device", default="cpu")
    return parser.parse_args(argv)


@paddle.no_grad()
def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_device(args.device)
    model = build_model(args.pretrained)
    model.eval()
    logits = model(paddle.to_tensor(load_image(args.img_path))).numpy()
    print(format_prediction(logits[0]), flush=True)


if __name__ == "__main__":
    main()
