"""The graph of integer layers that every front end produces and every back end consumes.

A graph is stored as ``NAME.json`` (structure, hand-writable) and ``NAME.npz``
beside it (integer arrays, referenced by key). Construction validates the whole
graph and infers every tensor's shape and dtype; any problem raises
:class:`GraphError` with a one-line message naming the layer.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from .dtypes import DType
from .files import write_atomic
from .formulas import AccBounds, acc_bounds, bits_unsigned, requant_bounds, signed_bits

__all__ = [
    "FORMAT",
    "ArgMax",
    "Conv2d",
    "Dense",
    "GlobalSumPool",
    "Graph",
    "GraphError",
    "Layer",
    "MaxPool2d",
    "Requant",
    "Tensor",
    "Threshold",
    "load_graph",
]

FORMAT = "hwgen-graph/1"
MAX_ACC_BITS = 62  # the reference computes in int64; keep every accumulator clear of it
STORAGES = ("auto", "logic", "bram")  # where a layer's weights live in hardware
MAX_IO_BITS = 32


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


def _int_array(where: str, what: str, array: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    array = np.asarray(array)
    if array.dtype.kind not in "iu":
        raise GraphError(f"{where}: {what} must be an integer array, got {array.dtype}")
    array = array.astype(np.int64)
    if shape is not None and array.shape != shape:
        raise GraphError(f"{where}: {what} must have shape {list(shape)}, got {list(array.shape)}")
    return array


def _check_in_dtype(where: str, what: str, array: np.ndarray, dtype: DType) -> None:
    if not dtype.contains(array):
        allowed = "-1 or +1" if dtype.kind == "bin" else f"{dtype.min}..{dtype.max}"
        raise GraphError(f"{where}: {what} has values outside {dtype} (allowed {allowed}; "
                         f"found {int(array.min())}..{int(array.max())})")


def _positive(where: str, what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise GraphError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


def _pair(where: str, what: str, value: Any, *, minimum: int = 1) -> tuple[int, int]:
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
        self.dtype = _parse_dtype(where, self.dtype)
        if self.dtype.bits > 8:
            raise GraphError(f"{where}: threshold output {self.dtype} has too many levels; "
                             "allowed: bin, tern, intK/uintK with K <= 8 (use requant for wider)")
        count = self.count(self.dtype)
        self.thresholds = _int_array(where, "thresholds", self.thresholds, (channels, count))
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
        self.dtype = _parse_dtype(where, self.dtype)
        if self.dtype.kind not in ("int", "uint"):
            raise GraphError(f"{where}: requant output must be intN or uintN, got {self.dtype}")
        self.m = _int_array(where, "requant m", self.m, (channels,))
        self.s = _int_array(where, "requant s", self.s, (channels,))
        if self.s.min() < 0 or self.s.max() > MAX_ACC_BITS:
            raise GraphError(f"{where}: requant s must be in 0..{MAX_ACC_BITS}")

    def apply(self, acc: np.ndarray) -> np.ndarray:
        y = (acc * self.m + ((1 << self.s) >> 1)) >> self.s
        return np.clip(y, self.dtype.min, self.dtype.max)


Activation = Threshold | Requant


def _activation_from_json(where: str, spec: dict, arrays: _Arrays) -> Activation:
    spec = dict(spec)
    op = spec.pop("op", None)
    if op == "threshold":
        act = Threshold(_parse_dtype(where, spec.pop("dtype", "bin")),
                        arrays.get(where, spec, "thresholds"))
    elif op == "requant":
        act = Requant(_parse_dtype(where, spec.pop("dtype", None)), arrays.get(where, spec, "m"),
                      arrays.get(where, spec, "s"))
    else:
        raise GraphError(f"{where}: unknown activation op {op!r}; allowed: threshold, requant")
    _no_extra(f"{where} activation", spec)
    return act


def _activation_to_json(act: Activation, name: str, out: dict[str, np.ndarray]) -> dict:
    if isinstance(act, Threshold):
        out[f"{name}.t"] = act.thresholds
        return {"op": "threshold", "dtype": act.dtype.name, "thresholds": f"{name}.t"}
    out[f"{name}.m"], out[f"{name}.s"] = act.m, act.s
    return {"op": "requant", "dtype": act.dtype.name, "m": f"{name}.m", "s": f"{name}.s"}


# ----------------------------------------------------------------------------------------------
# Layers


@dataclass
class Layer:
    """Base of all layers: a name, and a rule from input tensor to output tensor."""

    name: str
    op: ClassVar[str] = ""

    def infer(self, x: Tensor) -> Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def where(self) -> str:
        return f"layer {self.name!r} ({self.op})"


@dataclass
class _Weighted(Layer):
    """A dense or conv layer: integer weights, optional bias and activation, folding."""

    weight_dtype: DType = field(default_factory=lambda: DType("bin", 1))
    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))
    bias: np.ndarray | None = None
    activation: Activation | None = None
    pe: int = 1
    simd: int = 1
    weight_storage: str = "auto"  # logic (constants in LUTs), bram (block RAM), auto (by size)
    bounds: AccBounds | None = field(default=None, init=False, repr=False)

    @property
    def channels(self) -> int:
        return int(self.weights.shape[0])

    def _check_weights(self, x: Tensor, shape: tuple[int, ...]) -> None:
        where = self.where
        self.weight_dtype = _parse_dtype(where, self.weight_dtype)
        if self.weight_storage not in STORAGES:
            raise GraphError(f"{where}: weight_storage {self.weight_storage!r} unknown; "
                             f"allowed: {', '.join(STORAGES)}")
        self.weights = _int_array(where, "weights", self.weights, shape)
        _check_in_dtype(where, "weights", self.weights, self.weight_dtype)
        if self.bias is not None:
            self.bias = _int_array(where, "bias", self.bias, (shape[0],))
        self.bounds = acc_bounds(self.weights, x.dtype, self.bias)
        lo, hi = self.bounds.out
        if max(self.bounds.dot_bits, self.bounds.out_bits) > MAX_ACC_BITS:
            raise GraphError(f"{where}: accumulator range {lo}..{hi} needs more than "
                             f"{MAX_ACC_BITS} bits")
        if self.activation is not None:
            self.activation.check(where, shape[0])
            if isinstance(self.activation, Requant):
                plo, phi = requant_bounds(self.bounds.out, self.activation.m,
                                          self.activation.s)
                if signed_bits(plo, phi) > MAX_ACC_BITS:
                    raise GraphError(f"{where}: requant product acc*m needs more than "
                                     f"{MAX_ACC_BITS} bits")

    def out_dtype(self) -> DType:
        if self.activation is not None:
            return self.activation.dtype
        if self.bounds.out_bits > MAX_IO_BITS:
            raise GraphError(f"{self.where}: raw accumulator output needs {self.bounds.out_bits} "
                             f"bits, more than int{MAX_IO_BITS}; add a threshold or requant "
                             "activation")
        return DType("int", self.bounds.out_bits)

    def _fold(self, rows: int, cols: int, cols_name: str) -> None:
        self.pe = _positive(self.where, "pe", self.pe)
        self.simd = _positive(self.where, "simd", self.simd)
        if rows % self.pe:
            raise GraphError(f"{self.where}: pe={self.pe} must divide the {rows} output channels")
        if cols % self.simd:
            raise GraphError(f"{self.where}: simd={self.simd} must divide the {cols} "
                             f"{cols_name}")

    def _common_json(self, out: dict[str, np.ndarray]) -> dict:
        spec: dict[str, Any] = {"weight_dtype": self.weight_dtype.name,
                                "weights": f"{self.name}.w"}
        out[f"{self.name}.w"] = self.weights
        if self.bias is not None:
            out[f"{self.name}.b"] = self.bias
            spec["bias"] = f"{self.name}.b"
        if self.activation is not None:
            spec["activation"] = _activation_to_json(self.activation, self.name, out)
        spec.update(pe=self.pe, simd=self.simd, weight_storage=self.weight_storage)
        return spec


@dataclass
class Dense(_Weighted):
    """y = W x (+ bias), x flattened channels-last; W of shape (units, in_features)."""

    op: ClassVar[str] = "dense"

    @property
    def units(self) -> int:
        return self.channels

    def infer(self, x: Tensor) -> Tensor:
        rows = int(np.shape(self.weights)[0]) if np.ndim(self.weights) == 2 else 0
        if rows < 1:
            raise GraphError(f"{self.where}: weights must be (units, in_features) with "
                             f"in_features={x.size}, got shape {list(np.shape(self.weights))}")
        self._check_weights(x, (rows, x.size))
        self._fold(self.units, x.size, "input features")
        return Tensor((self.units,), self.out_dtype())

    def to_json(self, out: dict[str, np.ndarray]) -> dict:
        return {"name": self.name, "op": self.op, "units": self.units, **self._common_json(out)}


@dataclass
class Conv2d(_Weighted):
    """2-D convolution, NHWC; weights (out_ch, kh, kw, in_ch/groups).

    groups=1 is a standard conv, groups=in_ch=out_ch a depthwise conv. Padding
    fills with ``pad_value`` (a value of the input dtype).
    """

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    pad_value: int = 0
    groups: int = 1
    op: ClassVar[str] = "conv2d"

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weights.shape[1]), int(self.weights.shape[2])

    def infer(self, x: Tensor) -> Tensor:
        where = self.where
        if len(x.shape) != 3:
            raise GraphError(f"{where}: input must be (H, W, C), got {list(x.shape)}")
        h, w, c = x.shape
        self.groups = _positive(where, "groups", self.groups)
        if np.ndim(self.weights) != 4:
            raise GraphError(f"{where}: weights must be (out_ch, kh, kw, in_ch/groups), got "
                             f"shape {list(np.shape(self.weights))}")
        out_ch = int(self.weights.shape[0])
        if c % self.groups or out_ch % self.groups:
            raise GraphError(f"{where}: groups={self.groups} must divide in channels {c} and "
                             f"out channels {out_ch}")
        if self.groups not in (1, c):
            raise GraphError(f"{where}: groups={self.groups} not supported; allowed: 1 "
                             f"(standard) or {c} (depthwise)")
        self.stride = _pair(where, "stride", self.stride)
        self.padding = _pair(where, "padding", self.padding, minimum=0)
        kh, kw = self.kernel
        self._check_weights(x, (out_ch, kh, kw, c // self.groups))
        if any(self.padding) and not x.dtype.contains(np.array([self.pad_value])):
            raise GraphError(f"{where}: pad_value {self.pad_value} is not a value of the input "
                             f"dtype {x.dtype}")
        oh = (h + 2 * self.padding[0] - kh) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - kw) // self.stride[1] + 1
        if oh < 1 or ow < 1:
            raise GraphError(f"{where}: kernel {kh}x{kw} does not fit the padded {h}x{w} input")
        depthwise = self.groups > 1
        self._fold(out_ch, kh * kw * (1 if depthwise else c),
                   "kernel positions" if depthwise else "kh*kw*in_ch inputs")
        return Tensor((oh, ow, out_ch), self.out_dtype())

    def to_json(self, out: dict[str, np.ndarray]) -> dict:
        return {"name": self.name, "op": self.op, "channels": self.channels,
                "kernel": list(self.kernel), "stride": list(self.stride),
                "padding": list(self.padding), "pad_value": int(self.pad_value),
                "groups": self.groups, **self._common_json(out)}


@dataclass
class MaxPool2d(Layer):
    """Max over kernel windows, NHWC, no padding; output dtype = input dtype."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    op: ClassVar[str] = "maxpool2d"

    def infer(self, x: Tensor) -> Tensor:
        if len(x.shape) != 3:
            raise GraphError(f"{self.where}: input must be (H, W, C), got {list(x.shape)}")
        self.kernel = _pair(self.where, "kernel", self.kernel)
        self.stride = _pair(self.where, "stride", self.stride or self.kernel)
        h, w, c = x.shape
        oh = (h - self.kernel[0]) // self.stride[0] + 1
        ow = (w - self.kernel[1]) // self.stride[1] + 1
        if oh < 1 or ow < 1:
            raise GraphError(f"{self.where}: kernel {self.kernel} larger than the {h}x{w} input")
        return Tensor((oh, ow, c), x.dtype)

    def to_json(self, out: dict[str, np.ndarray]) -> dict:
        return {"name": self.name, "op": self.op, "kernel": list(self.kernel),
                "stride": list(self.stride)}


