"""Compression that the generated hardware cashes in (issue 13): channel selection by LASSO
and least squares (:mod:`.channels`), low-rank factorization of dense layers
(:mod:`.lowrank`), magnitude pruning (:mod:`.prune`), distillation (:mod:`.distill`),
and fine-tuning of a compressed model."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["finetune"]


def finetune(model, x: np.ndarray, y: np.ndarray, *, epochs: int = 20, seed: int = 0,
             lr: float = 3e-3, progress: Callable[[str], None] = print) -> None:
    """Train a compressed :mod:`hwgen.quant` model further on (x, y), seeded."""
    from ..examples.digits import train

    train(model, x, y, epochs=epochs, seed=seed, progress=progress, lr=lr)
