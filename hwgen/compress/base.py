"""What the compression methods share: the weighted layers of a graph, the legal folding of
a resized layer, fine-tuning, accuracy and batch-norm recalibration of a compressed model,
the position of a layer in a model, and pruning of a graph alone."""

from __future__ import annotations

import copy
from collections.abc import Callable

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.frontends.train import train
from hwgen.ir.graph import Graph
from hwgen.ops.weighted import Weighted, divisors

__all__ = ["METHODS", "accuracy", "finetune", "legal_fold", "module_index", "prune_graph",
           "recalibrate", "weighted_layers"]


def weighted_layers(graph) -> list:
    """The layers of ``graph`` that carry weights (dense and conv)."""
    return [layer for layer in graph.layers if isinstance(layer, Weighted)]


def legal_fold(units: int, want: int) -> int:
    """The largest divisor of ``units`` not above ``want``: the PE or SIMD closest to a
    layer's old one that its new size allows."""

    return max(d for d in divisors(units) if d <= max(want, 1))


def finetune(model, x: np.ndarray, y: np.ndarray, *, epochs: int = 20, seed: int = 0,
             lr: float = 3e-3, val: tuple[np.ndarray, np.ndarray] | None = None,
             loss=None, progress: Callable[[str], None] = print) -> tuple[float, int] | None:
    """Train a compressed :mod:`hwgen.frontends.quant` model further on (x, y), seeded. With ``val``
    (a held-out (x, y) split), the weights of the epoch with the best accuracy on it are
    kept, the untrained start (epoch 0) included, and (accuracy, epoch) is returned: the
    comparison between methods then does not hang on where a noisy run happens to end."""

    if val is None:
        train(model, x, y, epochs=epochs, seed=seed, progress=progress, lr=lr, loss=loss)
        return None
    best: list = []

    def keep_best(epoch: int) -> None:
        got = accuracy(model, *val)
        if not best or got > best[0]:
            best[:] = [got, epoch, copy.deepcopy(model.state_dict())]

    keep_best(0)
    train(model, x, y, epochs=epochs, seed=seed, progress=progress, lr=lr, loss=loss,
          after_epoch=keep_best)
    model.load_state_dict(best[2])
    progress(f"  kept epoch {best[1]}: {best[0]:.2%} on {len(val[1])} held-out samples")
    return best[0], best[1]


def accuracy(model, x: np.ndarray, y: np.ndarray) -> float:
    """The fraction of ``x`` that ``model`` (in eval mode, left as it was) classifies as
    ``y``."""
    import torch

    was_training = model.training
    model.eval()
    with torch.no_grad():
        got = model(torch.tensor(x, dtype=torch.float32)).argmax(1).numpy()
    model.train(was_training)
    return float(np.mean(got == y))


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


METHODS = ("prune", "channels", "lowrank", "codebook", "distill")


def module_index(model, name: str) -> int:
    """The position in ``model`` (a flat ``nn.Sequential``) of the module exported as layer
    ``name`` (fc2, conv1, dw1, ...: the names :func:`hwgen.frontends.quant.export` gives)."""
    from hwgen.frontends import quant

    counts: dict[str, int] = {}
    names = []
    for k, mod in enumerate(model.children()):
        if isinstance(mod, (quant.WeightedModule, quant.MaxPool, quant.GlobalSumPool,
                            quant.Residual)):
            names.append(quant.layer_name(mod, counts))
            if names[-1] == name:
                return k
    raise ValueError(f"no layer {name!r} at the top level of the model; its layers: "
                     f"{', '.join(names)}")


def prune_graph(graph, target: float):
    """``graph`` with the fraction ``target`` of each weighted layer's weights (but the
    first's) set to zero, smallest magnitude first; binary layers become ternary. For a
    graph alone, without the model to fine-tune: accuracy is not kept."""

    if not 0 <= target < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {target}")
    out = copy.deepcopy(graph)
    for layer in weighted_layers(out)[1:]:
        w = layer.weights
        drop = round(target * w.size)
        if drop:
            flat = w.reshape(-1).copy()
            # binary weights have one magnitude: the stable order drops the first ones
            flat[np.argsort(np.abs(flat), kind="stable")[:drop]] = 0
            layer.weights = flat.reshape(w.shape)
        if layer.weight_dtype.kind == "bin":
            layer.weight_dtype = DType("tern", 2)
    return Graph(out.name, out.input, out.layers, out.meta)  # validated again
