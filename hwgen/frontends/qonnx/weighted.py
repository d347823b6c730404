"""Layers with weights: ``Gemm`` and ``MatMul`` to dense, ``Conv`` to conv2d (standard or
depthwise). Each becomes an accumulator whose float tail starts with the input scale times
the weight scale, then a bias (integer when it is quantized at that scale).

Layout: ONNX is NCHW, hwgen channels-last. Conv weights are permuted, and the dense
weights after a flatten of an NCHW tensor get their columns reordered, so the graph
computes the same as the model on the same image."""

from __future__ import annotations

import numpy as np

from hwgen.core.errors import QonnxError
from hwgen.frontends.qonnx.state import Acc, ImportState, Weights, attrs
from hwgen.ops import Conv2d, Dense

__all__ = ["conv", "gemm", "matmul"]


def gemm(state: ImportState, node, where: str) -> str:
    attr = attrs(node)
    if attr.get("transA", 0) or attr.get("alpha", 1.0) != 1.0:
        raise QonnxError(f"{where}: only Gemm with transA=0 and alpha=1 is supported")
    return _dense(state, node, where, transposed=bool(attr.get("transB", 0)),
                  bias=node.input[2] if len(node.input) > 2 else None,
                  beta=float(attr.get("beta", 1.0)))


def matmul(state: ImportState, node, where: str) -> str:
    return _dense(state, node, where, transposed=False, bias=None, beta=1.0)


def conv(state: ImportState, node, where: str) -> str:
    x = state.get(node.input[0], where)
    if x.layout != "nchw":
        raise QonnxError(f"{where}: a convolution needs a 4-D NCHW input")
    w = _weights(state, node.input[1], where)
    attr = attrs(node)
    group = int(attr.get("group", 1))
    pads = list(attr.get("pads", [0, 0, 0, 0]))
    if pads[:2] != pads[2:]:
        raise QonnxError(f"{where}: asymmetric padding {pads} is not supported")
    if any(pads) and x.tensor.dtype.kind == "bin":
        raise QonnxError(f"{where}: zero padding of a bipolar input cannot be exact (0 is "
                         "not a bin value); pad with a quantized constant or drop padding")
    if list(attr.get("dilations", [1, 1])) != [1, 1]:
        raise QonnxError(f"{where}: dilated convolutions are not supported")
    layer = Conv2d(state.fresh("conv"), weight_dtype=w.dtype,
                   weights=w.codes.transpose(0, 2, 3, 1), stride=tuple(attr.get(
                       "strides", [1, 1])), padding=tuple(pads[:2]), groups=group)
    state.add_layer(layer, [x.src])
    out_ch = w.codes.shape[0]
    s_in = np.asarray(x.scale, np.float32)
    if s_in.size > 1 and group == 1:
        raise QonnxError(f"{where}: a per-channel input scale into a standard conv")
    s_in = np.broadcast_to(s_in.ravel(), (out_ch,)) if s_in.size > 1 else s_in.ravel()[0]
    factor = (s_in * np.broadcast_to(w.per_output(0, where), (out_ch,))).astype(np.float32)
    acc = Acc(layer, [x.tensor], [lambda v, f=factor: v * f], four_d=True)
    if len(node.input) > 2:
        _bias(state, acc, node.input[2], np.broadcast_to(factor, (out_ch,)), 1.0, where)
    state.values[node.output[0]] = acc
    kind = "depthwise" if group > 1 else "standard"
    return (f"{layer.name}: {kind} conv {w.codes.shape[2]}x{w.codes.shape[3]}, {w.dtype} "
            "weights")


def _weights(state: ImportState, name: str, where: str) -> Weights:
    w = state.values.get(name)
    if not isinstance(w, Weights):
        raise QonnxError(f"{where}: weights must come from a Quant or BipolarQuant of a "
                         "constant")
    return w


def _dense(state: ImportState, node, where: str, *, transposed: bool, bias: str | None,
           beta: float) -> str:
    x = state.get(node.input[0], where)
    given = _weights(state, node.input[1], where)
    w = given.codes if transposed else given.codes.T  # (out, in) in ONNX's input order
    w_scale = given.per_output(0 if transposed else 1, where)  # Gemm's B^T is (out, in)
    if x.layout == "chw":  # flattened from NCHW: reorder columns to hwgen's (H, W, C)
        h, wd, c = x.tensor.shape
        w = w.reshape(len(w), c, h, wd).transpose(0, 2, 3, 1).reshape(len(w), -1)
    elif x.layout not in ("flat", "nhwc"):
        raise QonnxError(f"{where}: a dense layer needs a flattened input")
    layer = Dense(state.fresh("fc"), weight_dtype=given.dtype, weights=w)
    state.add_layer(layer, [x.src])
    units = len(w)
    if x.scale.size > 1:
        raise QonnxError(f"{where}: a per-channel input scale into a dense layer")
    factor = (np.float32(x.scale) * np.broadcast_to(w_scale, (units,))).astype(np.float32)
    acc = Acc(layer, [x.tensor], [lambda v, f=factor: v * f])
    if bias is not None:
        _bias(state, acc, bias, factor, beta, where)
    state.values[node.output[0]] = acc
    return f"{layer.name}: dense {units}x{w.shape[1]}, {given.dtype} weights"


def _bias(state: ImportState, acc: Acc, name: str, factor: np.ndarray, beta: float,
          where: str) -> None:
    """A bias: integer into the layer when it is quantized at the accumulator's scale
    (Brevitas' Int32Bias), else a float op of the tail."""
    quantized = state.values.get(name)
    if isinstance(quantized, Weights):
        if beta == 1.0 and np.allclose(np.broadcast_to(quantized.scale, factor.shape), factor,
                                       rtol=1e-5):
            acc.layer.bias = quantized.codes.reshape(-1)
            return
        b = (quantized.codes * np.asarray(quantized.scale, np.float32)).astype(
            np.float32).reshape(-1)
    else:
        b = state.init(name)
        if b is None:
            raise QonnxError(f"{where}: the bias must be a constant or a quantized one")
        b = np.asarray(b, np.float32).reshape(-1)
    b = b * np.float32(beta)
    acc.tail.append(lambda v, b=b: v + b)
