"""The training loop of the torch front end's models (:mod:`hwgen.frontends.quant`): the
examples train with it, compression fine-tunes and distils with it."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = ["train"]


def train(model, x: np.ndarray, y: np.ndarray, *, epochs: int, seed: int,
          progress: Callable[[str], None], lr: float = 1e-2, loss=None,
          after_epoch: Callable[[int], None] | None = None, batch: int = 64,
          every: int = 10, after_step: Callable[[], None] | None = None) -> None:
    """Adam with cosine decay on cross-entropy (or ``loss(logits, labels, indices)`` of a
    batch) over batches of ``batch``; deterministic for a seed. ``progress`` hears the loss
    every ``every`` epochs and after the last; ``after_epoch(k)`` is called after epoch k
    (1..), ``after_step()`` after every optimizer step (to clip latent weights, say)."""
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
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            out = model(xt[idx])
            value = F.cross_entropy(out, yt[idx]) if loss is None else loss(out, yt[idx], idx)
            opt.zero_grad()
            value.backward()
            opt.step()
            if after_step is not None:
                after_step()
            total += float(value.detach()) * len(idx)
        sched.step()
        if (epoch + 1) % every == 0 or epoch == epochs - 1:
            progress(f"  epoch {epoch + 1}/{epochs}: loss {total / len(xt):.3f}")
        if after_epoch is not None:
            after_epoch(epoch + 1)
            model.train()
