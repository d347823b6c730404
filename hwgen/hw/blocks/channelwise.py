"""The stream stage shared by per-channel units (threshold, requantizer).

A beat carries PE channels of one channel group; the unit counts beats to know
the group (channels / PE groups, wrapping per pixel). Registered stages that
advance together: the first holds the accumulators while per-channel tables are
read synchronously (so they may live in block RAM), the last holds the result,
and a subclass may put ``inner`` more between them. One beat per cycle,
``2 + inner`` cycles of latency.
"""

from __future__ import annotations

from amaranth import Module, Mux, Shape, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.cost import BlockCost, log2
from hwgen.hw.primitives.pipe import Pipe
from hwgen.hw.primitives.streams import vector_stream

__all__ = ["ChannelwiseUnit"]


class ChannelwiseUnit(wiring.Component):
    """Base class: subclasses define ``lanes(m, accs, group)``.

    Members: ``i`` (In, PE signed accumulators), ``o`` (Out, PE output codes).
    """

    def __init__(self, channels: int, pe: int, acc_bits: int, out_shape: Shape,
                 inner: int = 0):
        if channels % pe:
            raise ValueError(f"pe={pe} must divide {channels} channels")
        self.channels, self.pe, self.acc_bits = channels, pe, acc_bits
        self.groups, self.inner = channels // pe, inner
        self.latency = 2 + inner  # pipeline registers from input to output
        super().__init__({"i": In(vector_stream(signed(acc_bits), pe)),
                          "o": Out(vector_stream(out_shape, pe))})

    def lanes(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        """The output of every lane for the held accumulators of channel group ``group``.

        ``self.next_group`` and ``self.advance`` address synchronous table reads: a
        read port with ``addr=next_group, en=advance`` delivers the entry of ``group``.
        The lanes may hold ``inner`` registers loaded on ``advance``.
        """
        raise NotImplementedError  # pragma: no cover

    def elaborate(self, platform) -> Module:
        m = Module()
        self.advance = en = Signal()
        self.next_group = entering = Signal(range(self.groups), name="group_in")
        group = Signal(range(self.groups), name="group")
        held = [Signal(signed(self.acc_bits), name=f"acc{p}") for p in range(self.pe)]
        valid = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        with m.If(en):
            m.d.sync += [valid.eq(self.i.valid), group.eq(entering),
                         *(h.eq(self.i.payload[p]) for p, h in enumerate(held))]
            with m.If(self.i.valid):
                m.d.sync += entering.eq(Mux(entering == self.groups - 1, 0, entering + 1))
        outs = self.lanes(m, held, group)
        valid = Pipe(m, en, 0).delay(valid, self.inner, "valid")
        with m.If(en):
            m.d.sync += self.o.valid.eq(valid)
            with m.If(valid):
                m.d.sync += [self.o.payload[p].eq(out) for p, out in enumerate(outs)]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        f["reg"] += self.pe * (self.acc_bits + self.o.payload.shape().elem_shape.width) + 2
        f["reg"] += self.inner  # the valid flag beside inner registers
        f["ctl"] += log2(self.groups)
        return c