@dataclass
class GlobalSumPool(Layer):
    """Sum over H and W: (H, W, C) -> (C,); the averaging scale belongs to the next layer."""

    op: ClassVar[str] = "global_sum_pool"

    def infer(self, x: Tensor) -> Tensor:
        if len(x.shape) != 3:
            raise GraphError(f"{self.where}: input must be (H, W, C), got {list(x.shape)}")
        n = x.shape[0] * x.shape[1]
        return Tensor((x.shape[2],), DType("int", signed_bits(n * x.dtype.min, n * x.dtype.max)))

    def to_json(self, out: dict[str, np.ndarray]) -> dict:
        return {"name": self.name, "op": self.op}


@dataclass
class ArgMax(Layer):
    """Index of the largest element (ties: the lowest index); output shape (1,)."""

    op: ClassVar[str] = "argmax"

    def infer(self, x: Tensor) -> Tensor:
        return Tensor((1,), DType("uint", bits_unsigned(x.size - 1)))

    def to_json(self, out: dict[str, np.ndarray]) -> dict:
        return {"name": self.name, "op": self.op}


# ----------------------------------------------------------------------------------------------
# JSON reading helpers


class _Arrays:
    """The npz beside a graph file: arrays looked up by the keys the JSON names."""

    def __init__(self, data: dict[str, np.ndarray], source: str):
        self.data = data
        self.source = source

    def get(self, where: str, spec: dict, field_name: str, *, optional: bool = False):
        key = spec.pop(field_name, None)
        if key is None:
            if optional:
                return None
            raise GraphError(f"{where}: missing field {field_name!r}")
        if not isinstance(key, str) or key not in self.data:
            raise GraphError(f"{where}: {field_name} refers to array {key!r}, which "
                             f"{self.source} does not hold")
        return self.data[key]


