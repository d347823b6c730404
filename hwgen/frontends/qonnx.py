"""QONNX import: a Brevitas / QONNX model to an exact hwgen :class:`~hwgen.ir.graph.Graph`.

The importer walks the ONNX graph (after qonnx's own cleanup) from its input and
keeps, for every tensor, what it is in integer terms:

- *codes*: an hwgen tensor whose real value is ``code value x scale`` (the output
  of a quantizer, a pool, a concat);
- an *accumulator*: the integer output of an hwgen layer (dense, conv2d, add)
  followed by a float "tail" (scales, batch-norm, bias, ReLU...). The tail is
  monotone in the integer accumulator, so the quantizer that ends it becomes
  thresholds: for every output level, the least accumulator whose tail, evaluated
  in float32 as the exporter evaluates it, quantizes to at least that level.

Layout: ONNX is NCHW, hwgen channels-last. Conv weights are permuted, and the
dense weights after a flatten of an NCHW tensor get their columns reordered, so
the graph computes the same as the model on the same image.

Limits (each a one-line :class:`QonnxError` naming the node): zero padding of a
bipolar input (0 is not a ``bin`` value) is refused; an add of tensors that are not
both quantized at one scale, and ``Trunc`` anywhere but after a global average pool,
are not supported.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError, QonnxError
from hwgen.ir.activations import Threshold
from hwgen.ir.graph import INPUT, Graph
from hwgen.ir.layer import Layer, Tensor
from hwgen.ops import Add, Concat, Conv2d, Dense, GlobalSumPool, MaxPool2d
from hwgen.ops.weighted import Weighted

__all__ = ["ImportReport", "QonnxError", "load"]

MARGIN_WARN = 1e-3  # accumulator units: a threshold crossing closer than this is reported
QUANTIZERS = ("Quant", "BipolarQuant", "MultiThreshold")
# output ops that do not change which class is largest: refused with that advice
MONOTONE_OUTPUTS = ("Softmax", "LogSoftmax", "Sigmoid")


@dataclass
class _Codes:
    """An hwgen tensor: real value = code value x scale (per channel or one number)."""

    src: str
    tensor: Tensor
    scale: np.ndarray
    layout: str  # "nchw" (4-D ONNX), "nhwc" (4-D, transposed), "flat" (hwgen order), "chw"


@dataclass
class _Acc:
    """An hwgen layer's integer accumulator followed by float ops (per channel)."""

    layer: Layer
    xs: list[Tensor]
    tail: list[Callable[[np.ndarray], np.ndarray]] = field(default_factory=list)
    four_d: bool = False

    def value(self, acc: np.ndarray) -> np.ndarray:
        v = acc.astype(np.float32)
        for op in self.tail:
            v = op(v)
        return v


@dataclass
class ImportReport:
    """A row per ONNX node: what it became; and the smallest threshold margin."""

    rows: list[tuple[str, str, str]] = field(default_factory=list)
    margins: dict[str, float] = field(default_factory=dict)  # layer -> accumulator units
    codes: dict[str, tuple[str, object]] = field(default_factory=dict)  # ONNX tensor ->
    # (the hwgen layer whose output it is, its scale): real value = code value x scale
    preprocessing: list[str] = field(default_factory=list)

    def table(self) -> str:
        width = max((len(r[0]) for r in self.rows), default=4)
        lines = [f"{'node':<{width}}  op                  became"]
        lines += [f"{n:<{width}}  {op:<18}  {what}" for n, op, what in self.rows]
        if self.margins:
            layer, m = min(self.margins.items(), key=lambda kv: kv[1])
            lines.append(f"smallest threshold margin: {m:.3g} accumulator units (layer {layer})"
                         + (" -- closer than 1e-3: float rounding decides it, and the graph "
                            "follows the exporter's float32 there; compare hwgen sim's "
                            "outputs with the model's on your data, or retrain (a margin of "
                            "0.5 is the most there is)" if m < MARGIN_WARN
                            else ""))
        if self.preprocessing:
            lines.append("before the input quantizer (the host applies these to pixels): "
                         + ", ".join(self.preprocessing))
        return "\n".join(lines)


def _per_channel(value: np.ndarray, channels: int, four_d: bool, where: str) -> np.ndarray:
    """A constant that broadcasts over an (N, C) or (N, C, H, W) tensor, as (C,) or ()."""
    v = np.asarray(value, np.float32)
    if v.size == 1:
        return v.reshape(())
    squeezed = v.reshape(-1)
    if squeezed.size == channels and (v.ndim <= 1 or (four_d and v.shape[-2:] in ((1, 1),))
                                      or v.shape[-1] == channels):
        return squeezed
    raise QonnxError(f"{where}: a constant of shape {list(v.shape)} is not per channel")


