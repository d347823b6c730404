"""The graph of integer layers that every front end produces and every back end consumes.

A graph is stored as ``NAME.json`` (structure, hand-writable) and ``NAME.npz``
beside it (integer arrays, referenced by key). Construction validates the whole
graph and infers every tensor's shape and dtype; any problem raises
:class:`GraphError` with a one-line message naming the layer.

A graph is a DAG written in topological order: a layer takes the previous
layer's output unless it names its ``inputs`` (earlier layers, or ``"input"``
for the graph input). Every op is a :class:`Layer` subclass in
:mod:`hwgen.ops`, which owns its fields, validation, foldings, reference step,
plan and hardware; this module only knows the protocol.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from .dtypes import DType
from .files import write_atomic

__all__ = [
    "FORMAT",
    "INPUT",
    "Graph",
    "GraphError",
    "Layer",
    "Requant",
    "Tensor",
    "Threshold",
    "load_graph",
]

FORMAT = "hwgen-graph/1"
MAX_ACC_BITS = 62  # the reference computes in int64; keep every accumulator clear of it
STORAGES = ("auto", "logic", "bram")  # where a layer's weights live in hardware
MAX_IO_BITS = 32
# The widest word (a ROM word, a stream beat) a block may have: Amaranth's netlist holds
# at most 2^16 bits per cell output.
MAX_WORD_BITS = (1 << 16) - 1
# Size limits: a graph beyond them is refused before anything large is allocated.
MAX_NAME_CHARS = 128  # graph and layer names
MAX_TENSOR_ELEMENTS = 1 << 22  # one frame of any tensor (4,194,304 elements)
MAX_ARRAY_ELEMENTS = 1 << 24  # any weight or threshold array (16,777,216 elements)
MAX_LAYERS = 10_000
MAX_JSON_BYTES = 64 << 20  # a graph file
INPUT = "input"  # the name by which a layer refers to the graph input

if TYPE_CHECKING:
    from amaranth.lib import wiring

    from .plan import LayerPlan


class GraphError(ValueError):
    """A malformed graph: the message names the layer or field and what is allowed."""


@dataclass(frozen=True)
class Tensor:
    """Shape (without the batch axis, channels last) and dtype of a stream."""

    shape: tuple[int, ...]
    dtype: DType

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def int_array(where: str, what: str, array: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    """``array`` as int64, after checking that it holds integers that int64 holds (an
    unsigned 64-bit value above 2^63 - 1 would wrap to a negative one)."""
    array = np.asarray(array)
    if array.dtype.kind not in "iu":
        raise GraphError(f"{where}: {what} must be an integer array, got {array.dtype}")
    if array.size > MAX_ARRAY_ELEMENTS:
        raise GraphError(f"{where}: {what} has {array.size:,} elements, more than the limit "
                         f"of {MAX_ARRAY_ELEMENTS:,}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise GraphError(f"{where}: {what} has values above 2^63 - 1 ({int(array.max())})")
    array = array.astype(np.int64)
    if shape is not None and array.shape != shape:
        raise GraphError(f"{where}: {what} must have shape {list(shape)}, got {list(array.shape)}")
    return array


def check_in_dtype(where: str, what: str, array: np.ndarray, dtype: DType) -> None:
    if not dtype.contains(array):
        allowed = "-1 or +1" if dtype.kind == "bin" else f"{dtype.min}..{dtype.max}"
        raise GraphError(f"{where}: {what} has values outside {dtype} (allowed {allowed}; "
                         f"found {int(array.min())}..{int(array.max())})")


def positive(where: str, what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise GraphError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


def pair(where: str, what: str, value: Any, *, minimum: int = 1) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and v >= minimum for v in pair):
        raise GraphError(f"{where}: {what} must be an integer >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


# ----------------------------------------------------------------------------------------------
# Activations


@dataclass
class Threshold:
    """Multi-threshold: c = #{k : acc >= thresholds[ch, k]}; out = dtype.min + c (bin: 2c - 1)."""

    dtype: DType
    thresholds: np.ndarray  # (channels, levels - 1), each row non-decreasing
    op: ClassVar[str] = "threshold"

    @staticmethod
    def count(dtype: DType) -> int:
        """Thresholds per channel for an output dtype."""
        return 1 if dtype.kind == "bin" else dtype.max - dtype.min

    def check(self, where: str, channels: int) -> None:
        self.dtype = parse_dtype(where, self.dtype, "threshold dtype")
        if self.dtype.bits > 8:
            raise GraphError(f"{where}: threshold output {self.dtype} has too many levels; "
                             "allowed: bin, tern, intK/uintK with K <= 8 (use requant for wider)")
        count = self.count(self.dtype)
        self.thresholds = int_array(where, "thresholds", self.thresholds, (channels, count))
        if np.any(np.diff(self.thresholds, axis=1) < 0):
            row = int(np.nonzero(np.any(np.diff(self.thresholds, axis=1) < 0, axis=1))[0][0])
            raise GraphError(f"{where}: thresholds must be sorted ascending per channel "
                             f"(channel {row} is not)")

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """acc (..., channels) -> output values (int64)."""
        c = (acc[..., :, None] >= self.thresholds).sum(axis=-1).astype(np.int64)
        return 2 * c - 1 if self.dtype.kind == "bin" else c + self.dtype.min