def _no_extra(where: str, spec: dict) -> None:
    if spec:
        raise GraphError(f"{where}: unknown field(s) {', '.join(sorted(spec))}")


def _layer_from_json(index: int, spec: Any, arrays: _Arrays) -> Layer:
    if not isinstance(spec, dict):
        raise GraphError(f"layer #{index}: must be an object, got {type(spec).__name__}")
    spec = dict(spec)
    name = spec.pop("name", f"layer{index}")
    op = spec.pop("op", None)
    where = f"layer {name!r} ({op})"
    if op in ("dense", "conv2d"):
        weights = arrays.get(where, spec, "weights")
        common = dict(name=name, weight_dtype=_parse_dtype(where, spec.pop("weight_dtype", None)),
                      weights=weights, bias=arrays.get(where, spec, "bias", optional=True),
                      pe=spec.pop("pe", 1), simd=spec.pop("simd", 1),
                      weight_storage=spec.pop("weight_storage", "auto"))
        act = spec.pop("activation", None)
        if act is not None:
            common["activation"] = _activation_from_json(where, act, arrays)
        count_field = "units" if op == "dense" else "channels"
        count = spec.pop(count_field, None)
        if count is not None and count != np.shape(weights)[0]:
            raise GraphError(f"{where}: {count_field}={count} but weights have "
                             f"{np.shape(weights)[0]} rows")
        if op == "dense":
            layer: Layer = Dense(**common)
        else:
            kernel = spec.pop("kernel", None)
            if kernel is not None and _pair(where, "kernel", kernel) != tuple(
                    np.shape(weights)[1:3]):
                raise GraphError(f"{where}: kernel={kernel} but weights have kernel "
                                 f"{list(np.shape(weights)[1:3])}")
            layer = Conv2d(**common, stride=spec.pop("stride", 1),
                           padding=spec.pop("padding", 0), pad_value=spec.pop("pad_value", 0),
                           groups=spec.pop("groups", 1))
    elif op == "maxpool2d":
        layer = MaxPool2d(name, kernel=spec.pop("kernel", 2), stride=spec.pop("stride", None))
    elif op == "global_sum_pool":
        layer = GlobalSumPool(name)
    elif op == "argmax":
        layer = ArgMax(name)
    else:
        raise GraphError(f"{where}: unknown op {op!r}; allowed: dense, conv2d, maxpool2d, "
                         "global_sum_pool, argmax")
    _no_extra(where, spec)
    return layer


