"""The golden model: executes a graph with numpy integers (int64).

This module *defines* hwgen's semantics; hardware is correct when it matches
it bit for bit. Everything is vectorized over the batch axis.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .ir import ArgMax, Conv2d, Dense, GlobalSumPool, Graph, GraphError, Layer, MaxPool2d

__all__ = ["accumulate", "run", "trace"]


def _batch(graph: Graph, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise GraphError(f"input: values must be integers, got {x.dtype}")
    x = x.astype(np.int64)
    shape = graph.input.shape
    if x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape:
        raise GraphError(f"input: expected shape (N, {', '.join(map(str, shape))}), "
                         f"got {x.shape}")
    if not graph.input.dtype.contains(x):
        raise GraphError(f"input: values outside {graph.input.dtype} "
                         f"({graph.input.dtype.min}..{graph.input.dtype.max})")
    return x


def _conv_acc(layer: Conv2d, x: np.ndarray) -> np.ndarray:
    (ph, pw), (sh, sw), (kh, kw) = layer.padding, layer.stride, layer.kernel
    x = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=layer.pad_value)
    win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # N,OH,OW,C,kh,kw
    g = layer.groups
    n, oh, ow, c = win.shape[:4]
    win = win.reshape(n, oh, ow, g, c // g, kh, kw)
    w = layer.weights.reshape(g, -1, kh, kw, c // g)  # G, O/G, kh, kw, C/G
    acc = np.einsum("nhwgcij,goijc->nhwgo", win, w, optimize=True)
    return acc.reshape(n, oh, ow, -1)


def accumulate(layer: Dense | Conv2d, x: np.ndarray) -> np.ndarray:
    """The integer accumulator (bias included) of a dense or conv layer."""
    if isinstance(layer, Dense):
        acc = x.reshape(len(x), -1) @ layer.weights.T
    else:
        acc = _conv_acc(layer, x)
    return acc if layer.bias is None else acc + layer.bias


def _layer(layer: Layer, x: np.ndarray) -> np.ndarray:
    if isinstance(layer, Dense | Conv2d):
        acc = accumulate(layer, x)
        return acc if layer.activation is None else layer.activation.apply(acc)
    if isinstance(layer, MaxPool2d):
        win = sliding_window_view(x, layer.kernel, axis=(1, 2))
        return win[:, :: layer.stride[0], :: layer.stride[1]].max(axis=(-2, -1))
    if isinstance(layer, GlobalSumPool):
        return x.sum(axis=(1, 2))
    if isinstance(layer, ArgMax):
        return np.argmax(x.reshape(len(x), -1), axis=1)[:, None].astype(np.int64)
    raise GraphError(f"{layer.where}: no reference semantics")  # pragma: no cover


def trace(graph: Graph, x: np.ndarray) -> list[np.ndarray]:
    """Input and every layer's output, each (N, *shape) int64 values."""
    values = [_batch(graph, x)]
    for layer in graph.layers:
        values.append(_layer(layer, values[-1]).astype(np.int64))
    return values


def run(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Output values (int64) of the graph for a batch (N, *input shape) or a single input."""
    return trace(graph, x)[-1]
