"""The graph of integer layers that every front end produces and every back end consumes.

A graph is stored as ``NAME.json`` (structure, hand-writable) and ``NAME.npz``
beside it (integer arrays, referenced by key); :mod:`hwgen.ir.codec` reads them back.
Construction validates the whole graph and infers every tensor's shape and dtype; any
problem raises :class:`~hwgen.core.errors.GraphError` with a one-line message naming the
layer.

A graph is a DAG written in topological order: a layer takes the previous
layer's output unless it names its ``inputs`` (earlier layers, or ``"input"``
for the graph input). Every op is a :class:`~hwgen.ir.layer.Layer` subclass in
:mod:`hwgen.ops`, which owns its fields, validation, foldings, reference step, plan and
hardware; the graph only knows the protocol.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hwgen.core.errors import GraphError
from hwgen.core.files import write_atomic
from hwgen.core.limits import MAX_LAYERS, MAX_NAME_CHARS
from hwgen.ir.layer import Layer, Tensor, check_size, parse_dtype

__all__ = ["FORMAT", "INPUT", "Graph", "graph_paths"]

FORMAT = "hwgen-graph/1"
INPUT = "input"  # the name by which a layer refers to the graph input


@dataclass
class Graph:
    """A validated DAG of integer layers from one input tensor to one output tensor.

    ``layers`` are in topological order; the last layer's output is the graph's
    output. Every other tensor (the input included) must be read by some layer:
    a stream nobody reads would stall the hardware.
    """

    name: str
    input: Tensor
    layers: list[Layer]
    # what the integer semantics ignore: how codes map to real values (an importer's input
    # and output scales), provenance; numbers, strings and lists of them only
    meta: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, Tensor] = field(init=False, repr=False)  # by producer ("input")
    sources: dict[str, list[str]] = field(init=False, repr=False)  # layer -> its inputs

    def __post_init__(self) -> None:
        self.validate()

    def __repr__(self) -> str:
        layers = ", ".join(layer.name for layer in self.layers[:8])
        more = f", ... ({len(self.layers)} in all)" if len(self.layers) > 8 else ""
        return (f"<Graph {self.name!r}: {list(self.input.shape)} {self.input.dtype} -> "
                f"{list(self.output.shape)} {self.output.dtype}; layers {layers}{more}>")

    def summary(self) -> str:
        """A table of the layers a person reads: op, tensors, folding, weights."""
        rows = [("layer", "op", "reads", "out", "pe x simd", "weights")]
        for layer, _, y in self.layer_io():
            fold = "x".join(str(getattr(layer, k)) for k in layer.folds) or "-"
            w = getattr(layer, "weights", None)
            weights = "-" if w is None else f"{list(w.shape)} {layer.weight_dtype}"
            rows.append((layer.name, layer.op, ", ".join(self.sources[layer.name]),
                         f"{list(y.shape)} {y.dtype}", fold, weights))
        widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]))]
        lines = [f"{self.name}: input {list(self.input.shape)} {self.input.dtype}"]
        lines += ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                  for r in rows]
        return "\n".join(lines)

    def validate(self) -> dict[str, Tensor]:
        """Check every layer and (re)infer every tensor; call again after changing a layer."""
        shape = tuple(int(d) for d in self.input.shape)
        if not shape or any(d < 1 for d in shape):
            raise GraphError(f"input: shape must be a non-empty list of positive sizes, "
                             f"got {list(shape)}")
        self.input = Tensor(shape, parse_dtype("input", self.input.dtype))
        check_size("input", self.input)
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME_CHARS:
            raise GraphError(f"graph: name must be a string of at most {MAX_NAME_CHARS} "
                             "characters")
        if not self.layers:
            raise GraphError("graph: needs at least one layer")
        if len(self.layers) > MAX_LAYERS:
            raise GraphError(f"graph: {len(self.layers):,} layers, more than the limit of "
                             f"{MAX_LAYERS:,}")
        for layer in self.layers:
            if not isinstance(layer.name, str) or not layer.name or len(
                    layer.name) > MAX_NAME_CHARS:
                shown = layer.name[:40] + "..." if isinstance(layer.name, str) else layer.name
                raise GraphError(f"layer {shown!r}: name must be a non-empty string of at most "
                                 f"{MAX_NAME_CHARS} characters")
        names = [layer.name for layer in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise GraphError(f"graph: layer names must be unique; repeated: {sorted(dup)}")
        if INPUT in names:
            raise GraphError(f"graph: {INPUT!r} names the graph input; rename that layer")
        tensors, sources, prev = {INPUT: self.input}, {}, INPUT
        for layer in self.layers:
            srcs = self._inputs_of(layer, prev, tensors)
            sources[layer.name] = srcs
            tensors[layer.name] = layer.infer([tensors[s] for s in srcs])
            check_size(layer.where, tensors[layer.name])
            prev = layer.name
        read = {s for srcs in sources.values() for s in srcs}
        unread = [n for n in [INPUT, *names[:-1]] if n not in read]
        if unread:
            raise GraphError(f"graph: the output of {unread[0]!r} is never read; every tensor "
                             "but the last layer's must feed a layer")
        self.tensors, self.sources = tensors, sources
        return tensors

    @staticmethod
    def _inputs_of(layer: Layer, prev: str, tensors: dict[str, Tensor]) -> list[str]:
        if layer.inputs is None:
            srcs = [prev] * layer.arity if layer.arity == 1 else None
            if srcs is None:
                raise GraphError(f"{layer.where}: takes {layer.arity} inputs; name them in "
                                 '"inputs"')
            return srcs
        srcs = layer.inputs
        if not isinstance(srcs, list | tuple) or not all(isinstance(s, str) for s in srcs):
            raise GraphError(f"{layer.where}: inputs must be a list of layer names, got "
                             f"{srcs!r}")
        if len(srcs) != layer.arity:
            raise GraphError(f"{layer.where}: takes {layer.arity} input(s), got {len(srcs)}")
        for s in srcs:
            if s not in tensors:
                raise GraphError(f"{layer.where}: input {s!r} is not the graph input or an "
                                 "earlier layer")
        return list(srcs)

    @property
    def output(self) -> Tensor:
        return self.tensors[self.layers[-1].name]

    def layer_io(self) -> list[tuple[Layer, list[Tensor], Tensor]]:
        """(layer, input tensors, output tensor) for each layer, in order."""
        return [(layer, [self.tensors[s] for s in self.sources[layer.name]],
                 self.tensors[layer.name]) for layer in self.layers]

    def consumers(self, name: str) -> list[tuple[str, int]]:
        """(layer, input index) of every read of tensor ``name``, in layer order."""
        return [(layer.name, k) for layer in self.layers
                for k, s in enumerate(self.sources[layer.name]) if s == name]

    # -- files --------------------------------------------------------------------------------

    def to_json(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        layers, prev = [], INPUT
        for layer in self.layers:
            entry: dict[str, Any] = {"name": layer.name, "op": layer.op}
            srcs = self.sources[layer.name]
            if srcs != [prev] * layer.arity or layer.arity != 1:
                entry["inputs"] = srcs
            entry.update(layer.spec(arrays))
            layers.append(entry)
            prev = layer.name
        doc = {"format": FORMAT, "name": self.name,
               "input": {"shape": list(self.input.shape), "dtype": self.input.dtype.name},
               "layers": layers}
        if self.meta:
            doc["meta"] = self.meta
        return doc, arrays

    def digest(self) -> str:
        """SHA-256 of the graph's content (structure and every array's dtype, shape and
        values): what a build folder records, so a changed graph is noticed."""
        doc, arrays = self.to_json()
        h = hashlib.sha256(json.dumps(doc, sort_keys=True).encode())
        for key in sorted(arrays):
            a = np.ascontiguousarray(np.asarray(arrays[key], np.int64))
            h.update(f"{key}:{a.shape}".encode())
            h.update(a.tobytes())
        return h.hexdigest()

    def save(self, path: str | os.PathLike) -> Path:
        """Write ``NAME.json`` and ``NAME.npz`` (``path`` may name either or the stem)."""
        json_path, npz_path = graph_paths(path)
        doc, arrays = self.to_json()
        json_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(npz_path, lambda f: np.savez_compressed(f, **arrays))
        write_atomic(json_path, lambda f: f.write(_dumps(doc).encode() + b"\n"))
        return json_path


def _dumps(doc: dict) -> str:
    """JSON with one key per line but short lists of numbers kept on one line."""
    text = json.dumps(doc, indent=1)
    return re.sub(r"\[\s+([-\d.,\s]*?)\s+\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m[1].split(",")) + "]", text)


def graph_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``NAME.json`` and ``NAME.npz`` for a path naming either or the stem; a dot inside
    the stem stays (``lenet-0.5`` is not ``lenet-0``)."""
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".npz") else path
    return stem.with_name(stem.name + ".json"), stem.with_name(stem.name + ".npz")


