"""What each layer becomes in hardware: parallelism on both streams, cycles, widths.

The graph top builds from this plan and the reports print it, so the figures a
user reads are the ones the hardware was built with.
"""

from __future__ import annotations

from dataclasses import dataclass

from .formulas import argmax_cycles, mvu_cycles
from .ir import ArgMax, Dense, Graph, GraphError, Layer, Tensor
from .packing import StreamPacking

__all__ = ["LayerPlan", "Plan", "plan"]

SUPPORTED = "dense, argmax"


@dataclass(frozen=True)
class LayerPlan:
    layer: Layer
    x: Tensor  # input tensor
    y: Tensor  # output tensor
    in_elems: int  # elements per input beat
    out_elems: int  # elements per output beat
    cycles: int  # cycles per frame, pipeline full
    acc_bits: int | None  # accumulator width (dense/conv)

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


def plan(graph: Graph) -> Plan:
    """The hardware plan of a validated graph; unsupported layers raise GraphError."""
    layers = []
    upstream = None
    for layer, x, y in graph.layer_io():
        if isinstance(layer, Dense):
            lp = LayerPlan(layer, x, y, layer.simd, layer.pe,
                           mvu_cycles(layer.units, x.size, layer.pe, layer.simd),
                           layer.bounds.out_bits)
        elif isinstance(layer, ArgMax):
            per_beat = upstream if upstream is not None else x.size
            lp = LayerPlan(layer, x, y, per_beat, 1, argmax_cycles(x.size, per_beat), None)
        else:
            raise GraphError(f"{layer.where}: no hardware for this op yet; hardware supports "
                             f"{SUPPORTED}")
        layers.append(lp)
        upstream = lp.out_elems
    return Plan(graph, layers)
