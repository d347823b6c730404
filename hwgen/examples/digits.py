"""scikit-learn's bundled 8x8 digits (1,797 images, no download) and the shared training
loop of the digits examples."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..ir import Graph


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


def train(model, x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int,
          progress: Callable[[str], None], lr: float = 1e-2, loss=None,
          after_epoch: Callable[[int], None] | None = None) -> None:
    """Adam with cosine decay on cross-entropy (or ``loss(logits, labels, indices)`` of a
    batch); deterministic for a seed. ``after_epoch(k)`` is called after epoch k (1..)."""
    import torch
    from torch.nn import functional as F

    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for start in range(0, len(xt), 64):
            idx = order[start:start + 64]
            out = model(xt[idx])
            value = F.cross_entropy(out, yt[idx]) if loss is None else loss(out, yt[idx], idx)
            opt.zero_grad()
            value.backward()
            opt.step()
            total += float(value.detach()) * len(idx)
        sched.step()
        if (epoch + 1) % 10 == 0 or epoch == epochs - 1:
            progress(f"  epoch {epoch + 1}/{epochs}: loss {total / len(xt):.3f}")
        if after_epoch is not None:
            after_epoch(epoch + 1)
            model.train()


def fit(name: str, model, shape: tuple[int, ...], *, seed: int, epochs: int,
        progress: Callable[[str], None], description: str) -> Example:
    """Train ``model`` on the digits reshaped to ``shape`` (seeded) and export it."""
    import torch

    from .. import quant

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