@dataclass
class Requant:
    """y = clamp((acc * m + ((1 << s) >> 1)) >> s) to the dtype's range, m and s per channel."""

    dtype: DType
    m: np.ndarray  # (channels,)
    s: np.ndarray  # (channels,), 0..62
    op: ClassVar[str] = "requant"

    def check(self, where: str, channels: int) -> None:
        self.dtype = parse_dtype(where, self.dtype, "requant dtype")
        if self.dtype.kind not in ("int", "uint"):
            raise GraphError(f"{where}: requant output must be intN or uintN, got {self.dtype}")
        self.m = int_array(where, "requant m", self.m, (channels,))
        self.s = int_array(where, "requant s", self.s, (channels,))
        if self.s.min() < 0 or self.s.max() > MAX_ACC_BITS:
            raise GraphError(f"{where}: requant s must be in 0..{MAX_ACC_BITS}")

    def apply(self, acc: np.ndarray) -> np.ndarray:
        y = (acc * self.m + ((1 << self.s) >> 1)) >> self.s
        return np.clip(y, self.dtype.min, self.dtype.max)


Activation = Threshold | Requant


def activation_from_json(where: str, spec: dict, arrays: Arrays) -> Activation:
    spec = dict(spec)
    op = spec.pop("op", None)
    if op == "threshold":
        act = Threshold(parse_dtype(where, spec.pop("dtype", "bin"), "threshold dtype"),
                        arrays.get(where, spec, "thresholds"))
    elif op == "requant":
        act = Requant(parse_dtype(where, spec.pop("dtype", None), "requant dtype"),
                      arrays.get(where, spec, "m"), arrays.get(where, spec, "s"))
    else:
        raise GraphError(f"{where}: unknown activation op {op!r}; allowed: threshold, requant")
    no_extra(f"{where} activation", spec)
    return act


def activation_to_json(act: Activation, name: str, out: dict[str, np.ndarray]) -> dict:
    if isinstance(act, Threshold):
        out[f"{name}.t"] = act.thresholds
        return {"op": "threshold", "dtype": act.dtype.name, "thresholds": f"{name}.t"}
    out[f"{name}.m"], out[f"{name}.s"] = act.m, act.s
    return {"op": "requant", "dtype": act.dtype.name, "m": f"{name}.m", "s": f"{name}.s"}


# ----------------------------------------------------------------------------------------------
# JSON reading helpers


_NPZ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


class Arrays:
    """The npz beside a graph file: arrays looked up by the keys the JSON names. Only those
    are read, each after its size is checked; unused members are never loaded."""

    def __init__(self, data: Mapping[str, Any], source: str):
        self.data = data
        self.source = source

    def _load(self, where: str, key: str) -> Any:
        npz = self.data
        if isinstance(npz, np.lib.npyio.NpzFile):
            info = npz.zip.getinfo(f"{key}.npy")
            if info.file_size > 8 * MAX_ARRAY_ELEMENTS + 4096:
                raise GraphError(f"{where}: array {key!r} in {self.source} holds "
                                 f"{info.file_size:,} bytes, more than the limit of "
                                 f"{MAX_ARRAY_ELEMENTS:,} elements")
        try:
            return npz[key]
        except _NPZ_ERRORS as err:
            raise GraphError(f"{where}: array {key!r} in {self.source} is unreadable "
                             f"({err})") from None

    def get(self, where: str, spec: dict, field_name: str, *, optional: bool = False):
        key = spec.pop(field_name, None)
        if key is None:
            if optional:
                return None
            raise GraphError(f"{where}: missing field {field_name!r}")
        if not isinstance(key, str) or key not in self.data:
            raise GraphError(f"{where}: {field_name} refers to array {key!r}, which "
                             f"{self.source} does not hold")
        return self._load(where, key)


