"""Element-wise adder: the residual join of two streams."""

from __future__ import annotations

from amaranth import Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.core.dtypes import DType
from hwgen.core.formulas import signed_bits
from hwgen.hw.cost import BlockCost
from hwgen.hw.primitives.pe import value_of
from hwgen.hw.primitives.streams import element_shape, vector_stream

__all__ = ["ElementwiseAdd"]


class ElementwiseAdd(wiring.Component):
    """Sum of the values of two streams, ``pe`` elements per beat, into a signed width that
    holds every sum. A beat leaves when both inputs have one; one beat per cycle, one cycle
    of latency.

    Members: ``i0``, ``i1`` (In, ``pe`` codes of ``a`` / ``b``), ``o`` (Out, ``pe`` sums).
    """

    latency = 1

    def __init__(self, a: DType, b: DType, pe: int):
        self.a, self.b, self.pe = a, b, pe
        self.out_bits = signed_bits(a.min + b.min, a.max + b.max)
        super().__init__({"i0": In(vector_stream(element_shape(a), pe)),
                          "i1": In(vector_stream(element_shape(b), pe)),
                          "o": Out(vector_stream(signed(self.out_bits), pe))})

    def elaborate(self, platform) -> Module:
        m = Module()
        en, both = Signal(), Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready),
                     both.eq(self.i0.valid & self.i1.valid),
                     self.i0.ready.eq(en & both), self.i1.ready.eq(en & both)]
        with m.If(en):
            m.d.sync += self.o.valid.eq(both)
            with m.If(both):
                m.d.sync += [self.o.payload[k].eq(value_of(self.i0.payload[k], self.a)
                                                  + value_of(self.i1.payload[k], self.b))
                             for k in range(self.pe)]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        f["acc"] += self.pe * self.out_bits
        f["reg"] += self.pe * self.out_bits + 1
        return c
