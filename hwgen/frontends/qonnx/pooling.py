"""Pooling: ``MaxPool`` to maxpool2d; ``GlobalAveragePool`` (and an ``AveragePool`` over the
whole map) to global_sum_pool, an unpadded ``AveragePool`` with a smaller kernel to
avgpool2d. A sum pool's 1/(number of positions) goes into the scale of its codes, so the
next layer's thresholds absorb it."""

from __future__ import annotations

import numpy as np

from hwgen.core.errors import QonnxError
from hwgen.frontends.qonnx.state import Codes, ImportState, attrs
from hwgen.ops import AvgPool2d, GlobalSumPool, MaxPool2d

__all__ = ["average_pool", "global_average_pool", "max_pool"]


def max_pool(state: ImportState, node, where: str) -> str:
    """ONNX's stride defaults to 1, as for ``AveragePool``."""
    x = state.get(node.input[0], where)
    attr = attrs(node)
    if (_padded(attr) or attr.get("ceil_mode", 0) or x.layout != "nchw"
            or any(d != 1 for d in attr.get("dilations", [1]))):
        raise QonnxError(f"{where}: only unpadded, undilated NCHW max pooling is supported")
    kernel = tuple(attr["kernel_shape"])
    layer = MaxPool2d(state.fresh("pool"), kernel=kernel,
                      stride=tuple(attr.get("strides", [1, 1])))
    state.add_layer(layer, [x.src])
    y = state.infer(layer, [x.tensor])
    state.emit(node.output[0], Codes(layer.name, y, x.scale, "nchw"))
    return f"{layer.name}: max pool {kernel}"


def global_average_pool(state: ImportState, node, where: str) -> str:
    x = state.get(node.input[0], where)
    if x.layout != "nchw":
        raise QonnxError(f"{where}: needs a 4-D NCHW input")
    h, w, _ = x.tensor.shape
    layer = GlobalSumPool(state.fresh("gsp"))
    state.add_layer(layer, [x.src])
    y = state.infer(layer, [x.tensor])
    state.values[node.output[0]] = Codes(layer.name, y, x.scale / np.float32(h * w), "flat")
    return f"{layer.name}: global sum pool (the 1/{h * w} goes into the scale)"


def average_pool(state: ImportState, node, where: str) -> str:
    """Over the whole map: a global sum pool; else the sum over each window (ONNX's stride
    defaults to 1), unpadded (a padded window at an edge may average fewer values)."""
    x = state.get(node.input[0], where)
    attr = attrs(node)
    if x.layout != "nchw":
        raise QonnxError(f"{where}: needs a 4-D NCHW input")
    h, w, _ = x.tensor.shape
    kernel = tuple(attr["kernel_shape"])
    padded = _padded(attr)
    if kernel == (h, w) and not padded:
        return global_average_pool(state, node, where)
    if padded or attr.get("ceil_mode", 0) or any(d != 1 for d in attr.get("dilations", [1])):
        raise QonnxError(f"{where}: only an unpadded, undilated average pool is supported")
    layer = AvgPool2d(state.fresh("avg"), kernel=kernel,
                      stride=tuple(attr.get("strides", [1, 1])))
    state.add_layer(layer, [x.src])
    y = state.infer(layer, [x.tensor])
    state.emit(node.output[0], Codes(layer.name, y, x.scale / np.float32(layer.window), "nchw"))
    return f"{layer.name}: window sum {kernel} (the 1/{layer.window} goes into the scale)"


def _padded(attr: dict) -> bool:
    """Explicit pads, or an ``auto_pad`` other than NOTSET and VALID (which pad nothing)."""
    return any(attr.get("pads", [0])) or attr.get("auto_pad", "NOTSET") not in (
        "NOTSET", "VALID")