def no_extra(where: str, spec: dict) -> None:
    if spec:
        raise GraphError(f"{where}: unknown field(s) {', '.join(sorted(spec))}")


def parse_dtype(where: str, name: Any, what: str = "dtype") -> DType:
    """``name`` as a DType; ``what`` names the field in the error ("weight_dtype"...)."""
    if name is None:
        raise GraphError(f"{where}: missing {what}")
    try:
        return DType.parse(name)
    except ValueError as err:  # "unknown dtype 'int33'; ...": say which field
        raise GraphError(f"{where}: {str(err).replace('dtype', what, 1)}") from None




# ----------------------------------------------------------------------------------------------
# Layers: the protocol every op in hwgen.ops implements


@dataclass
class Layer:
    """Base of all ops: a name, the tensors it reads, and everything the op knows of itself.

    Subclasses (one module each in :mod:`hwgen.ops`) own their JSON fields
    (:meth:`from_spec`, :meth:`spec`), their validation and output tensor
    (:meth:`infer`), their legal foldings (:meth:`fold_error`, the one rule that
    validation, the plan and the fold search use), their reference step, their
    stream plan and the hardware blocks they instantiate.
    """

    name: str
    inputs: list[str] | None = field(default=None, kw_only=True)
    op: ClassVar[str] = ""
    arity: ClassVar[int] = 1  # number of input tensors
    folds: ClassVar[tuple[str, ...]] = ()  # folding knobs this op has: "pe", "simd"

    @property
    def where(self) -> str:
        return f"layer {self.name!r} ({self.op})"

    # -- JSON ---------------------------------------------------------------------------------

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> Layer:
        """The layer from its JSON fields (``spec`` holds the op's own fields; each one
        read is popped, leftovers are reported as unknown)."""
        return cls(name)

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        """The op's own JSON fields; arrays go into ``arrays`` under the keys named."""
        return {}

    # -- shape, validation, folding -----------------------------------------------------------

    def infer(self, xs: list[Tensor]) -> Tensor:  # pragma: no cover - abstract
        """Validate against the input tensors and return the output tensor."""
        raise NotImplementedError

    def fold_candidates(self, xs: list[Tensor]) -> tuple[list[int], list[int]]:
        """PE and SIMD values worth trying (filtered by :meth:`fold_error`)."""
        return [1], [1]

    def fold_error(self, xs: list[Tensor], pe: int, simd: int) -> str | None:
        """Why the hardware cannot take folding (pe, simd), or None when it can."""
        return None

    def cycles_at(self, xs: list[Tensor], y: Tensor, pe: int, simd: int) -> int:
        """Cycles per frame at a legal folding (ops with folding knobs)."""
        raise NotImplementedError  # pragma: no cover - only ops with folds

    def foldings(self, xs: list[Tensor], y: Tensor) -> list[tuple[int, int, int]]:
        """(cycles, pe, simd) of every legal folding, fewest lanes first."""
        pes, simds = self.fold_candidates(xs)
        options = [(self.cycles_at(xs, y, pe, simd), pe, simd) for pe in pes for simd in simds
                   if self.fold_error(xs, pe, simd) is None]
        return sorted(options, key=lambda o: (o[1] * o[2], o[0]))

    def _check_folding(self, xs: list[Tensor]) -> None:
        for knob in self.folds:
            setattr(self, knob, positive(self.where, knob, getattr(self, knob)))
        err = self.fold_error(xs, getattr(self, "pe", 1), getattr(self, "simd", 1))
        if err:
            raise GraphError(f"{self.where}: {err}")

    # -- semantics ----------------------------------------------------------------------------

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        """Output values (int64) for input values, each (N, *shape)."""
        raise NotImplementedError

    # -- hardware -----------------------------------------------------------------------------

    def stream_plan(self, xs: list[Tensor], y: Tensor, upstream: list[int | None]
                    ) -> tuple[list[int], int, int]:
        """(elements per beat of each input, elements per output beat, cycles per frame);
        ``upstream``: elements per beat of each input's producer (None: the graph input)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        """Beats of the FIFO in front of each input: one frame (a layer that buffers rows
        itself needs only one row)."""
        return [max(2, x.size // e) for x, e in zip(xs, elems, strict=True)]

    @property
    def acc_bits(self) -> int | None:
        return None

    @property
    def storage(self) -> str | None:
        """Where constant tables live ("logic" or "bram"), for ops that have them."""
        return None

    def needs(self, lp: LayerPlan) -> tuple[list[np.ndarray], int]:
        """For each output beat, the last beat of each input it needs (-1: none), and the
        cycles of work between that beat and the output. Default: the whole input frame."""
        n_out = lp.out_packing.beats
        return [np.full(n_out, p.beats - 1) for p in lp.in_packings], 0

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:  # pragma: no cover - abstract
        """The stream blocks that compute this layer; the first takes the inputs (``i``, or
        ``i0``, ``i1``... for several), the last has ``o``."""
        raise NotImplementedError


def _check_size(where: str, tensor: Tensor) -> None:
    if tensor.size > MAX_TENSOR_ELEMENTS:
        raise GraphError(f"{where}: a frame of {list(tensor.shape)} has {tensor.size:,} "
                         f"elements, more than the limit of {MAX_TENSOR_ELEMENTS:,}")


def _layer_from_json(index: int, spec: Any, arrays: Arrays) -> Layer:
    from .ops import REGISTRY

    if not isinstance(spec, dict):
        raise GraphError(f"layer #{index}: must be an object, got {type(spec).__name__}")
    spec = dict(spec)
    name = spec.pop("name", f"layer{index}")
    op = spec.pop("op", None)
    where = f"layer {str(name)[:MAX_NAME_CHARS]!r} ({str(op)[:40]})"
    if not isinstance(name, str) or not name or len(name) > MAX_NAME_CHARS:
        raise GraphError(f"layer #{index}: name must be a non-empty string of at most "
                         f"{MAX_NAME_CHARS} characters")
    cls = REGISTRY.get(op) if isinstance(op, str) else None
    if cls is None:
        raise GraphError(f"{where}: unknown op {op!r}; allowed: {', '.join(REGISTRY)}")
    inputs = spec.pop("inputs", None)
    layer = cls.from_spec(name, spec, arrays)
    layer.inputs = inputs
    no_extra(where, spec)
    return layer


# ----------------------------------------------------------------------------------------------
# The graph


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

    def validate(self) -> dict[str, Tensor]:
        """Check every layer and (re)infer every tensor; call again after changing a layer."""
        shape = tuple(int(d) for d in self.input.shape)
        if not shape or any(d < 1 for d in shape):
            raise GraphError(f"input: shape must be a non-empty list of positive sizes, "
                             f"got {list(shape)}")
        self.input = Tensor(shape, parse_dtype("input", self.input.dtype))
        _check_size("input", self.input)
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
            _check_size(layer.where, tensors[layer.name])
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
        json_path, npz_path = _paths(path)
        doc, arrays = self.to_json()
        json_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(npz_path, lambda f: np.savez_compressed(f, **arrays))
        write_atomic(json_path, lambda f: f.write(_dumps(doc).encode() + b"\n"))
        return json_path

    @classmethod
    def from_json(cls, doc: Any, arrays: dict[str, np.ndarray], source: str = "npz") -> Graph:
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
        return cls(str(name), Tensor(tuple(shape), dtype), layers, meta)


def _dumps(doc: dict) -> str:
    """JSON with one key per line but short lists of numbers kept on one line."""
    text = json.dumps(doc, indent=1)
    return re.sub(r"\[\s+([-\d.,\s]*?)\s+\]",
                  lambda m: "[" + ", ".join(v.strip() for v in m[1].split(",")) + "]", text)


def _paths(path: str | os.PathLike) -> tuple[Path, Path]:
    path = Path(path)
    stem = path.with_suffix("") if path.suffix in (".json", ".npz") else path
    return stem.with_suffix(".json"), stem.with_suffix(".npz")


def load_graph(path: str | os.PathLike) -> Graph:
    """Read ``NAME.json`` and the ``NAME.npz`` beside it (no pickled objects are loaded)."""
    json_path, npz_path = _paths(path)
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
        return Graph.from_json(doc, {}, source=npz_path.name)
    try:
        npz = np.load(npz_path, allow_pickle=False)
    except _NPZ_ERRORS as err:
        raise GraphError(f"{npz_path}: not a readable npz archive ({err})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):
        raise GraphError(f"{npz_path}: an .npy array, not an npz archive")
    with npz:
        return Graph.from_json(doc, npz, source=npz_path.name)


def __getattr__(name: str):
    """``ir.Dense`` and friends: the op classes of :mod:`hwgen.ops`, by class name."""
    if not name.startswith("_"):
        from .ops import REGISTRY

        for cls in REGISTRY.values():
            if cls.__name__ == name:
                return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
