"""scikit-learn's bundled 8x8 digits (1,797 images, no download), and training and export
of the digits examples."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwgen.datasets import digits
from hwgen.frontends.train import train
from hwgen.ir.graph import Graph


@dataclass
class Example:
    graph: Graph
    model: object  # the trained torch model
    test_x: np.ndarray  # integer inputs, shaped like the graph input
    test_y: np.ndarray
    train_seconds: float
    train_x: np.ndarray  # what it was trained on, shaped like the graph input: what
    train_y: np.ndarray  # fine-tuning after compression trains on


def load(seed: int = 0, test_fraction: float = 0.25
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y) of :func:`hwgen.datasets.digits`, the images
    flattened to (N, 64) int64 (pixels 0..15, uint4)."""
    split = digits(seed, test_fraction)
    return (split.train_x.reshape(-1, 64).astype(np.int64), split.train_y,
            split.test_x.reshape(-1, 64).astype(np.int64), split.test_y)


def fit(name: str, model, shape: tuple[int, ...], *, seed: int, epochs: int,
        progress: Callable[[str], None], description: str) -> Example:
    """Train ``model`` on the digits reshaped to ``shape`` (seeded) and export it."""
    import torch

    from hwgen.frontends import quant

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # reproducible float sums
    train_x, train_y, test_x, test_y = load(seed)
    train_x, test_x = train_x.reshape(-1, *shape), test_x.reshape(-1, *shape)
    progress(f"training {description} on {len(train_x)} digits ({epochs} epochs, seed {seed})")
    start = time.monotonic()
    train(model, train_x, train_y, epochs=epochs, seed=seed, progress=progress)
    seconds = time.monotonic() - start
    graph = quant.export(model, name=name, input_shape=shape)
    return Example(graph, model, test_x, test_y, seconds, train_x, train_y)