def _parse_dtype(where: str, name: Any) -> DType:
    if name is None:
        raise GraphError(f"{where}: missing dtype")
    try:
        return DType.parse(name)
    except ValueError as err:
        raise GraphError(f"{where}: {err}") from None


# ----------------------------------------------------------------------------------------------
# The graph


@dataclass
class Graph:
    """A validated chain of integer layers from one input tensor to one output tensor."""

    name: str
    input: Tensor
    layers: list[Layer]
    tensors: list[Tensor] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> list[Tensor]:
        """Check every layer and (re)infer every tensor; call again after changing a layer."""
        shape = tuple(int(d) for d in self.input.shape)
        if not shape or any(d < 1 for d in shape):
            raise GraphError(f"input: shape must be a non-empty list of positive sizes, "
                             f"got {list(shape)}")
        self.input = Tensor(shape, _parse_dtype("input", self.input.dtype))
        if not self.layers:
            raise GraphError("graph: needs at least one layer")
        names = [layer.name for layer in self.layers]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise GraphError(f"graph: layer names must be unique; repeated: {sorted(dup)}")
        tensors = [self.input]
        for layer in self.layers:
            tensors.append(layer.infer(tensors[-1]))
        self.tensors = tensors
        return tensors

    @property
    def output(self) -> Tensor:
        return self.tensors[-1]

    def layer_io(self) -> list[tuple[Layer, Tensor, Tensor]]:
        """(layer, input tensor, output tensor) for each layer."""
        return [(layer, self.tensors[i], self.tensors[i + 1])
                for i, layer in enumerate(self.layers)]

    # -- files --------------------------------------------------------------------------------

    def to_json(self) -> tuple[dict, dict[str, np.ndarray]]:
        arrays: dict[str, np.ndarray] = {}
        layers = [layer.to_json(arrays) for layer in self.layers]
        doc = {"format": FORMAT, "name": self.name,
               "input": {"shape": list(self.input.shape), "dtype": self.input.dtype.name},
               "layers": layers}
        return doc, arrays

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
        if not isinstance(shape, list) or not all(isinstance(d, int) for d in shape):
            raise GraphError(f"input: shape must be a list of integers, got {shape!r}")
        dtype = _parse_dtype("input", inp.pop("dtype"))
        _no_extra("input", inp)
        layers_spec = doc.pop("layers", None)
        if not isinstance(layers_spec, list):
            raise GraphError("graph: 'layers' must be a list")
        _no_extra("graph", doc)
        store = _Arrays(arrays, source)
        layers = [_layer_from_json(i, spec, store) for i, spec in enumerate(layers_spec)]
        return cls(str(name), Tensor(tuple(shape), dtype), layers)


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
        doc = json.loads(json_path.read_text())
    except FileNotFoundError:
        raise GraphError(f"{json_path}: no such graph file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise GraphError(f"{json_path}: not valid JSON ({err})") from None
    arrays: dict[str, np.ndarray] = {}
    if npz_path.exists():
        try:
            with np.load(npz_path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
        except (ValueError, OSError) as err:
            raise GraphError(f"{npz_path}: not a readable npz archive ({err})") from None
    return Graph.from_json(doc, arrays, source=npz_path.name)
