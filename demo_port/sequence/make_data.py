"""Write the sequence demo's small data set: `lite_seq/NNNN.npy` feature sequences and `lite_seq.txt`.

Fifteen float32 [T=12, F=8] sequences, five per class: slow waves (0), fast waves (1) and a rising trend
(2), each channel phase-shifted, plus seeded noise. Committed, so both pipelines and every checkpoint read
the same bytes; rerunning this script rewrites them identically.

    python -m demo_port.sequence.make_data [--root .] [--seed 33]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

STEPS, FEATURES, PER_CLASS = 12, 8, 5


def sequence(label: int, rng: np.random.Generator) -> np.ndarray:
    """One [STEPS, FEATURES] float32 sequence of class `label`, with seeded noise."""
    time = np.arange(STEPS)[:, None]
    phase = rng.uniform(0, 2 * np.pi) + np.arange(FEATURES)[None, :] * 0.4
    if label == 0:
        signal = np.sin(2 * np.pi * time / 12 + phase)
    elif label == 1:
        signal = np.sin(2 * np.pi * time / 3 + phase)
    else:
        signal = (time - STEPS / 2) / STEPS * 2 + 0.1 * np.sin(phase)
    return (signal + 0.1 * rng.standard_normal((STEPS, FEATURES))).astype(np.float32)


def make_data(root: Path, seed: int = 33) -> Path:
    rng = np.random.default_rng(seed)
    (root / "lite_seq").mkdir(parents=True, exist_ok=True)
    lines = []
    for index in range(3 * PER_CLASS):
        label = index // PER_CLASS
        name = f"lite_seq/{index + 1:04d}.npy"
        np.save(root / name, sequence(label, rng))
        lines.append(f"{name} {label}")
    list_file = root / "lite_seq.txt"
    list_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return list_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("."))
    parser.add_argument("--seed", type=int, default=33)
    args = parser.parse_args()
    print(f"wrote {make_data(args.root, args.seed)}")


if __name__ == "__main__":
    main()
