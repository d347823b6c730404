"""Stream FIFO: decouples neighbours and registers the ready path between them."""

from __future__ import annotations

from amaranth import Module, Shape, ShapeLike, Value
from amaranth.lib import fifo, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.cost import BlockCost, log2, memory
from hwgen.hw.primitives.pipe import UNLIMITED

__all__ = ["REGISTER_BELOW", "StreamFIFO"]

REGISTER_BELOW = 3  # levels per stage below which the output is registered


class StreamFIFO(wiring.Component):
    """``depth`` payloads of ``shape``; ``i.ready`` and ``o.valid`` come from registers only.

    With ``storage="logic"`` the payload leaves the FIFO's memory through an
    asynchronous read (a level of logic); where ``levels`` (:class:`hwgen.targets.Timing`)
    leaves no room for it in the consumer's first stage, an output register holds one more
    payload. With ``storage="bram"`` (:func:`hwgen.targets.fifo_storage`) the memory is
    read synchronously, which block RAM needs: one entry waits in the read register, so
    the output is registered and the latency is 2 either way.

    Members: ``i`` (In stream), ``o`` (Out stream), both of ``shape``.
    """

    def __init__(self, shape: ShapeLike, depth: int, levels: int = UNLIMITED,
                 storage: str = "logic"):
        if depth < 1:
            raise ValueError(f"depth must be at least 1, got {depth}")
        if storage not in ("logic", "bram"):
            raise ValueError(f"storage must be logic or bram, got {storage!r}")
        if storage == "bram" and depth < 3:
            raise ValueError(f"a block-RAM FIFO holds at least 3 entries, got {depth}")
        self.shape, self.depth, self.storage = shape, depth, storage
        self.registered = levels < REGISTER_BELOW or storage == "bram"
        self.latency = 1 + self.registered  # pipeline registers from input to output
        super().__init__({"i": In(stream.Signature(shape)), "o": Out(stream.Signature(shape))})

    def elaborate(self, platform) -> Module:
        m = Module()
        width = len(Value.cast(self.i.payload))
        buffered = self.storage == "bram"  # its read register is the output register
        m.submodules.fifo = q = (fifo.SyncFIFOBuffered if buffered else fifo.SyncFIFO)(
            width=width, depth=self.depth)
        m.d.comb += [q.w_data.eq(self.i.payload), q.w_en.eq(self.i.valid),
                     self.i.ready.eq(q.w_rdy)]
        if buffered or not self.registered:
            m.d.comb += [self.o.payload.eq(q.r_data), self.o.valid.eq(q.r_rdy),
                         q.r_en.eq(self.o.ready)]
            return m
        m.d.comb += q.r_en.eq(~self.o.valid | self.o.ready)
        with m.If(q.r_en):
            m.d.sync += [self.o.valid.eq(q.r_rdy), self.o.payload.eq(q.r_data)]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        width = Shape.cast(self.shape).width
        if self.storage == "bram":  # the read register holds the last entry
            memory(c, width, self.depth - 1, family, storage="bram", sync=True)
        else:
            memory(c, width, self.depth, family, storage="logic", sync=False)
        f["ctl"] += 2 * log2(self.depth)
        f["reg"] += (width + 1) * self.registered
        return c
