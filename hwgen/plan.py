"""What each layer becomes in hardware: parallelism on both streams, cycles, widths.

The graph top builds from this plan and the reports print it, so the figures a
user reads are the ones the hardware was built with.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formulas import argmax_cycles, mvu_cycles, window_cycles
from .ir import (
    ArgMax,
    Conv2d,
    Dense,
    GlobalSumPool,
    Graph,
    GraphError,
    Layer,
    MaxPool2d,
    Tensor,
)
from .packing import StreamPacking

__all__ = ["LayerPlan", "Plan", "needs_window", "plan", "resolve_storage", "weighted_cycles"]

AUTO_BRAM_BITS = 16384  # "auto" weight storage: block RAM from this many weight bits up
SUPPORTED = "dense, conv2d (standard and depthwise), maxpool2d, global_sum_pool, argmax"


@dataclass(frozen=True)
class LayerPlan:
    layer: Layer
    x: Tensor  # input tensor
    y: Tensor  # output tensor
    in_elems: int  # elements per input beat
    out_elems: int  # elements per output beat
    cycles: int  # cycles per frame, pipeline full
    acc_bits: int | None  # accumulator width (dense/conv)
    fifo_depth: int  # beats buffered in front of the layer (one frame, or one image row)
    weight_storage: str | None = None  # "logic" or "bram" (resolved from "auto")

    @property
    def in_packing(self) -> StreamPacking:
        return StreamPacking(self.in_elems, self.x.dtype.bits, self.x.size // self.in_elems)

    @property
    def out_packing(self) -> StreamPacking:
        return StreamPacking(self.out_elems, self.y.dtype.bits, self.y.size // self.out_elems)


@dataclass(frozen=True)
class Plan:
    graph: Graph
    layers: list[LayerPlan]

    @property
    def cycles(self) -> int:
        """Cycles per frame of the whole pipeline: its slowest layer."""
        return max(lp.cycles for lp in self.layers)

    @property
    def bottleneck(self) -> LayerPlan:
        return max(self.layers, key=lambda lp: lp.cycles)

    @property
    def input(self) -> StreamPacking:
        return self.layers[0].in_packing

    @property
    def output(self) -> StreamPacking:
        return self.layers[-1].out_packing


def resolve_storage(layer: Dense | Conv2d) -> str:
    """Where the weights live: as asked, or for "auto" block RAM once they are large.

    Depthwise weights are read combinationally per kernel position, so they stay in logic.
    """
    depthwise = isinstance(layer, Conv2d) and layer.groups > 1
    if depthwise:
        if layer.weight_storage == "bram":
            raise GraphError(f"{layer.where}: depthwise weights live in logic; "
                             "weight_storage must be logic or auto")
        return "logic"
    if layer.weight_storage != "auto":
        return layer.weight_storage
    bits = layer.weights.size * layer.weight_dtype.bits
    return "bram" if bits >= AUTO_BRAM_BITS else "logic"


def needs_window(layer: Conv2d) -> bool:
    """1x1 convolutions with stride 1 and no padding read pixels directly, without a window
    buffer."""
    return layer.kernel != (1, 1) or layer.stride != (1, 1) or layer.padding != (0, 0)


def weighted_cycles(layer: Dense | Conv2d, x: Tensor, y: Tensor, pe: int, simd: int) -> int:
    """Cycles per frame of a dense or conv layer at a folding (pe, simd), window generator
    included; a folding the hardware cannot take raises GraphError."""
    if isinstance(layer, Dense):
        return mvu_cycles(layer.units, x.size, pe, simd)
    h, w, c = x.shape
    kh, kw = layer.kernel
    pixels = y.shape[0] * y.shape[1]
    if layer.groups > 1:  # depthwise: PE channels at once, one kernel position a cycle
        if simd != 1:
            raise GraphError(f"{layer.where}: depthwise hardware takes one kernel position "
                             f"per cycle; simd must be 1, got {simd}")
        elems = pe
        cycles = mvu_cycles(c, kh * kw, pe, 1, pixels=pixels)
    else:
        if c % simd:
            raise GraphError(f"{layer.where}: simd={simd} must divide the {c} input "
                             "channels (windows stream channel-wise)")
        elems = simd
        cycles = mvu_cycles(layer.channels, kh * kw * c, pe, simd, pixels=pixels)
    if needs_window(layer):
        cycles = max(cycles, window_cycles(h, w, c, elems, layer.kernel, layer.stride,
                                           layer.padding))
    return cycles


def _layer_plan(layer: Layer, x: Tensor, y: Tensor, upstream: int | None) -> LayerPlan:
    if isinstance(layer, Dense):
        return LayerPlan(layer, x, y, layer.simd, layer.pe,
                         weighted_cycles(layer, x, y, layer.pe, layer.simd),
                         layer.bounds.out_bits, max(2, x.size // layer.simd),
                         resolve_storage(layer))
    if isinstance(layer, Conv2d):
        w, c = x.shape[1], x.shape[2]
        cycles = weighted_cycles(layer, x, y, layer.pe, layer.simd)
        elems = layer.pe if layer.groups > 1 else layer.simd
        return LayerPlan(layer, x, y, elems, layer.pe, cycles, layer.bounds.out_bits,
                         max(2, w * c // elems), resolve_storage(layer))
    if isinstance(layer, MaxPool2d | GlobalSumPool):
        h, w, c = x.shape
        elems = upstream if upstream is not None and c % upstream == 0 else c
        if isinstance(layer, MaxPool2d):
            cycles = window_cycles(h, w, c, elems, layer.kernel, layer.stride, (0, 0))
        else:
            cycles = h * w * c // elems
        return LayerPlan(layer, x, y, elems, elems, cycles, None, max(2, w * c // elems))
    if isinstance(layer, ArgMax):
        per_beat = upstream if upstream is not None else x.size
        return LayerPlan(layer, x, y, per_beat, 1, argmax_cycles(x.size, per_beat), None,
                         max(2, x.size // per_beat))
    raise GraphError(f"{layer.where}: no hardware for this op yet; hardware supports "
                     f"{SUPPORTED}")


def plan(graph: Graph) -> Plan:
    """The hardware plan of a validated graph; unsupported layers raise GraphError."""
    layers = []
    upstream = None
    for layer, x, y in graph.layer_io():
        layers.append(_layer_plan(layer, x, y, upstream))
        upstream = layers[-1].out_elems
    return Plan(graph, layers)
