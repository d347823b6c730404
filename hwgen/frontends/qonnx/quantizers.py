"""Quantizers: ``Quant`` and ``BipolarQuant`` (of a constant: integer weights; of the model
input: the graph's input dtype; of an accumulator: thresholds), FINN's ``MultiThreshold``,
and ``Trunc`` after a global average pool.

An accumulator's float tail is monotone in the integer accumulator, so the quantizer that
ends it becomes thresholds (:func:`hwgen.frontends.lowering.thresholds`): for every output
level, the least accumulator whose tail, evaluated in float32 as the exporter evaluates
it, quantizes to at least that level. The report keeps, per layer, how close the nearest
real crossing came to an integer accumulator."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import QonnxError
from hwgen.frontends import lowering
from hwgen.frontends.qonnx.state import (
    PRE,
    Acc,
    Codes,
    ImportState,
    Weights,
    attrs,
    channels,
    jsonable,
    per_channel,
    short,
    uniform,
)
from hwgen.ir.activations import Threshold
from hwgen.ir.graph import INPUT
from hwgen.ir.layer import Layer, Tensor
from hwgen.ops import GlobalSumPool
from hwgen.ops.weighted import Weighted

__all__ = ["multi_threshold", "quant", "trunc"]

# accumulators (levels, channels) -> (output codes, the quantizer's input), both that shape
Code = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]

# a Quant's rounding_mode -> the rounding qonnx's executor applies (qonnx.custom_op.general.
# intquant.resolve_rounding_mode), and Brevitas' ROUND_TO_ZERO; each is monotone, which
# the thresholds of an activation need
ROUNDING: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "ROUND": np.rint,  # half to even, as np.round
    "HALF_EVEN": np.rint,
    "CEIL": np.ceil,
    "FLOOR": np.floor,
    "UP": lambda v: np.sign(v) * np.ceil(np.abs(v)),  # away from zero
    "DOWN": np.trunc,  # towards zero
    "ROUND_TO_ZERO": np.trunc,
    "HALF_UP": lambda v: np.sign(v) * np.floor(np.abs(v) + 0.5),  # half away from zero
    "HALF_DOWN": lambda v: np.sign(v) * np.ceil(np.abs(v) - 0.5),  # half towards zero
}


def quant(state: ImportState, node, where: str) -> str:
    """``Quant`` or ``BipolarQuant``."""
    scale, dtype, attr = _quant_params(state, node, where)
    src = node.input[0]
    w = state.init(src)
    if w is not None:  # a weight quantizer: integer weights and their scale
        w = np.asarray(w, np.float32)
        try:
            grown = np.broadcast_shapes(scale.shape, w.shape) != w.shape
        except ValueError:
            grown = True
        if grown:
            raise QonnxError(f"{where}: a scale of shape {list(scale.shape)} does not "
                             f"broadcast over its constant of shape {list(w.shape)}")
        codes, _ = _codes_of(w, scale, dtype, attr)
        state.values[node.output[0]] = Weights(codes, scale, dtype)
        return f"weights {dtype} {list(codes.shape)}"
    v = state.values.get(src)
    if v == PRE:  # the input quantizer: the graph's input dtype
        if state.graph_input is not None:
            raise QonnxError(f"{where}: a second quantizer on the model input")
        shape = state.shape(src)[1:]
        if len(shape) == 3:  # NCHW -> HWC
            shape, layout = [shape[1], shape[2], shape[0]], "nchw"
        else:
            layout = "flat"
        state.graph_input = Tensor(tuple(shape), dtype)
        state.meta["input"] = {"scale": jsonable(scale), "zero_point": 0,
                               "layout": "NCHW as channels-last" if layout == "nchw" else
                               "flat"}
        state.values[node.output[0]] = Codes(INPUT, state.graph_input, uniform(scale), layout)
        return f"graph input {dtype} {list(shape)}, scale {short(scale)}"
    acc = state.get(src, where, (Acc,))
    return _activation(state, acc, node, where, scale, dtype, attr)


def multi_threshold(state: ImportState, node, where: str) -> str:
    """FINN's ``MultiThreshold`` on an accumulator: its thresholds, on the integer one."""
    acc = state.get(node.input[0], where, (Acc,))
    given = state.init(node.input[1])
    attr = attrs(node)
    out_dtype = str(attr.get("out_dtype", "")).upper()
    out_scale, out_bias = float(attr.get("out_scale", 1.0)), float(attr.get("out_bias", 0))
    count = given.shape[1]
    if "BIPOLAR" in out_dtype and out_bias == -out_scale / 2:  # out_scale x {0, 1} + bias
        dtype, scale = DType("bin", 1), out_scale / 2
    elif "UINT" in out_dtype and out_bias == 0:
        dtype, scale = DType("uint", int(out_dtype.split("UINT")[1])), out_scale
    elif "INT" in out_dtype and out_bias == -out_scale * 2 ** (count.bit_length() - 1):
        dtype, scale = DType("int", count.bit_length()), out_scale
    else:
        raise QonnxError(f"{where}: MultiThreshold to {out_dtype or 'no out_dtype'} with "
                         f"bias {out_bias} is not supported; supported: BIPOLAR (bias "
                         "-out_scale/2), UINTk (bias 0), INTk (bias -out_scale x 2^(k-1))")
    if Threshold.count(dtype) != count:
        raise QonnxError(f"{where}: {count} thresholds per channel, {dtype} needs "
                         f"{Threshold.count(dtype)}")
    # compared as stored, as qonnx's executor compares them (float32 values with doubles)
    tt = np.broadcast_to(np.asarray(given), (channels(acc), count))

    def code(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = acc.value(a)  # (levels, channels)
        c = (v[..., None] >= tt).sum(-1)
        return (2 * c - 1 if dtype.kind == "bin" else c + dtype.min), v

    return _threshold(state, acc, node, dtype, code, tt.T, np.float32(scale),
                      "thresholds as given")


def trunc(state: ImportState, node, where: str) -> str:
    """Trunc (qonnx v2) after a global sum: floor(sum / 2^k) clamped to the output bits,
    as thresholds of the sum (a sum pool's activation)."""
    x = state.get(node.input[0], where)
    layer = next((lay for lay in state.layers if lay.name == x.src), None)
    attr = attrs(node)
    if not isinstance(layer, GlobalSumPool) or layer.activation is not None or len(
            node.input) != 6:
        raise QonnxError(f"{where}: Trunc is supported after a global average pool only "
                         "(qonnx Trunc v2)")
    scale, zero, _, out_scale, out_bits = (state.init(n) for n in node.input[1:6])
    if np.any(zero != 0) or str(attr.get("rounding_mode", "")).upper() != "FLOOR" \
            or attr.get("signed", 1) or attr.get("narrow", 0):
        raise QonnxError(f"{where}: only unsigned, floor-rounding Trunc with zero point 0")
    if not np.allclose(np.float32(scale), x.scale, rtol=1e-6):
        raise QonnxError(f"{where}: its scale {short(scale)} is not the pool's "
                         f"{short(x.scale)}: the sum would be rounded")
    shift = 2.0 ** np.round(np.log2(float(np.ravel(out_scale)[0]) / float(np.ravel(scale)[0])))
    dtype = DType("uint", int(np.ravel(out_bits)[0]))
    if shift != int(shift) or shift < 1 or layer.acc[0] < 0:
        raise QonnxError(f"{where}: a Trunc that is not a floor division of a non-negative "
                         "sum by a power of two")
    steps = np.arange(1, dtype.max + 1, dtype=np.int64) * int(shift)
    layer.activation = Threshold(dtype, np.tile(steps, (x.tensor.shape[-1], 1)))
    y = state.infer(layer, [state.input_of(layer)])
    state.emit(node.output[0], Codes(layer.name, y, uniform(out_scale), x.layout))
    return f"{layer.name}: floor division by {int(shift)} to {dtype}, as thresholds"


def _quant_params(state: ImportState, node, where: str) -> tuple[np.ndarray, DType, dict]:
    attr = attrs(node)
    if node.op_type == "BipolarQuant":
        return np.asarray(state.init(node.input[1]), np.float32), DType("bin", 1), attr
    scale = state.init(node.input[1])
    zero = state.init(node.input[2])
    bits = state.init(node.input[3])
    if scale is None or zero is None or bits is None:
        raise QonnxError(f"{where}: scale, zero point and bit width must be constants")
    if np.any(zero != 0):
        raise QonnxError(f"{where}: zero point {zero.ravel()[:4]} is not 0")
    bits = int(np.asarray(bits).ravel()[0])
    signed, narrow = bool(attr.get("signed", 1)), bool(attr.get("narrow", 0))
    if bits == 1 and signed:
        dtype = DType("bin", 1)
    elif bits == 2 and signed and narrow:
        dtype = DType("tern", 2)
    else:
        dtype = DType("int" if signed else "uint", bits)
        if dtype.kind == "int" and bits < 2:
            raise QonnxError(f"{where}: a signed 1-bit Quant that is not bipolar")
    mode = str(attr.get("rounding_mode", "ROUND")).upper()
    if mode not in ROUNDING:
        raise QonnxError(f"{where}: rounding mode {mode!r} is not supported; supported: "
                         + ", ".join(ROUNDING))
    attr = {**attr, "signed": signed, "narrow": narrow, "bits": bits, "round": ROUNDING[mode]}
    if np.any(np.asarray(scale) <= 0):
        raise QonnxError(f"{where}: quantizer scales must be positive")
    return np.asarray(scale, np.float32), dtype, attr


def _codes_of(x: np.ndarray, scale: np.ndarray, dtype: DType, attr: dict
              ) -> tuple[np.ndarray, np.ndarray]:
    """(codes as values of ``dtype``, the unrounded x/scale) for float ``x``."""
    v = x / scale
    if dtype.kind == "bin":
        return np.where(v >= 0, 1, -1).astype(np.int64), v
    lo = -(2 ** (attr["bits"] - 1)) + attr["narrow"] if attr["signed"] else 0
    hi = 2 ** (attr["bits"] - 1) - 1 if attr["signed"] else 2 ** attr["bits"] - 1 - \
        attr["narrow"]
    return np.clip(attr["round"](v), lo, hi).astype(np.int64), v


def _activation(state: ImportState, acc: Acc, node, where: str, scale, dtype: DType,
                attr: dict) -> str:
    """Thresholds on the accumulator from quantizing its float tail."""
    count = channels(acc)
    s = np.broadcast_to(per_channel(scale, count, acc.four_d, where), (count,))
    # where the quantizer's input crosses into each level: 0 (bipolar) or k - 1/2
    cross = np.zeros((1, count)) if dtype.kind == "bin" else np.repeat(
        np.array(lowering.levels(dtype), np.float64)[:, None] - 0.5, count, axis=1)

    def code(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return _codes_of(acc.value(a), s, dtype, attr)

    return _threshold(state, acc, node, dtype, code, cross, s, "threshold activation")


def _threshold(state: ImportState, acc: Acc, node, dtype: DType, code: Code,
               cross: np.ndarray, scale, what: str) -> str:
    """Give the accumulator's layer the thresholds at which ``code`` (accumulators to
    output values, and the quantizer's input) reaches each level of ``dtype``."""
    layer = acc.layer
    state.infer(layer, acc.xs)  # the accumulator bounds
    lo, hi = _acc_range(layer)
    falling, t = lowering.thresholds(lambda a: code(a)[0], lowering.levels(dtype),
                                     cross.shape[1], lo, hi)
    if falling.any():
        if not isinstance(layer, Weighted):
            raise QonnxError(f"layer {layer.name!r}: a falling activation after an add cannot "
                             "be negated")
        lowering.negate(layer, falling)
    layer.activation = Threshold(dtype, t)
    y = state.infer(layer, acc.xs)
    state.report.margins[layer.name] = _margin(code, falling, t.T, cross, lo, hi)
    state.emit(node.output[0], Codes(layer.name, y, uniform(scale),
                                     "nchw" if acc.four_d else "flat"))
    flipped = f", {int(falling.sum())} falling channel(s) negated" if falling.any() else ""
    return f"{layer.name}: {what} to {dtype}{flipped}"


def _margin(code: Code, falling: np.ndarray, start: np.ndarray, cross: np.ndarray, lo: int,
            hi: int) -> float:
    """The smallest distance, in accumulator units, between a threshold's real crossing
    (where the quantizer's input passes ``cross``, per level and channel) and an integer
    accumulator; ``start``: the thresholds on the corrected accumulator (levels, channels).
    Thresholds at or past the range's ends have no crossing (inf when none has)."""
    top = np.where(falling, -lo, hi)
    bottom = np.where(falling, -hi, lo)
    inside = (start > bottom) & (start <= top)  # a real crossing between two accumulators
    if not inside.any():
        return math.inf
    _, after = code(np.where(falling, -start, start))
    _, before = code(np.where(falling, -(start - 1), start - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        where = (cross - before) / (after - before)  # crossing between t - 1 and t, in (0, 1]
        margin = np.minimum(where, 1 - where)
    return float(np.min(np.where(inside & np.isfinite(margin), margin, np.inf)))


def _acc_range(layer: Layer) -> tuple[int, int]:
    acc = layer.acc_range
    if acc is None:  # pragma: no cover - only layers with an accumulator are asked
        raise QonnxError(f"layer {layer.name!r}: {layer.op} has no accumulator")
    return acc
