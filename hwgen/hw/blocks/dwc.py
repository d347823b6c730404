"""Data-width converter: a stream of ``n_in`` elements per beat to ``n_out`` per beat."""

from __future__ import annotations

import math

from amaranth import Module, Shape, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.cost import BlockCost, log2
from hwgen.hw.primitives.streams import vector_stream

__all__ = ["WidthConverter"]


class WidthConverter(wiring.Component):
    """Element-order-preserving regrouping of a stream, any ratio.

    Holds up to ``n_in + n_out`` elements; takes a beat whenever a whole input
    beat fits (before this cycle's output leaves, so ``i.ready`` does not depend
    on ``o.ready``) and emits whenever ``n_out`` elements are held. That
    sustains one beat per cycle on the narrower side.

    Members: ``i`` (In, ``n_in`` elements), ``o`` (Out, ``n_out`` elements).
    """

    latency = 1  # pipeline registers from input to output

    def __init__(self, shape: Shape, n_in: int, n_out: int):
        self.shape, self.n_in, self.n_out = Shape.cast(shape), n_in, n_out
        self.capacity = n_in + n_out
        super().__init__({"i": In(vector_stream(self.shape, n_in)),
                          "o": Out(vector_stream(self.shape, n_out))})

    def elaborate(self, platform) -> Module:
        m = Module()
        cap, n_in, n_out = self.capacity, self.n_in, self.n_out
        buf = [Signal(self.shape, name=f"buf{k}") for k in range(cap)]
        count = Signal(range(cap + 1))
        take, give = Signal(), Signal()
        m.d.comb += [
            self.i.ready.eq(count + n_in <= cap),
            self.o.valid.eq(count >= n_out),
            take.eq(self.i.valid & self.i.ready),
            give.eq(self.o.valid & self.o.ready),
        ]
        m.d.comb += [self.o.payload[k].eq(buf[k]) for k in range(n_out)]
        with m.If(give):  # shift the held elements down by one output beat
            m.d.sync += [buf[k].eq(buf[k + n_out]) for k in range(cap - n_out)]
        pos = Signal(range(cap + 1))
        m.d.comb += pos.eq(count - (give * n_out))
        with m.If(take):
            with m.Switch(pos):
                for start in range(0, cap - n_in + 1, math.gcd(n_in, n_out)):
                    with m.Case(start):
                        m.d.sync += [buf[start + k].eq(self.i.payload[k]) for k in range(n_in)]
        m.d.sync += count.eq(count + take * n_in - give * n_out)
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        bits = self.shape.width
        f["reg"] += self.capacity * bits
        f["mux"] += self.capacity * bits * log2(max(self.n_in, self.n_out))
        f["ctl"] += log2(self.capacity)
        return c
