"""Compression that the generated hardware cashes in (issue 13): channel selection by LASSO
and least squares (:mod:`.channels`), low-rank factorization of dense layers
(:mod:`.lowrank`), magnitude pruning (:mod:`.prune`), distillation (:mod:`.distill`),
and fine-tuning of a compressed model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["finetune", "recalibrate"]


def finetune(model, x: np.ndarray, y: np.ndarray, *, epochs: int = 20, seed: int = 0,
             lr: float = 3e-3, progress: Callable[[str], None] = print) -> None:
    """Train a compressed :mod:`hwgen.quant` model further on (x, y), seeded."""
    from ..examples.digits import train

    train(model, x, y, epochs=epochs, seed=seed, progress=progress, lr=lr)


def recalibrate(model, x: np.ndarray, batch: int = 256) -> None:
    """Re-estimate the batch-norm statistics of ``model`` on ``x`` (the weights untouched):
    after channels are removed or weights refit, the old statistics describe outputs that
    no longer exist."""
    import torch
    from torch import nn

    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over all batches
    was_training = model.training
    model.train()
    try:
        with torch.no_grad():
            for start in range(0, len(x), batch):
                model(torch.tensor(x[start:start + batch], dtype=torch.float32))
    finally:
        for m, momentum in zip(norms, momenta, strict=True):
            m.momentum = momentum
        model.train(was_training)
