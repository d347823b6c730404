"""Weight sharing by a codebook (Deep Compression, Han et al. 2016): a layer's weights are
clustered by k-means into 2^b centroids; each weight becomes an index into them. Training
goes on with the assignment fixed, each centroid moved by the summed gradients of its
members. The exported layer carries the codebook of its distinct integer weights; the MVU
stores b-bit indices and decodes them through the codebook in front of each lane.

It pays where weights are wider than the index: an int8 layer with a 3-bit codebook
stores 3 bits a weight instead of 8 (fewer block RAMs, or a smaller logic ROM), for a
table of 8 constants per product. Binary weights have nothing to gain.
"""

from __future__ import annotations

import copy

import numpy as np

from hwgen.compress.base import weighted_layers
from hwgen.ir.graph import Graph

__all__ = ["kmeans_1d", "share_graph", "share_weights", "storage_bits"]


def kmeans_1d(values: np.ndarray, k: int, *, iters: int = 100
              ) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ascending, index of each value): Lloyd's k-means on scalars, started
    from k points spaced linearly between the smallest and largest value (the start Deep
    Compression found best: it keeps centroids for the few large weights). Deterministic;
    an emptied cluster is dropped, so fewer than k centroids may come back."""
    v = np.asarray(values, np.float64).ravel()
    if k < 2:
        raise ValueError(f"a codebook needs at least 2 entries, got {k}")
    centroids = np.linspace(v.min(), v.max(), k)
    for _ in range(iters):
        index = _nearest(v, centroids)
        used = np.unique(index)
        moved = np.array([v[index == j].mean() for j in used])
        if len(used) == len(centroids) and np.allclose(moved, centroids, rtol=0, atol=1e-12):
            break
        centroids = moved
    return centroids, _nearest(v, centroids).reshape(np.shape(values))


def _nearest(v: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    return np.abs(v[:, None] - centroids[None, :]).argmin(axis=1)


def _shareable(layers, bits: int, what: str, advice: str) -> list:
    """The layers a ``bits``-bit codebook shrinks: weights wider than it, not depthwise;
    none: a ValueError with ``advice``."""
    if not 1 <= bits <= 8:
        raise ValueError(f"codebook bits must be 1..8, got {bits}")
    chosen = [layer for layer in layers
              if layer.weight_dtype.bits > bits and getattr(layer, "groups", 1) == 1]
    if not chosen:
        dtypes = sorted({layer.weight_dtype.name for layer in layers})
        raise ValueError(f"no layer of {what} has weights wider than {bits} bits to share "
                         f"(its weights are {', '.join(dtypes)}); {advice}")
    return chosen


def share_weights(model, bits: int, *, iters: int = 100):
    """A copy of ``model`` (:mod:`hwgen.frontends.quant` modules) whose layers with weights wider
    than ``bits`` (depthwise convs aside) share 2^bits centroids of their latent weights.
    Fine-tune it (:func:`hwgen.compress.finetune`) to move the centroids."""
    import torch

    from hwgen.frontends.quant import WeightedModule

    shared = copy.deepcopy(model)
    layers = [m for m in shared.modules() if isinstance(m, WeightedModule)]
    for layer in _shareable(layers, bits, "the model",
                            "train it with wider weights (--weight-dtype int8)"):
        w = layer.latent().detach().numpy()
        centroids, index = kmeans_1d(w, 1 << bits, iters=iters)
        layer.index = torch.tensor(index, dtype=torch.long)
        layer.centroids = torch.nn.Parameter(torch.tensor(centroids, dtype=torch.float32))
    return shared


def share_graph(graph, bits: int, *, iters: int = 100):
    """``graph`` with each layer whose weights are wider than ``bits`` (depthwise aside)
    given a codebook of at most 2^bits integers: k-means on its integer weights, centroids
    rounded, every weight replaced by its nearest entry. For a graph alone, without the
    model to fine-tune: the thresholds stay those of the old weights, so accuracy is not
    kept; a layer that already has at most 2^bits distinct weights is unchanged."""

    out = copy.deepcopy(graph)
    for layer in _shareable(weighted_layers(out), bits, graph.name,
                            "a graph keeps the weights it was exported with: export one "
                            "with wider weights, or compress an example trained with "
                            "--weight-dtype int8"):
        w, dt = layer.weights, layer.weight_dtype
        book = np.unique(w)
        if len(book) > 1 << bits:
            centroids, _ = kmeans_1d(w, 1 << bits, iters=iters)
            book = np.unique(np.clip(np.round(centroids), dt.min, dt.max).astype(np.int64))
            w = book[_nearest(w.ravel().astype(np.float64), book)].reshape(w.shape)
        layer.weights, layer.codebook = w, (book if len(book) > 1 else None)
    return Graph(out.name, out.input, out.layers, out.meta)  # validated again


def storage_bits(graph) -> tuple[int, int]:
    """(bits the weights take as stored, bits as plain codes): a codebook layer stores
    index_bits a weight plus its table, an N:M layer N slots of M (code and position)."""
    stored = plain = 0
    for layer in weighted_layers(graph):
        plain += layer.weights.size * layer.weight_dtype.bits
        stored += layer.kept(layer.weights.size) * layer.slot_bits
        if layer.codebook is not None:
            stored += len(layer.codebook) * layer.weight_dtype.bits
    return stored, plain
