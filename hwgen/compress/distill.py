"""Knowledge distillation (Hinton et al.): a small student learns from a larger teacher's
softened outputs, ``alpha * T^2 * KL(softmax(teacher / T) || softmax(student / T)) +
(1 - alpha) * cross-entropy(student, labels)``. Works for any :mod:`hwgen.frontends.quant` model
whose output is a logit per class."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwgen.frontends.train import train

__all__ = ["distill"]


def distill(student, teacher, x: np.ndarray, y: np.ndarray, *, temperature: float = 4.0,
            alpha: float = 0.7, epochs: int = 60, seed: int = 0, lr: float = 1e-2,
            teacher_x: np.ndarray | None = None,
            progress: Callable[[str], None] = print) -> None:
    """Train ``student`` on (x, y) with ``teacher``'s softened outputs (teacher in eval
    mode, untouched), seeded; ``teacher_x``: the same samples shaped for the teacher
    (an image where the student takes a vector)."""
    import torch
    from torch.nn import functional as F


    if temperature <= 0 or not 0 <= alpha <= 1:
        raise ValueError(f"temperature must be positive and alpha in [0, 1], got "
                         f"{temperature} and {alpha}")
    was_training = teacher.training
    teacher.eval()
    with torch.no_grad():
        seen = x if teacher_x is None else teacher_x
        soft = F.log_softmax(teacher(torch.tensor(seen, dtype=torch.float32)) / temperature, 1)
    teacher.train(was_training)

    def loss(out, labels, idx):
        kd = F.kl_div(F.log_softmax(out / temperature, 1), soft[idx], log_target=True,
                      reduction="batchmean") * temperature ** 2
        return alpha * kd + (1 - alpha) * F.cross_entropy(out, labels)

    train(student, x, y, epochs=epochs, seed=seed, progress=progress, lr=lr, loss=loss)
