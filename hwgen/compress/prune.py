"""Magnitude pruning: the smallest weights of each weighted layer (by the magnitude of the
latent float weight) are forced to zero by a mask, to a target sparsity per layer, and
the rest fine-tuned with the mask held (:func:`hwgen.compress.finetune`).

Where a layer's weights are constants in logic (PE x SIMD covers the whole matrix), a zero
weight removes its product and its adder-tree input: fewer LUTs at the same cycles.
Where weights sit in a ROM, the zeros are stored like any weight (and a pruned binary
layer needs ternary weights, 2 bits each): pruning pays there only as channels.
"""

from __future__ import annotations

import copy

__all__ = ["prune_magnitude", "sparsity"]


def _weighted(model):
    from hwgen.frontends.quant import WeightedModule

    return [m for m in model.modules() if isinstance(m, WeightedModule)]


def prune_magnitude(model, target: float, *, skip_first: bool = True):
    """A copy of ``model`` with the fraction ``target`` of each weighted layer's weights
    masked to zero, smallest magnitude first; the first layer is left whole with
    ``skip_first`` (it sees the raw input, and is the usual bottleneck of accuracy)."""
    import torch

    if not 0 <= target < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {target}")
    pruned = copy.deepcopy(model)
    layers = _weighted(pruned)
    for layer in layers[1:] if skip_first else layers:
        w = layer.weight.detach().abs().flatten()
        drop = round(target * w.numel())
        mask = torch.ones_like(w)
        if drop:
            mask[torch.argsort(w, stable=True)[:drop]] = 0.0
        layer.mask = mask.reshape(layer.weight.shape)
    return pruned


def sparsity(model) -> float:
    """The fraction of the model's integer weights that are zero."""
    total = zeros = 0
    for layer in _weighted(model):
        q = layer.int_weight().detach()
        total += q.numel()
        zeros += int((q == 0).sum())
    return zeros / total if total else 0.0
