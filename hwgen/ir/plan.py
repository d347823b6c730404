"""What each layer becomes in hardware, as records: parallelism on every stream, cycles, FIFO
depths, pipeline depth. :func:`hwgen.analysis.plan.plan` computes them once per graph; the
hardware top, the estimator, the reports and the simulator read them, so the figures a user
reads are the ones the hardware was built with."""

from __future__ import annotations

from dataclasses import dataclass

from hwgen.core.packing import StreamPacking
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Layer, Tensor
from hwgen.targets import UNPIPELINED, Timing

__all__ = ["LayerPlan", "Plan"]


@dataclass(frozen=True)
class LayerPlan:
    layer: Layer
    xs: tuple[Tensor, ...]  # input tensors
    y: Tensor  # output tensor
    elems: tuple[int, ...]  # elements per beat of each input
    out_elems: int  # elements per output beat
    cycles: int  # cycles per frame, pipeline full
    sources: tuple[str, ...]  # producer of each input ("input": the graph input)
    src_elems: tuple[int, ...]  # elements per beat each producer delivers
    fifo_depths: tuple[int, ...]  # beats buffered in front of each input (0: no FIFO)
    consumers: int  # reads of the output; 0 for the graph's output
    depth: int = 0  # pipeline registers from the inputs to the output (glue included)
    timing: Timing = UNPIPELINED  # the clock the blocks are pipelined for

    @property
    def x(self) -> Tensor:
        return self.xs[0]

    @property
    def in_elems(self) -> int:
        return self.elems[0]

    @property
    def fifo_depth(self) -> int:
        return self.fifo_depths[0]

    @property
    def acc_bits(self) -> int | None:
        return self.layer.acc_bits

    @property
    def weight_storage(self) -> str | None:
        return self.layer.storage

    @property
    def in_packings(self) -> list[StreamPacking]:
        return [StreamPacking(e, x.dtype.bits, x.size // e)
                for x, e in zip(self.xs, self.elems, strict=True)]

    @property
    def in_packing(self) -> StreamPacking:
        return self.in_packings[0]

    @property
    def out_packing(self) -> StreamPacking:
        return StreamPacking(self.out_elems, self.y.dtype.bits, self.y.size // self.out_elems)


@dataclass(frozen=True)
class Plan:
    graph: Graph
    layers: list[LayerPlan]
    input_elems: int  # elements per beat on s_axis
    timing: Timing = UNPIPELINED

    @property
    def cycles(self) -> int:
        """Cycles per frame of the whole pipeline: its slowest layer."""
        return max(lp.cycles for lp in self.layers)

    @property
    def bottleneck(self) -> LayerPlan:
        return max(self.layers, key=lambda lp: lp.cycles)

    @property
    def input(self) -> StreamPacking:
        x = self.graph.input
        return StreamPacking(self.input_elems, x.dtype.bits, x.size // self.input_elems)

    @property
    def output(self) -> StreamPacking:
        return self.layers[-1].out_packing

    def __getitem__(self, name: str) -> LayerPlan:
        return next(lp for lp in self.layers if lp.layer.name == name)
