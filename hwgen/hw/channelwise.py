"""The stream stage shared by per-channel units (threshold, requantizer).

A beat carries PE channels of one channel group; the unit counts beats to know
the group (channels / PE groups, wrapping per pixel), maps every lane through
``lane()`` and registers the result. One beat per cycle, one cycle of latency.
"""

from __future__ import annotations

from amaranth import Module, Mux, Shape, Signal, Value, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .streams import vector_stream

__all__ = ["ChannelwiseUnit"]


class ChannelwiseUnit(wiring.Component):
    """Base class: subclasses define ``lanes(m, accs, group) -> [Value] * PE``.

    Members: ``i`` (In, PE signed accumulators), ``o`` (Out, PE output codes).
    """

    def __init__(self, channels: int, pe: int, acc_bits: int, out_shape: Shape):
        if channels % pe:
            raise ValueError(f"pe={pe} must divide {channels} channels")
        self.channels, self.pe, self.acc_bits = channels, pe, acc_bits
        self.groups = channels // pe
        super().__init__({"i": In(vector_stream(signed(acc_bits), pe)),
                          "o": Out(vector_stream(out_shape, pe))})

    def lanes(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        """The output of every lane for the accumulators of channel group ``group``."""
        raise NotImplementedError  # pragma: no cover

    def elaborate(self, platform) -> Module:
        m = Module()
        en = Signal()
        group = Signal(range(self.groups), name="group")
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        outs = self.lanes(m, [self.i.payload[p] for p in range(self.pe)], group)
        with m.If(en):
            m.d.sync += self.o.valid.eq(self.i.valid)
            with m.If(self.i.valid):
                m.d.sync += group.eq(Mux(group == self.groups - 1, 0, group + 1))
                m.d.sync += [self.o.payload[p].eq(out) for p, out in enumerate(outs)]
        return m
