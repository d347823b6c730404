"""Channel concatenation of two streams: per pixel, the first stream's beats, then the
second's."""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.core.dtypes import DType
from hwgen.hw.cost import BlockCost, log2
from hwgen.hw.primitives.pe import value_of
from hwgen.hw.primitives.streams import element_shape, vector_stream

__all__ = ["ChannelConcat"]


class ChannelConcat(wiring.Component):
    """Takes ``n0`` beats of ``i0`` then ``n1`` beats of ``i1`` per pixel, ``pe`` elements a
    beat, and re-codes each element into ``out`` (a dtype holding both inputs' values).
    One beat per cycle, one cycle of latency.

    Members: ``i0``, ``i1`` (In), ``o`` (Out, ``pe`` codes of ``out``).
    """

    latency = 1

    def __init__(self, a: DType, b: DType, out: DType, n0: int, n1: int, pe: int):
        self.a, self.b, self.out, self.n0, self.n1, self.pe = a, b, out, n0, n1, pe
        super().__init__({"i0": In(vector_stream(element_shape(a), pe)),
                          "i1": In(vector_stream(element_shape(b), pe)),
                          "o": Out(vector_stream(element_shape(out), pe))})

    def _recode(self, code, dtype: DType):
        return code if dtype == self.out else value_of(code, dtype)

    def elaborate(self, platform) -> Module:
        m = Module()
        pos = Signal(range(self.n0 + self.n1))
        first = pos < self.n0
        en, take = Signal(), Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready),
                     take.eq(en & Mux(first, self.i0.valid, self.i1.valid)),
                     self.i0.ready.eq(en & first), self.i1.ready.eq(en & ~first)]
        with m.If(en):
            m.d.sync += self.o.valid.eq(take)
        with m.If(take):
            m.d.sync += pos.eq(Mux(pos == self.n0 + self.n1 - 1, 0, pos + 1))
            for k in range(self.pe):
                m.d.sync += self.o.payload[k].eq(Mux(first,
                                                     self._recode(self.i0.payload[k], self.a),
                                                     self._recode(self.i1.payload[k], self.b)))
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        width = self.o.payload.shape().size
        f["mux"] += width
        f["reg"] += width + 1
        f["ctl"] += log2(self.n0 + self.n1)
        return c