class _Importer:
    def __init__(self, model, name: str, input_dtype: DType | None = None):
        self.model = model
        self.name = name
        self.input_dtype = input_dtype
        self.layers: list[Layer] = []
        self.values: dict[str, object] = {}
        self.report = ImportReport()
        self.meta: dict[str, object] = {}
        self.counts: dict[str, int] = {}
        self.graph_input: Tensor | None = None
        self.outputs: dict[str, Tensor] = {}  # every layer's output tensor, as last inferred

    # -- helpers -------------------------------------------------------------------------

    def init(self, name: str) -> np.ndarray | None:
        return self.model.get_initializer(name)

    def shape(self, name: str) -> list[int]:
        return list(self.model.get_tensor_shape(name))

    def fresh(self, kind: str) -> str:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}{self.counts[kind]}"

    def add_layer(self, layer: Layer, inputs: list[str]) -> None:
        layer.inputs = inputs
        self.layers.append(layer)

    def infer(self, layer: Layer, xs: list[Tensor]) -> Tensor:
        try:
            y = self.outputs[layer.name] = layer.infer(xs)
        except GraphError as err:
            raise QonnxError(str(err)) from None
        return y

    # -- the walk ------------------------------------------------------------------------

    def run(self) -> Graph:
        graph = self.model.graph
        inp = graph.input[0].name
        self.values[inp] = "pre"
        if not any(node.op_type in QUANTIZERS for node in graph.node):
            raise QonnxError("graph: the model has no quantizer (Quant, BipolarQuant, "
                             "MultiThreshold): it is a "
                             "float model, and hwgen builds integer hardware; quantize its "
                             "weights and activations (Brevitas QuantLinear, QuantConv2d, "
                             "QuantReLU...) and export with brevitas.export.export_qonnx")
        for node in graph.node:
            where = f"node {node.name or node.output[0]!r} ({node.op_type})"
            handler = getattr(self, f"op_{node.op_type}", None)
            if handler is None and node.op_type in MONOTONE_OUTPUTS:
                last = node.output[0] == graph.output[0].name
                raise QonnxError(
                    f"{where}: not supported{' at the end of the model' if last else ''}; "
                    f"{node.op_type} keeps the order of its inputs, so the class is the argmax "
                    "of the logits before it: export the model without it (hwgen's graph "
                    "then ends in the logits; add an argmax layer for the label)")
            if handler is None:
                raise QonnxError(f"{where}: op {node.op_type} is not supported; supported: "
                                 + ", ".join(sorted(n[3:] for n in dir(self)
                                                    if n.startswith("op_"))))
            try:
                what = handler(node, where)
            except QonnxError:
                raise
            except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
                raise QonnxError(f"{where}: cannot be imported ({type(err).__name__}: "
                                 f"{err})") from None
            self.report.rows.append((node.name or node.output[0], node.op_type, what))
        out = self.values[graph.output[0].name]
        if isinstance(out, _Acc):
            self.finish_output(out, f"graph output {graph.output[0].name!r}")
        elif isinstance(out, _Codes):
            self.meta["output"] = {"scale": _jsonable(out.scale), "offset": 0.0}
        else:
            raise QonnxError("graph output: computed before any quantizer; nothing to import")
        if self.graph_input is None:
            raise QonnxError("graph: no input quantizer (Quant or BipolarQuant) found")
        try:
            return Graph(self.name, self.graph_input, self.layers, meta=self.meta)
        except GraphError as err:
            raise QonnxError(str(err)) from None

    def finish_output(self, acc: _Acc, where: str) -> None:
        """A final accumulator: the layer outputs it raw; its float tail must be affine
        (a scale and an offset per channel), kept as metadata."""
        y = self.infer(acc.layer, acc.xs)  # no activation: the raw accumulator
        c = y.shape[-1]
        probe = np.stack([np.zeros(c), np.ones(c), np.full(c, 1000.0)]).astype(np.float32)
        v = acc.value(probe).astype(np.float64)
        scale, offset = v[1] - v[0], v[0]
        if not np.allclose(v[2], offset + 1000 * scale, rtol=1e-4, atol=1e-4):
            raise QonnxError(f"{where}: the float ops after the last layer are not affine")
        self.meta["output"] = {"scale": _jsonable(scale), "offset": _jsonable(offset)}

    def emit(self, name: str, codes: _Codes) -> None:
        """ONNX tensor ``name`` is the output of hwgen layer ``codes.src`` (quantized)."""
        self.values[name] = codes
        self.report.codes[name] = (codes.src, _jsonable(codes.scale))

    def get(self, name: str, where: str, kinds: tuple = (_Codes,)):
        v = self.values.get(name)
        if v == "pre" and _Codes in kinds:
            v = self.values[name] = self._assumed_input(name, where)
        if not isinstance(v, kinds):
            have = ("the model input before its quantizer" if v == "pre" else
                    "an accumulator not yet quantized" if isinstance(v, _Acc) else
                    "quantized codes" if isinstance(v, _Codes) else "a float tensor")
            raise QonnxError(f"{where}: its input {name!r} is {have}; hwgen needs "
                             + " or ".join({_Codes: "quantized codes",
                                            _Acc: "an accumulator"}[k] for k in kinds))
        return v

    def _assumed_input(self, name: str, where: str) -> _Codes:
        """A model whose input feeds a layer unquantized (BNN-PYNQ's ResNet18 assumes 8-bit
        RGB): its integer format must be given, and the input is taken as those values."""
        if self.input_dtype is None:
            raise QonnxError(f"{where}: the model input reaches it with no quantizer; give its "
                             "integer format (input_dtype, --input-dtype; uint8 for 8-bit RGB)")
        if self.graph_input is not None or self.report.preprocessing:
            raise QonnxError(f"{where}: an unquantized input after preprocessing")
        shape = self.shape(name)[1:]
        layout = "nchw" if len(shape) == 3 else "flat"
        if layout == "nchw":
            shape = [shape[1], shape[2], shape[0]]
        self.graph_input = Tensor(tuple(shape), self.input_dtype)
        self.meta["input"] = {"scale": 1.0, "zero_point": 0, "assumed": True,
                              "layout": "NCHW as channels-last" if layout == "nchw" else "flat"}
        return _Codes(INPUT, self.graph_input, np.float32(1.0).reshape(()), layout)

    # -- quantizers ----------------------------------------------------------------------

    def _quant_params(self, node, where) -> tuple[np.ndarray, DType, dict]:
        attrs = _attrs(node)
        if node.op_type == "BipolarQuant":
            return np.asarray(self.init(node.input[1]), np.float32), DType("bin", 1), attrs
        scale = self.init(node.input[1])
        zero = self.init(node.input[2])
        bits = self.init(node.input[3])
        if scale is None or zero is None or bits is None:
            raise QonnxError(f"{where}: scale, zero point and bit width must be constants")
        if np.any(zero != 0):
            raise QonnxError(f"{where}: zero point {zero.ravel()[:4]} is not 0")
        bits = int(np.asarray(bits).ravel()[0])
        signed, narrow = bool(attrs.get("signed", 1)), bool(attrs.get("narrow", 0))
        if bits == 1 and signed:
            dtype = DType("bin", 1)
        elif bits == 2 and signed and narrow:
            dtype = DType("tern", 2)
        else:
            dtype = DType("int" if signed else "uint", bits)
            if dtype.kind == "int" and bits < 2:
                raise QonnxError(f"{where}: a signed 1-bit Quant that is not bipolar")
        attrs = {**attrs, "signed": signed, "narrow": narrow, "bits": bits}
        if np.any(np.asarray(scale) <= 0):
            raise QonnxError(f"{where}: quantizer scales must be positive")
        return np.asarray(scale, np.float32), dtype, attrs

    def _codes_of(self, x: np.ndarray, scale: np.ndarray, dtype: DType, attrs: dict
                  ) -> tuple[np.ndarray, np.ndarray]:
        """(codes as values of ``dtype``, the unrounded x/scale) for float ``x``."""
        v = x / scale
        if dtype.kind == "bin":
            return np.where(v >= 0, 1, -1).astype(np.int64), v
        lo = -(2 ** (attrs["bits"] - 1)) + attrs["narrow"] if attrs["signed"] else 0
        hi = 2 ** (attrs["bits"] - 1) - 1 if attrs["signed"] else 2 ** attrs["bits"] - 1 - \
            attrs["narrow"]
        mode = str(attrs.get("rounding_mode", b"ROUND"))
        rounded = np.rint(v) if "ROUND" in mode.upper() and "TO_ZERO" not in mode.upper() \
            else np.trunc(v) if "TO_ZERO" in mode.upper() else np.floor(v) \
            if "FLOOR" in mode.upper() else np.ceil(v)
        return np.clip(rounded, lo, hi).astype(np.int64), v

    def op_Quant(self, node, where):
        return self._quant(node, where)

    def op_BipolarQuant(self, node, where):
        return self._quant(node, where)

    def _quant(self, node, where) -> str:
        scale, dtype, attrs = self._quant_params(node, where)
        src = node.input[0]
        w = self.init(src)
        if w is not None:  # a weight quantizer: integer weights and their scale
            codes, _ = self._codes_of(np.asarray(w, np.float32), _bcast(scale, w), dtype, attrs)
            self.values[node.output[0]] = ("weights", codes, scale, dtype)
            return f"weights {dtype} {list(codes.shape)}"
        v = self.values.get(src)
        if v == "pre":  # the input quantizer: the graph's input dtype
            if self.graph_input is not None:
                raise QonnxError(f"{where}: a second quantizer on the model input")
            shape = self.shape(src)[1:]
            if len(shape) == 3:  # NCHW -> HWC
                shape, layout = [shape[1], shape[2], shape[0]], "nchw"
            else:
                layout = "flat"
            self.graph_input = Tensor(tuple(shape), dtype)
            self.meta["input"] = {"scale": _jsonable(scale), "zero_point": 0,
                                  "layout": "NCHW as channels-last" if layout == "nchw" else
                                  "flat"}
            self.values[node.output[0]] = _Codes(INPUT, self.graph_input, _uniform(scale), layout)
            return f"graph input {dtype} {list(shape)}, scale {_short(scale)}"
        acc = self.get(src, where, (_Acc,))
        return self._activation(acc, node, where, scale, dtype, attrs)

    def _activation(self, acc: _Acc, node, where, scale, dtype: DType, attrs) -> str:
        """Thresholds on the accumulator from quantizing its float tail."""
        channels = _channels(acc)
        s = np.broadcast_to(_per_channel(scale, channels, acc.four_d, where), (channels,))
        levels = _levels(dtype)
        # where the quantizer's input crosses into each level: 0 (bipolar) or k - 1/2
        cross = np.zeros((1, channels)) if dtype.kind == "bin" else np.repeat(
            np.array(levels, np.float64)[:, None] - 0.5, channels, axis=1)

        def code(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            return self._codes_of(acc.value(a), s, dtype, attrs)

        return self._threshold(acc, node, dtype, code, cross, s, "threshold activation")

    def _threshold(self, acc: _Acc, node, dtype: DType, code, cross: np.ndarray, scale,
                   what: str) -> str:
        """Give the accumulator's layer the thresholds at which ``code`` (accumulators to
        output values, and the quantizer's input) reaches each level of ``dtype``."""
        layer = acc.layer
        self.infer(layer, acc.xs)  # the accumulator bounds
        lo, hi = _acc_range(layer)
        falling, t, margin = _thresholds(code, _levels(dtype), cross, lo, hi)
        if falling.any():
            _negate(layer, falling)
        layer.activation = Threshold(dtype, t)
        y = self.infer(layer, acc.xs)
        self.report.margins[layer.name] = margin
        self.emit(node.output[0], _Codes(layer.name, y, _uniform(scale),
                                         "nchw" if acc.four_d else "flat"))
        flipped = f", {int(falling.sum())} falling channel(s) negated" if falling.any() else ""
        return f"{layer.name}: {what} to {dtype}{flipped}"

    def op_MultiThreshold(self, node, where):
        acc = self.get(node.input[0], where, (_Acc,))
        thresholds = self.init(node.input[1])
        attrs = _attrs(node)
        out_dtype = str(attrs.get("out_dtype", b"")).upper()
        out_scale, out_bias = float(attrs.get("out_scale", 1.0)), float(attrs.get("out_bias", 0))
        count = thresholds.shape[1]
        if "BIPOLAR" in out_dtype:
            dtype, scale = DType("bin", 1), out_scale / 2
        elif "UINT" in out_dtype and out_bias == 0:
            dtype, scale = DType("uint", int(out_dtype.split("UINT")[1].strip("'\""))), out_scale
        elif "INT" in out_dtype and out_bias == -out_scale * 2 ** (count.bit_length() - 1):
            dtype, scale = DType("int", count.bit_length()), out_scale
        else:
            raise QonnxError(f"{where}: MultiThreshold to {out_dtype} with bias {out_bias} is "
                             "not supported; supported: BIPOLAR, UINTk, INTk (bias -2^(k-1))")
        if Threshold.count(dtype) != count:
            raise QonnxError(f"{where}: {count} thresholds per channel, {dtype} needs "
                             f"{Threshold.count(dtype)}")
        tt = np.broadcast_to(np.asarray(thresholds, np.float32), (_channels(acc), count))

        def code(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            v = acc.value(a)  # (levels, channels)
            c = (v[..., None] >= tt).sum(-1)
            return (2 * c - 1 if dtype.kind == "bin" else c + dtype.min), v

        return self._threshold(acc, node, dtype, code, tt.T, np.float32(scale),
                               "thresholds as given")

    # -- layers with weights ---------------------------------------------------------------

    def _weights(self, name: str, where: str):
        w = self.values.get(name)
        if not (isinstance(w, tuple) and w[0] == "weights"):
            raise QonnxError(f"{where}: weights must come from a Quant or BipolarQuant of a "
                             "constant")
        return w[1], w[2], w[3]

    def op_Gemm(self, node, where):
        attrs = _attrs(node)
        if attrs.get("transA", 0) or attrs.get("alpha", 1.0) != 1.0:
            raise QonnxError(f"{where}: only Gemm with transA=0 and alpha=1 is supported")
        return self._dense(node, where, transposed=bool(attrs.get("transB", 0)),
                           bias=node.input[2] if len(node.input) > 2 else None,
                           beta=float(attrs.get("beta", 1.0)))

    def op_MatMul(self, node, where):
        return self._dense(node, where, transposed=False, bias=None, beta=1.0)

    def _dense(self, node, where, *, transposed: bool, bias, beta: float) -> str:
        x = self.get(node.input[0], where)
        codes, w_scale, w_dtype = self._weights(node.input[1], where)
        w = codes if transposed else codes.T  # (out, in) in ONNX's input order
        w_scale = np.asarray(w_scale, np.float32)
        w_scale = w_scale.ravel() if transposed or w_scale.size == 1 else w_scale.T.ravel()
        if x.layout == "chw":  # flattened from NCHW: reorder columns to hwgen's (H, W, C)
            h, wd, c = x.tensor.shape
            w = w.reshape(len(w), c, h, wd).transpose(0, 2, 3, 1).reshape(len(w), -1)
        elif x.layout not in ("flat", "nhwc"):
            raise QonnxError(f"{where}: a dense layer needs a flattened input")
        layer = Dense(self.fresh("fc"), weight_dtype=w_dtype, weights=w)
        self.add_layer(layer, [x.src])
        units = len(w)
        if x.scale.size > 1:
            raise QonnxError(f"{where}: a per-channel input scale into a dense layer")
        factor = (np.float32(x.scale) * np.broadcast_to(w_scale, (units,))).astype(np.float32)
        acc = _Acc(layer, [x.tensor], [lambda v, f=factor: v * f])
        if bias is not None:
            self._bias(acc, bias, factor, beta, where)
        self.values[node.output[0]] = acc
        return f"{layer.name}: dense {units}x{w.shape[1]}, {w_dtype} weights"

    def _bias(self, acc: _Acc, name: str, factor: np.ndarray, beta: float, where: str) -> None:
        """A bias: integer into the layer when it is quantized at the accumulator's scale
        (Brevitas' Int32Bias), else a float op of the tail."""
        quantized = self.values.get(name)
        if isinstance(quantized, tuple) and quantized[0] == "weights":
            _, codes, scale, _ = quantized
            if beta == 1.0 and np.allclose(np.broadcast_to(scale, factor.shape), factor,
                                           rtol=1e-5):
                acc.layer.bias = codes.reshape(-1)
                return
            b = (codes * np.asarray(scale, np.float32)).astype(np.float32).reshape(-1)
        else:
            b = self.init(name)
            if b is None:
                raise QonnxError(f"{where}: the bias must be a constant or a quantized one")
            b = np.asarray(b, np.float32).reshape(-1)
        b = b * np.float32(beta)
        acc.tail.append(lambda v, b=b: v + b)

    def op_Conv(self, node, where):
        x = self.get(node.input[0], where)
        if x.layout != "nchw":
            raise QonnxError(f"{where}: a convolution needs a 4-D NCHW input")
        codes, w_scale, w_dtype = self._weights(node.input[1], where)
        attrs = _attrs(node)
        group = int(attrs.get("group", 1))
        pads = list(attrs.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise QonnxError(f"{where}: asymmetric padding {pads} is not supported")
        if any(pads) and x.tensor.dtype.kind == "bin":
            raise QonnxError(f"{where}: zero padding of a bipolar input cannot be exact (0 is "
                             "not a bin value); pad with a quantized constant or drop padding")
        if list(attrs.get("dilations", [1, 1])) != [1, 1]:
            raise QonnxError(f"{where}: dilated convolutions are not supported")
        layer = Conv2d(self.fresh("conv"), weight_dtype=w_dtype,
                       weights=codes.transpose(0, 2, 3, 1), stride=tuple(attrs.get(
                           "strides", [1, 1])), padding=tuple(pads[:2]), groups=group)
        self.add_layer(layer, [x.src])
        out_ch = codes.shape[0]
        s_in = np.asarray(x.scale, np.float32)
        if s_in.size > 1 and group == 1:
            raise QonnxError(f"{where}: a per-channel input scale into a standard conv")
        s_in = np.broadcast_to(s_in.ravel(), (out_ch,)) if s_in.size > 1 else s_in.ravel()[0]
        factor = (s_in * np.broadcast_to(np.asarray(w_scale, np.float32).ravel(), (out_ch,))
                  ).astype(np.float32)
        acc = _Acc(layer, [x.tensor], [lambda v, f=factor: v * f], four_d=True)
        if len(node.input) > 2:
            self._bias(acc, node.input[2], np.broadcast_to(factor, (out_ch,)), 1.0, where)
        self.values[node.output[0]] = acc
        kind = "depthwise" if group > 1 else "standard"
        return f"{layer.name}: {kind} conv {codes.shape[2]}x{codes.shape[3]}, {w_dtype} weights"

    # -- float ops on an accumulator ---------------------------------------------------------

    def op_BatchNormalization(self, node, where):
        acc = self.get(node.input[0], where, (_Acc,))
        gamma, beta, mean, var = (np.asarray(self.init(n), np.float32) for n in node.input[1:5])
        eps = np.float32(_attrs(node).get("epsilon", 1e-5))
        acc.tail.append(lambda v, g=gamma, b=beta, m=mean, s=var: (v - m) / np.sqrt(s + eps)
                        * g + b)
        self.values[node.output[0]] = acc
        return f"{acc.layer.name}: batch-norm, folded into thresholds"

    def op_Relu(self, node, where):
        acc = self.get(node.input[0], where, (_Acc,))
        acc.tail.append(lambda v: np.maximum(v, np.float32(0)))
        self.values[node.output[0]] = acc
        return f"{acc.layer.name}: ReLU, folded into thresholds"

    def _elementwise(self, node, where, fn, name: str) -> str:
        a, b = node.input[:2]
        const = self.init(b) if self.init(b) is not None else self.init(a)
        other = a if self.init(b) is not None else b
        if const is None:
            if name == "add":
                return self._join_add(node, where)
            raise QonnxError(f"{where}: {name} of two computed tensors is not supported")
        v = self.values.get(other)
        if v == "pre":
            self.values[node.output[0]] = "pre"
            self.report.preprocessing.append(f"{name} {_short(const)}")
            return "preprocessing (before the input quantizer)"
        acc = self.get(other, where, (_Acc,))
        c = _per_channel(const, _channels(acc), acc.four_d, where)
        first = other == a
        acc.tail.append((lambda v, c=c: fn(v, c)) if first else (lambda v, c=c: fn(c, v)))
        self.values[node.output[0]] = acc
        return f"{acc.layer.name}: {name} by a constant, folded"

    def op_Mul(self, node, where):
        return self._elementwise(node, where, np.multiply, "mul")

    def op_Div(self, node, where):
        return self._elementwise(node, where, np.divide, "div")

    def op_Add(self, node, where):
        return self._elementwise(node, where, np.add, "add")

    def op_Sub(self, node, where):
        return self._elementwise(node, where, np.subtract, "sub")

    # -- joins, pools, shapes -------------------------------------------------------------

    def _join_add(self, node, where) -> str:
        a, b = (self.get(n, where) for n in node.input[:2])
        if a.tensor.shape != b.tensor.shape or a.layout != b.layout:
            raise QonnxError(f"{where}: Add of tensors of different shapes or layouts")
        if not np.allclose(a.scale, b.scale, rtol=1e-6):
            raise QonnxError(f"{where}: Add of tensors with different scales "
                             f"({_short(a.scale)} vs {_short(b.scale)}) is not exact in integers")
        layer = Add(self.fresh("add"))
        self.add_layer(layer, [a.src, b.src])
        s = np.asarray(a.scale, np.float32)
        self.values[node.output[0]] = _Acc(layer, [a.tensor, b.tensor],
                                           [lambda v, s=s: v * s], a.layout == "nchw")
        return f"{layer.name}: residual add"

    def op_Concat(self, node, where):
        a, b = (self.get(n, where) for n in node.input[:2])
        axis = int(_attrs(node).get("axis", 1))
        if axis != 1 or len(node.input) != 2 or a.layout != b.layout:
            raise QonnxError(f"{where}: only a Concat of two tensors along channels is supported")
        if not np.allclose(a.scale, b.scale, rtol=1e-6) or a.scale.size > 1:
            raise QonnxError(f"{where}: Concat of tensors with different scales")
        layer = Concat(self.fresh("cat"))
        self.add_layer(layer, [a.src, b.src])
        y = self.infer(layer, [a.tensor, b.tensor])
        self.emit(node.output[0], _Codes(layer.name, y, a.scale, a.layout))
        return f"{layer.name}: concat along channels"

    def op_MaxPool(self, node, where):
        x = self.get(node.input[0], where)
        attrs = _attrs(node)
        if any(attrs.get("pads", [0])) or attrs.get("ceil_mode", 0) or x.layout != "nchw":
            raise QonnxError(f"{where}: only unpadded NCHW max pooling is supported")
        kernel = tuple(attrs["kernel_shape"])
        layer = MaxPool2d(self.fresh("pool"), kernel=kernel,
                          stride=tuple(attrs.get("strides", kernel)))
        self.add_layer(layer, [x.src])
        y = self.infer(layer, [x.tensor])
        self.emit(node.output[0], _Codes(layer.name, y, x.scale, "nchw"))
        return f"{layer.name}: max pool {kernel}"

    def op_GlobalAveragePool(self, node, where):
        x = self.get(node.input[0], where)
        if x.layout != "nchw":
            raise QonnxError(f"{where}: needs a 4-D NCHW input")
        h, w, _ = x.tensor.shape
        layer = GlobalSumPool(self.fresh("gsp"))
        self.add_layer(layer, [x.src])
        y = self.infer(layer, [x.tensor])
        self.values[node.output[0]] = _Codes(layer.name, y, x.scale / np.float32(h * w), "flat")
        return f"{layer.name}: global sum pool (the 1/{h * w} goes into the scale)"

    def op_AveragePool(self, node, where):
        x = self.get(node.input[0], where)
        attrs = _attrs(node)
        h, w, _ = x.tensor.shape if x.layout == "nchw" else (0, 0, 0)
        whole = list(attrs.get("kernel_shape", [])) == [h, w] and not any(attrs.get("pads", [0]))
        if not whole:
            raise QonnxError(f"{where}: only an average pool over the whole feature map is "
                             "supported (a global average pool)")
        return self.op_GlobalAveragePool(node, where)

    def op_Trunc(self, node, where):
        """Trunc (qonnx v2) after a global sum: floor(sum / 2^k) clamped to the output bits,
        as thresholds of the sum (a sum pool's activation)."""
        x = self.get(node.input[0], where)
        layer = next((lay for lay in self.layers if lay.name == x.src), None)
        attrs = _attrs(node)
        if not isinstance(layer, GlobalSumPool) or layer.activation is not None or len(
                node.input) != 6:
            raise QonnxError(f"{where}: Trunc is supported after a global average pool only "
                             "(qonnx Trunc v2)")
        scale, zero, _, out_scale, out_bits = (self.init(n) for n in node.input[1:6])
        if np.any(zero != 0) or "FLOOR" not in str(attrs.get("rounding_mode", b"")).upper() \
                or attrs.get("signed", 1) or attrs.get("narrow", 0):
            raise QonnxError(f"{where}: only unsigned, floor-rounding Trunc with zero point 0")
        if not np.allclose(np.float32(scale), x.scale, rtol=1e-6):
            raise QonnxError(f"{where}: its scale {_short(scale)} is not the pool's "
                             f"{_short(x.scale)}: the sum would be rounded")
        shift = 2.0 ** np.round(np.log2(float(np.ravel(out_scale)[0]) / float(np.ravel(scale)[0])))
        dtype = DType("uint", int(np.ravel(out_bits)[0]))
        if shift != int(shift) or shift < 1 or layer.acc[0] < 0:
            raise QonnxError(f"{where}: a Trunc that is not a floor division of a non-negative "
                             "sum by a power of two")
        steps = np.arange(1, dtype.max + 1, dtype=np.int64) * int(shift)
        layer.activation = Threshold(dtype, np.tile(steps, (x.tensor.shape[-1], 1)))
        y = self.infer(layer, [self._input_of(layer)])
        self.emit(node.output[0], _Codes(layer.name, y, _uniform(out_scale), x.layout))
        return f"{layer.name}: floor division by {int(shift)} to {dtype}, as thresholds"

    def _input_of(self, layer: Layer) -> Tensor:
        """The tensor a layer of the graph being built reads (its first input)."""
        src = layer.inputs[0]
        return self.graph_input if src == INPUT else self.outputs[src]

    def _reshape(self, node, where) -> str:
        v = self.values.get(node.input[0])
        if v == "pre":
            self.values[node.output[0]] = "pre"
            return "preprocessing reshape"
        x = self.get(node.input[0], where)
        out = self.shape(node.output[0])
        if len(out) == 2 or (len(out) == 4 and out[2:] == [1, 1] and x.layout == "flat"):
            layout = {"nchw": "chw", "nhwc": "flat"}.get(x.layout, x.layout)
            if len(x.tensor.shape) == 3 and x.tensor.shape[:2] == (1, 1):
                layout = "flat"  # one pixel: both orders agree
            self.values[node.output[0]] = _Codes(x.src, x.tensor, x.scale, layout)
            return "flatten"
        raise QonnxError(f"{where}: reshape to {out} is not supported (only flattening)")

    def op_Flatten(self, node, where):
        return self._reshape(node, where)

    def op_Reshape(self, node, where):
        return self._reshape(node, where)

    def op_Transpose(self, node, where):
        x = self.get(node.input[0], where)
        perm = list(_attrs(node).get("perm", []))
        if x.layout == "nchw" and perm == [0, 2, 3, 1]:
            self.values[node.output[0]] = _Codes(x.src, x.tensor, x.scale, "nhwc")
            return "NCHW to NHWC (hwgen's own order)"
        raise QonnxError(f"{where}: transpose {perm} is not supported")

    def op_Identity(self, node, where):
        self.values[node.output[0]] = self.values.get(node.input[0])
        return "identity"


def _levels(dtype: DType) -> list[int]:
    """The output values a threshold activation to ``dtype`` reaches by passing thresholds."""
    return [1] if dtype.kind == "bin" else list(range(dtype.min + 1, dtype.max + 1))


def _attrs(node) -> dict:
    import onnx

    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _bcast(scale: np.ndarray, w: np.ndarray) -> np.ndarray:
    s = np.asarray(scale, np.float32)
    return s if s.size == 1 else s.reshape(s.shape + (1,) * (w.ndim - s.ndim))


def _short(v) -> str:
    v = np.asarray(v).ravel()
    return f"{v[0]:.4g}" if v.size == 1 or np.all(v == v[0]) else f"per channel ({v.size})"


def _jsonable(v) -> float | list[float]:
    v = np.asarray(v, np.float64).ravel()
    return float(v[0]) if v.size == 1 or np.all(v == v[0]) else [float(x) for x in v]


def _channels(acc: _Acc) -> int:
    """Channels of an accumulator: a weighted layer's rows, or an add's input channels."""
    return acc.layer.channels if isinstance(acc.layer, Weighted) else acc.xs[0].shape[-1]


def _uniform(s: np.ndarray) -> np.ndarray:
    """A scale as one number when every channel has the same."""
    s = np.asarray(s, np.float32).ravel()
    return s[:1].reshape(()) if s.size and np.all(s == s[0]) else s


def _acc_range(layer: Layer) -> tuple[int, int]:
    acc = layer.acc_range
    if acc is None:  # pragma: no cover - only layers with an accumulator are asked
        raise QonnxError(f"layer {layer.name!r}: {layer.op} has no accumulator")
    return acc


def _negate(layer: Layer, falling: np.ndarray) -> None:
    """Negate the weights (and bias) of falling channels, so their outputs rise."""
    if not isinstance(layer, Weighted):
        raise QonnxError(f"layer {layer.name!r}: a falling activation after an add cannot be "
                         "negated")
    flip = np.where(falling, -1, 1)
    layer.weights = layer.weights * flip.reshape(-1, *[1] * (layer.weights.ndim - 1))
    if layer.bias is not None:
        layer.bias = layer.bias * flip


def _thresholds(code, levels: list[int], cross: np.ndarray, lo: int, hi: int
                ) -> tuple[np.ndarray, np.ndarray, float]:
    """Per channel: whether the output falls as the accumulator rises, and on the
    direction-corrected accumulator the least integer reaching each level (binary search
    over the accumulator range, the tail evaluated in float32); and the smallest distance,
    in accumulator units, between a threshold's real crossing (where the quantizer's input
    passes ``cross``, per level and channel) and an integer accumulator."""
    channels = cross.shape[1]
    ends, _ = code(np.array([[lo] * channels, [hi] * channels]))
    falling = ends[0] > ends[1]
    want = np.array(levels, np.int64)[:, None]
    shape = (len(levels), channels)
    # on the corrected accumulator a' = -a for falling channels, the range is [-hi, -lo]
    start = np.where(falling, -hi, np.full(shape, lo, np.int64))
    stop = np.where(falling, -lo + 1, np.full(shape, hi + 1, np.int64))
    while np.any(start < stop):
        mid = (start + stop) // 2
        got, _ = code(np.where(falling, -mid, mid))
        active = start < stop
        stop = np.where(active & (got >= want), mid, stop)
        start = np.where(active & (got < want), mid + 1, start)
    top = np.where(falling, -lo, hi)
    bottom = np.where(falling, -hi, lo)
    inside = (start > bottom) & (start <= top)  # a real crossing between two accumulators
    if not inside.any():
        return falling, start.T, math.inf
    _, after = code(np.where(falling, -start, start))
    _, before = code(np.where(falling, -(start - 1), start - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        where = (cross - before) / (after - before)  # crossing between t - 1 and t, in (0, 1]
        margin = np.minimum(where, 1 - where)
    return falling, start.T, float(np.min(np.where(inside & np.isfinite(margin), margin,
                                                   np.inf)))


def load(path: str | os.PathLike, name: str | None = None, input_dtype: str | None = None
         ) -> tuple[Graph, ImportReport]:
    """Import a QONNX (or Brevitas-exported) model file; (graph, import report).

    ``input_dtype``: the integer format of an input that reaches a layer with no
    quantizer (e.g. ``"uint8"`` for 8-bit RGB); needed only for such models."""
    try:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.util.cleanup import cleanup_model
    except ImportError:
        raise QonnxError("QONNX import needs the qonnx extra: pip install 'hwgen[qonnx]'") from None
    path = Path(path)
    try:
        model = cleanup_model(ModelWrapper(str(path)))
    except Exception as err:  # onnx raises many kinds on a bad file
        raise QonnxError(f"{path}: not a readable ONNX model ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise QonnxError(f"{path}: hwgen takes models with one input and one output")
    try:
        dtype = DType.parse(input_dtype) if input_dtype else None
    except ValueError as err:
        raise QonnxError(f"input_dtype: {err}") from None
    imp = _Importer(model, name or path.stem.replace("-", "_"), dtype)
    return imp.run(), imp.report
