"""Magnitude pruning: the smallest weights of each weighted layer (by the magnitude of the
latent float weight) are forced to zero by a mask, to a target sparsity per layer, and
the rest fine-tuned with the mask held (:func:`hwgen.compress.finetune`).

Pruning to an N:M pattern (:func:`prune_pattern`) keeps the N largest of every group of M
inputs of a row instead. The layer then carries the pattern, and the sparse matrix unit
stores only the kept weights and their positions: (in*N/M)/SIMD cycles a row group where
the dense unit took in/SIMD, and binary weights stay one bit.

Where a layer's weights are constants in logic (PE x SIMD covers the whole matrix), a zero
weight removes its product and its adder-tree input: fewer LUTs at the same cycles.
Where weights sit in a ROM, the zeros are stored like any weight (and a pruned binary
layer needs ternary weights, 2 bits each): pruning pays there only as channels.
"""

from __future__ import annotations

import copy

import numpy as np

from hwgen.ir.graph import Graph
from hwgen.ops.weighted import Sparsity, Weighted

__all__ = ["pattern_fits", "prune_graph_pattern", "prune_magnitude", "prune_pattern",
           "sparsity"]


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


def pattern_fits(pattern: Sparsity, depthwise: bool, size: int) -> str | None:
    """Why a layer of ``size`` inputs a position (features, or a conv's channels) cannot
    take ``pattern``, or None: depthwise convs take none, and the sparse unit's input
    beats of SIMD*M/N must divide the inputs."""
    if depthwise:
        return "a depthwise conv takes no pattern"
    if not pattern.slot_counts(size):
        return f"M={pattern.m} does not divide its {size} inputs a position"
    return None


def prune_graph_pattern(graph: Graph, pattern: Sparsity, progress=print) -> Graph:
    """``graph`` with every dense and conv layer pruned to ``pattern`` by weight magnitude
    (equal magnitudes, as binary weights have: the first N of a group), carrying the
    pattern, at the slot count closest to its SIMD (:func:`prune_pattern`). For a graph
    alone, without the model to fine-tune: accuracy is not kept."""
    out = copy.deepcopy(graph)
    for layer, xs, _ in out.layer_io():
        if not isinstance(layer, Weighted):
            continue
        depthwise = getattr(layer, "depthwise", False)
        size = xs[0].shape[-1] if layer.weights.ndim == 4 else xs[0].size
        why = pattern_fits(pattern, depthwise, size)
        if why:
            progress(f"  {layer.name} stays dense: {why}")
            continue
        layer.weights = np.where(pattern.keep(np.abs(layer.weights)), layer.weights, 0)
        layer.sparsity = pattern
        layer.simd = pattern.nearest_simd(size, layer.simd)
    return Graph(out.name, out.input, out.layers, out.meta)  # validated again


def prune_pattern(model, pattern: Sparsity, progress=print):
    """A copy of ``model`` whose weighted layers keep, in every group of M inputs of a row
    (channels-last, as the graph orders a conv's (ky, kx, c)), the N weights of largest
    latent magnitude; a mask holds the rest at zero through fine-tuning. Each layer's SIMD
    becomes the slot count closest to its old one (the same lanes where it can). A layer
    the pattern does not fit stays dense, and ``progress`` says why."""
    import torch

    pruned = copy.deepcopy(model)
    for k, layer in enumerate(_weighted(pruned)):
        why = pattern_fits(pattern, getattr(layer, "groups", 1) > 1, layer.weight.shape[1])
        if why:
            progress(f"  layer {k} ({type(layer).__name__}) stays dense: {why}")
            continue
        w = layer.latent().detach()
        last = w.permute(0, 2, 3, 1) if w.ndim == 4 else w  # channels-last rows
        keep = torch.from_numpy(pattern.keep(last.abs().numpy()).astype("float32"))
        layer.mask = keep.permute(0, 3, 1, 2) if w.ndim == 4 else keep
        layer.sparsity = pattern
        layer.simd = pattern.nearest_simd(w.shape[1], layer.simd)
    return pruned


def sparsity(model) -> float:
    """The fraction of the model's integer weights that are zero."""
    total = zeros = 0
    for layer in _weighted(model):
        q = layer.int_weight().detach()
        total += q.numel()
        zeros += int((q == 0).sum())
    return zeros / total if total else 0.0
