"""scikit-learn's bundled 8x8 digits (1,797 images, no download), and training and export
of the digits examples."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwgen.frontends.train import train
from hwgen.ir.graph import Graph


@dataclass
class Example:
    graph: Graph
    model: object  # the trained torch model
    test_x: np.ndarray  # integer inputs, shaped like the graph input
    test_y: np.ndarray
    train_seconds: float


def load(seed: int = 0, test_fraction: float = 0.25
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y); pixels 0..16 clipped to 0..15 (uint4), (N, 64)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.minimum(digits.data.astype(np.int64), 15)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]


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
    return Example(graph, model, test_x, test_y, seconds)
