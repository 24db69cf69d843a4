"""TIPC training and eval: train the demo ResNet-18 on a lite list, save latest.pdparams, report top-1.

The per-iteration line carries `loss`, `avg_reader_cost`, `avg_batch_cost` and `avg_ips` in the
`name: number` form TIPC's log parsers (and the benchmark scripts) grep for. `--test-only` is the
runner's eval stage: load `--pretrained` and evaluate only. Under `paddle.distributed.launch` each
rank trains on its shard (DistributedBatchSampler) and rank 0 writes the weights and the Eval line.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the workspace root, for `demo_port`

import paddle
from paddle import nn
from paddle.io import DataLoader, DistributedBatchSampler

from demo_port.paddle_data import build_dataset
from demo_port.tipc.common import build_model, fail, optional_path, read_list, set_device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", help="cpu or gpu (gpu:N)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--output-dir", default="./output/")
    parser.add_argument("--pretrained", type=optional_path, default=None, help="a .pdparams, or null")
    parser.add_argument("--data-path", default="lite_data.txt", help="a '<image> <label>' list")
    parser.add_argument("--test-only", action="store_true", help="only load --pretrained and evaluate")
    parser.add_argument("--lr", type=float, default=0.001)
    return parser.parse_args(argv)


def make_loader(samples: list[tuple[str, int]], batch_size: int, world_size: int) -> DataLoader:
    """A fixed-order loader; with several ranks each one reads its own shard of the list."""
    dataset = build_dataset(samples)
    if world_size > 1:
        sampler = DistributedBatchSampler(dataset, batch_size=batch_size, shuffle=False)
        return DataLoader(dataset, batch_sampler=sampler, num_workers=0)
    return DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=0)


def train(model: nn.Layer, loader: DataLoader, args: argparse.Namespace) -> None:
    """Momentum SGD with one log line per iteration; the averages run over the epoch so far."""
    optimizer = paddle.optimizer.Momentum(learning_rate=args.lr, momentum=0.9, parameters=model.parameters())
    criterion = nn.CrossEntropyLoss()
    model.train()
    for epoch in range(1, args.epochs + 1):
        reader_cost = batch_cost = samples = 0.0
        tic = time.perf_counter()
        for step, (images, labels) in enumerate(loader, start=1):
            reader_cost += time.perf_counter() - tic
            logits = model(images)
            loss = criterion(logits, labels)
            loss.backward()
            optimizer.step()
            optimizer.clear_grad()
            top1 = paddle.metric.accuracy(logits, labels.unsqueeze(1)).item()
            batch_cost += time.perf_counter() - tic
            samples += images.shape[0]
            print(
                f"[Epoch {epoch}/{args.epochs}, iter {step}/{len(loader)}] loss: {loss.item():.5f}, "
                f"top1: {top1:.5f}, avg_reader_cost: {reader_cost / step:.5f} sec, "
                f"avg_batch_cost: {batch_cost / step:.5f} sec, avg_samples: {samples / step:.1f}, "
                f"avg_ips: {samples / batch_cost:.2f} images/sec",
                flush=True,
            )
            tic = time.perf_counter()


@paddle.no_grad()
def evaluate(model: nn.Layer, loader: DataLoader) -> float:
    """Top-1 accuracy over the whole list, in eval mode (running BatchNorm statistics, no dropout)."""
    model.eval()
    correct = total = 0
    for images, labels in loader:
        correct += int((model(images).argmax(axis=1) == labels).sum())
        total += images.shape[0]
    return correct / max(total, 1)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    set_device(args.device)
    paddle.seed(33)
    world_size = paddle.distributed.get_world_size()
    if world_size > 1:
        paddle.distributed.init_parallel_env()
    is_main = paddle.distributed.get_rank() == 0
    samples = read_list(args.data_path)
    if args.test_only and args.pretrained is None:
        fail("--test-only needs --pretrained FILE")
    model = build_model(args.pretrained)

    if not args.test_only:
        trainee = paddle.DataParallel(model) if world_size > 1 else model
        train(trainee, make_loader(samples, args.batch_size, world_size), args)
        if is_main:
            output = Path(args.output_dir)
            output.mkdir(parents=True, exist_ok=True)
            paddle.save(model.state_dict(), str(output / "latest.pdparams"))
            print(f"saved {output / 'latest.pdparams'}", flush=True)
    if is_main:  # every rank holds the same weights: one full-list eval is enough
        top1 = evaluate(model, make_loader(samples, args.batch_size, world_size=1))
        print(f"Eval: top1: {top1:.5f}", flush=True)


if __name__ == "__main__":
    main()
