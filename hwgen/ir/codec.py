"""Reading a graph back from ``NAME.json`` and ``NAME.npz``: the format, its version and
limits, and the op classes by name (:mod:`hwgen.ir.registry`, which :mod:`hwgen.ops` fills).
Writing is :meth:`hwgen.ir.graph.Graph.save`. Nothing pickled is ever loaded."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from hwgen.core.errors import GraphError
from hwgen.core.limits import MAX_JSON_BYTES, MAX_LAYERS, MAX_NAME_CHARS
from hwgen.ir.graph import FORMAT, Graph, graph_paths
from hwgen.ir.layer import NPZ_ERRORS, Arrays, Layer, Tensor, no_extra, parse_dtype
from hwgen.ir.registry import OPS

__all__ = ["FORMAT", "graph_from_json", "load_graph"]


def _layer_from_json(index: int, spec: Any, arrays: Arrays) -> Layer:
    if not isinstance(spec, dict):
        raise GraphError(f"layer #{index}: must be an object, got {type(spec).__name__}")
    spec = dict(spec)
    name = spec.pop("name", f"layer{index}")
    op = spec.pop("op", None)
    where = f"layer {str(name)[:MAX_NAME_CHARS]!r} ({str(op)[:40]})"
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
        raise GraphError(f"layer #{index}: name must be a non-empty string of at most "
                         f"{MAX_NAME_CHARS} characters")
    cls = OPS.get(op) if isinstance(op, str) else None
    if cls is None:
        raise GraphError(f"{where}: unknown op {op!r}; allowed: {', '.join(OPS)}")
    inputs = spec.pop("inputs", None)
    layer = cls.from_spec(name, spec, arrays)
    layer.inputs = inputs
    no_extra(where, spec)
    return layer


def graph_from_json(doc: Any, arrays: Mapping[str, Any], source: str = "npz") -> Graph:
    if not isinstance(doc, dict):
        raise GraphError("graph: the file must hold a JSON object")
    doc = dict(doc)
    fmt = doc.pop("format", None)
    if fmt != FORMAT:
        raise GraphError(f"graph: format must be {FORMAT!r}, got {fmt!r}")
    name = doc.pop("name", "graph")
    inp = doc.pop("input", None)
    if not isinstance(inp, dict) or "shape" not in inp or "dtype" not in inp:
        raise GraphError('input: must be {"shape": [...], "dtype": "..."}')
    inp = dict(inp)
    shape = inp.pop("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(
            d, bool) for d in shape) or len(shape) > 4:
        raise GraphError(f"input: shape must be a list of 1 to 4 integers, got {shape!r}")
    dtype = parse_dtype("input", inp.pop("dtype"))
    no_extra("input", inp)
    meta = doc.pop("meta", {})
    if not isinstance(meta, dict):
        raise GraphError("graph: 'meta' must be an object")
    layers_spec = doc.pop("layers", None)
    if not isinstance(layers_spec, list):
        raise GraphError("graph: 'layers' must be a list")
    if len(layers_spec) > MAX_LAYERS:
        raise GraphError(f"graph: {len(layers_spec):,} layers, more than the limit of "
                         f"{MAX_LAYERS:,}")
    no_extra("graph", doc)
    store = Arrays(arrays, source)
    layers = [_layer_from_json(i, spec, store) for i, spec in enumerate(layers_spec)]
    return Graph(str(name), Tensor(tuple(shape), dtype), layers, meta)


def load_graph(path: str | os.PathLike) -> Graph:
    """Read ``NAME.json`` and the ``NAME.npz`` beside it (no pickled objects are loaded)."""
    json_path, npz_path = graph_paths(path)
    try:
        if json_path.stat().st_size > MAX_JSON_BYTES:
            raise GraphError(f"{json_path}: larger than the limit of {MAX_JSON_BYTES:,} bytes")
        doc = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise GraphError(f"{json_path}: no such graph file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GraphError(f"{json_path}: not valid JSON ({err})") from None
    except RecursionError:
        raise GraphError(f"{json_path}: nested too deeply to be a graph") from None
    except OSError as err:
        raise GraphError(f"{json_path}: cannot read ({err.strerror or err})") from None
    if not npz_path.exists():
        return graph_from_json(doc, {}, source=npz_path.name)
    try:
        npz = np.load(npz_path, allow_pickle=False)
    except NPZ_ERRORS as err:
        raise GraphError(f"{npz_path}: not a readable npz archive ({err})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise GraphError(f"{npz_path}: an .npy array, not an npz archive")
    with npz:
        return graph_from_json(doc, npz, source=npz_path.name)


