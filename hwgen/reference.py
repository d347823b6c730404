"""The golden model: executes a graph with numpy integers (int64).

Each op's step lives with the op (:meth:`hwgen.ir.layer.Layer.reference`); this
module walks the graph, checks the input and keeps every tensor. Together they
*define* hwgen's semantics; hardware is correct when it matches bit for bit.
Everything is vectorized over the batch axis.
"""

from __future__ import annotations

import numpy as np

from hwgen.core.errors import GraphError
from hwgen.ir.graph import INPUT, Graph

__all__ = ["run", "trace", "values"]


def batch(graph: Graph, x: np.ndarray) -> np.ndarray:
    """``x`` as a batch of the graph's input frames (int64), or GraphError saying why not."""
    x = np.asarray(x)
    if x.dtype.kind not in "iu":
        raise GraphError(f"input: values must be integers, got {x.dtype}")
    shape = graph.input.shape
    if x.shape == shape:
        x = x[None]
    if x.shape[1:] != shape:
        raise GraphError(f"input: expected shape (N, {', '.join(map(str, shape))}), "
                         f"got {x.shape}")
    dt = graph.input.dtype
    if x.size and (int(x.min()) < dt.min or int(x.max()) > dt.max or not dt.contains(x)):
        allowed = "-1 or +1" if dt.kind == "bin" else f"{dt.min}..{dt.max}"
        raise GraphError(f"input: values outside {dt} ({allowed})")
    return x.astype(np.int64)


def values(graph: Graph, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every tensor of the graph by producer name (``"input"`` too), each (N, *shape)."""
    out = {INPUT: batch(graph, x)}
    for layer in graph.layers:
        xs = [out[s] for s in graph.sources[layer.name]]
        out[layer.name] = np.asarray(layer.reference(xs)).astype(np.int64)
    return out


def trace(graph: Graph, x: np.ndarray) -> list[np.ndarray]:
    """Input and every layer's output in layer order, each (N, *shape) int64 values."""
    v = values(graph, x)
    return [v[INPUT], *(v[layer.name] for layer in graph.layers)]


def run(graph: Graph, x: np.ndarray) -> np.ndarray:
    """Output values (int64) of the graph for a batch (N, *input shape) or a single input."""
    return values(graph, x)[graph.layers[-1].name]
