"""A binarized MLP on the digits: uint4 pixels, 64-64-64-10, binary weights and activations."""

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
    test_x: np.ndarray
    test_y: np.ndarray
    train_seconds: float


def train(model, x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int,
          progress: Callable[[str], None]) -> None:
    """Adam with cosine decay on cross-entropy; deterministic for a seed."""
    import torch
    from torch.nn import functional as F

    gen = torch.Generator().manual_seed(seed)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, epochs)
    model.train()
    for epoch in range(epochs):
        order = torch.randperm(len(xt), generator=gen)
        total = 0.0
        for start in range(0, len(xt), 64):
            idx = order[start:start + 64]
            loss = F.cross_entropy(model(xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        sched.step()
        if (epoch + 1) % 10 == 0 or epoch == epochs - 1:
            progress(f"  epoch {epoch + 1}/{epochs}: loss {total / len(xt):.3f}")


def make(seed: int = 0, epochs: int = 60, progress: Callable[[str], None] = print) -> Example:
    """Train (seeded) and export; folding gives 32 cycles per frame."""
    import torch
    from torch import nn

    from .. import quant
    from .digits import load

    torch.manual_seed(seed)
    torch.set_num_threads(1)  # reproducible float sums
    train_x, train_y, test_x, test_y = load(seed)
    model = nn.Sequential(
        quant.QuantInput("uint4"),
        quant.QuantDense(64, 64, "bin", pe=8, simd=16), nn.BatchNorm1d(64), quant.BinaryAct(),
        quant.QuantDense(64, 64, "bin", pe=8, simd=16), nn.BatchNorm1d(64), quant.BinaryAct(),
        quant.QuantDense(64, 10, "bin", pe=2, simd=16),
    )
    start = time.monotonic()
    progress(f"training a binarized 64-64-64-10 MLP on {len(train_x)} digits "
             f"({epochs} epochs, seed {seed})")
    train(model, train_x, train_y, epochs=epochs, seed=seed, progress=progress)
    seconds = time.monotonic() - start
    graph = quant.export(model, name="digits_mlp", input_shape=(64,))
    return Example(graph, model, test_x, test_y, seconds)
