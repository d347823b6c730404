"""Stream FIFO: decouples neighbours and registers the ready path between them."""

from __future__ import annotations

from amaranth import Module, Shape, ShapeLike, Value
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from .cost import BlockCost, log2, memory

__all__ = ["StreamFIFO"]


class StreamFIFO(wiring.Component):
    """``depth`` payloads of ``shape``; ``i.ready`` and ``o.valid`` come from registers only.

    Members: ``i`` (In stream), ``o`` (Out stream), both of ``shape``.
    """

    latency = 1  # pipeline registers from input to output

    def __init__(self, shape: ShapeLike, depth: int):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        self.shape, self.depth = shape, depth
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.fifo = q = fifo.SyncFIFO(width=len(Value.cast(self.i.payload)),
                                              depth=self.depth)
        m.d.comb += [
            q.w_data.eq(self.i.payload), q.w_en.eq(self.i.valid), self.i.ready.eq(q.w_rdy),
            self.o.payload.eq(q.r_data), self.o.valid.eq(q.r_rdy), q.r_en.eq(self.o.ready),
        ]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        memory(c, Shape.cast(self.shape).width, self.depth, family, storage="logic",
               sync=False)
        f["ctl"] += 2 * log2(self.depth)
        return c
