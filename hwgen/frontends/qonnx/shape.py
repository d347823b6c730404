"""Shapes and joins: ``Flatten`` and ``Reshape`` (flattening only: a layout change, no
layer), ``Transpose`` NCHW to NHWC, ``Identity``, and ``Concat`` along channels."""

from __future__ import annotations

import numpy as np

from hwgen.core.errors import QonnxError
from hwgen.frontends.qonnx.state import PRE, Codes, ImportState, attrs
from hwgen.ops import Concat

__all__ = ["concat", "flatten", "identity", "transpose"]


def flatten(state: ImportState, node, where: str) -> str:
    """``Flatten`` or ``Reshape`` to (N, features) (or (N, C, 1, 1) of a flat tensor)."""
    v = state.values.get(node.input[0])
    if v == PRE:
        state.values[node.output[0]] = PRE
        return "preprocessing reshape"
    x = state.get(node.input[0], where)
    out = state.shape(node.output[0])
    if len(out) == 2 or (len(out) == 4 and out[2:] == [1, 1] and x.layout == "flat"):
        layout = {"nchw": "chw", "nhwc": "flat"}.get(x.layout, x.layout)
        if len(x.tensor.shape) == 3 and x.tensor.shape[:2] == (1, 1):
            layout = "flat"  # one pixel: both orders agree
        state.values[node.output[0]] = Codes(x.src, x.tensor, x.scale, layout)
        return "flatten"
    raise QonnxError(f"{where}: reshape to {out} is not supported (only flattening)")


def transpose(state: ImportState, node, where: str) -> str:
    x = state.get(node.input[0], where)
    perm = list(attrs(node).get("perm", []))
    if x.layout == "nchw" and perm == [0, 2, 3, 1]:
        state.values[node.output[0]] = Codes(x.src, x.tensor, x.scale, "nhwc")
        return "NCHW to NHWC (hwgen's own order)"
    raise QonnxError(f"{where}: transpose {perm} is not supported")


def identity(state: ImportState, node, where: str) -> str:
    state.values[node.output[0]] = state.values.get(node.input[0])
    return "identity"


def concat(state: ImportState, node, where: str) -> str:
    a, b = (state.get(n, where) for n in node.input[:2])
    axis = int(attrs(node).get("axis", 1))
    if axis != 1 or len(node.input) != 2 or a.layout != b.layout:
        raise QonnxError(f"{where}: only a Concat of two tensors along channels is supported")
    if not np.allclose(a.scale, b.scale, rtol=1e-6) or a.scale.size > 1:
        raise QonnxError(f"{where}: Concat of tensors with different scales")
    layer = Concat(state.fresh("cat"))
    state.add_layer(layer, [a.src, b.src])
    y = state.infer(layer, [a.tensor, b.tensor])
    state.emit(node.output[0], Codes(layer.name, y, a.scale, a.layout))
    return f"{layer.name}: concat along channels"
