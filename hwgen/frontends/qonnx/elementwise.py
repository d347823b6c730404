"""Element-wise ops. On an accumulator, ``BatchNormalization``, ``Relu`` and ``Add``,
``Sub``, ``Mul``, ``Div`` by a per-channel constant join its float tail (folded into the
thresholds of the quantizer that ends it); before the input quantizer they are the host's
preprocessing. ``Add`` of two quantized tensors at one scale is a residual add."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwgen.core.errors import QonnxError
from hwgen.frontends.qonnx.state import (
    PRE,
    Acc,
    ImportState,
    attrs,
    channels,
    per_channel,
    short,
)
from hwgen.ops import Add

__all__ = ["add", "batch_norm", "div", "mul", "relu", "sub"]


def batch_norm(state: ImportState, node, where: str) -> str:
    acc = state.get(node.input[0], where, (Acc,))
    gamma, beta, mean, var = (np.asarray(state.init(n), np.float32) for n in node.input[1:5])
    eps = np.float32(attrs(node).get("epsilon", 1e-5))
    acc.tail.append(lambda v, g=gamma, b=beta, m=mean, s=var: (v - m) / np.sqrt(s + eps)
                    * g + b)
    state.values[node.output[0]] = acc
    return f"{acc.layer.name}: batch-norm, folded into thresholds"


def relu(state: ImportState, node, where: str) -> str:
    acc = state.get(node.input[0], where, (Acc,))
    acc.tail.append(lambda v: np.maximum(v, np.float32(0)))
    state.values[node.output[0]] = acc
    return f"{acc.layer.name}: ReLU, folded into thresholds"


def add(state: ImportState, node, where: str) -> str:
    return _by_constant(state, node, where, np.add, "add")


def sub(state: ImportState, node, where: str) -> str:
    return _by_constant(state, node, where, np.subtract, "sub")


def mul(state: ImportState, node, where: str) -> str:
    return _by_constant(state, node, where, np.multiply, "mul")


def div(state: ImportState, node, where: str) -> str:
    return _by_constant(state, node, where, np.divide, "div")


def _by_constant(state: ImportState, node, where: str,
                 fn: Callable[[np.ndarray, np.ndarray], np.ndarray], name: str) -> str:
    a, b = node.input[:2]
    const = state.init(b) if state.init(b) is not None else state.init(a)
    other = a if state.init(b) is not None else b
    if const is None:
        if name == "add":
            return _join_add(state, node, where)
        raise QonnxError(f"{where}: {name} of two computed tensors is not supported")
    v = state.values.get(other)
    if v == PRE:
        state.values[node.output[0]] = PRE
        state.report.preprocessing.append(f"{name} {short(const)}")
        return "preprocessing (before the input quantizer)"
    acc = state.get(other, where, (Acc,))
    c = per_channel(const, channels(acc), acc.four_d, where)
    first = other == a
    acc.tail.append((lambda v, c=c: fn(v, c)) if first else (lambda v, c=c: fn(c, v)))
    state.values[node.output[0]] = acc
    return f"{acc.layer.name}: {name} by a constant, folded"


def _join_add(state: ImportState, node, where: str) -> str:
    a, b = (state.get(n, where) for n in node.input[:2])
    if a.tensor.shape != b.tensor.shape or a.layout != b.layout:
        raise QonnxError(f"{where}: Add of tensors of different shapes or layouts")
    if not np.allclose(a.scale, b.scale, rtol=1e-6):
        raise QonnxError(f"{where}: Add of tensors with different scales "
                         f"({short(a.scale)} vs {short(b.scale)}) is not exact in integers")
    layer = Add(state.fresh("add"))
    state.add_layer(layer, [a.src, b.src])
    s = np.asarray(a.scale, np.float32)
    state.values[node.output[0]] = Acc(layer, [a.tensor, b.tensor], [lambda v, s=s: v * s],
                                       a.layout == "nchw")
    return f"{layer.name}: residual add"
