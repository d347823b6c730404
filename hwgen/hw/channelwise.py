"""The stream stage shared by per-channel units (threshold, requantizer).

A beat carries PE channels of one channel group; the unit counts beats to know
the group (channels / PE groups, wrapping per pixel). Two registered stages
that advance together: the first holds the accumulators while per-channel
tables are read synchronously (so they may live in block RAM), the second holds
the result. One beat per cycle, two cycles of latency.
"""

from __future__ import annotations

from amaranth import Module, Mux, Shape, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .cost import BlockCost, log2
from .streams import vector_stream

__all__ = ["ChannelwiseUnit"]


class ChannelwiseUnit(wiring.Component):
    """Base class: subclasses define ``lanes(m, accs, group)``.

    Members: ``i`` (In, PE signed accumulators), ``o`` (Out, PE output codes).
    """

    latency = 2  # pipeline registers from input to output

    def __init__(self, channels: int, pe: int, acc_bits: int, out_shape: Shape):
        if channels % pe:
            raise ValueError(f"pe={pe} must divide {channels} channels")
        self.channels, self.pe, self.acc_bits = channels, pe, acc_bits
        self.groups = channels // pe
        super().__init__({"i": In(vector_stream(signed(acc_bits), pe)),
                          "o": Out(vector_stream(out_shape, pe))})

    def lanes(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        """The output of every lane for the held accumulators of channel group ``group``.

        ``self.next_group`` and ``self.advance`` address synchronous table reads: a
        read port with ``addr=next_group, en=advance`` delivers the entry of ``group``.
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
        f["ctl"] += log2(self.groups)
        return c
