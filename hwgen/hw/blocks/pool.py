"""Pooling: per-channel reduction of ``count`` consecutive positions of a stream.

The input carries, for each output pixel, ``count`` positions of C channels,
``elems`` per beat: max pooling reduces the windows of a sliding-window
generator (count = kh*kw), global sum pooling the pixels of an image
(count = H*W). A running value per channel group lives in a small memory; the
output beat of a group leaves with its last position, so the block never stalls
its input. Where a position's contribution takes logic of its own (the depthwise
product) and the target clock has no room for it beside the read-modify-write of
the running value, a register stage holds the contributions first.
"""

from __future__ import annotations

from amaranth import Module, Mux, Shape, Signal, Value
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.core.dtypes import DType
from hwgen.hw.cost import BlockCost, log2, memory
from hwgen.hw.primitives.pe import value_of
from hwgen.hw.primitives.pipe import UNLIMITED, Pipe
from hwgen.hw.primitives.streams import vector_stream

__all__ = ["ChannelReduce"]


class ChannelReduce(wiring.Component):
    """``op`` = "max" or "sum" over ``count`` positions of ``channels`` channels.

    Subclasses change what a position contributes (:meth:`term`) and what leaves
    (:meth:`finish`); ``acc_shape`` is the running value's shape (default: ``out_shape``).
    A sum over ``in_dtype`` adds values, not codes (binary codes mean -1/+1).

    Members: ``i`` (In, ``elems`` x ``in_shape``), ``o`` (Out, ``elems`` x ``out_shape``).
    """

    def __init__(self, op: str, count: int, channels: int, elems: int, in_shape: Shape,
                 out_shape: Shape, acc_shape: Shape | None = None,
                 in_dtype: DType | None = None, levels: int = UNLIMITED):
        if op not in ("max", "sum"):
            raise ValueError(f"op must be max or sum, got {op!r}")
        if channels % elems:
            raise ValueError(f"elems={elems} must divide {channels} channels")
        self.op, self.count, self.groups, self.elems = op, count, channels // elems, elems
        self.in_shape, self.out_shape = Shape.cast(in_shape), Shape.cast(out_shape)
        self.acc_shape = self.out_shape if acc_shape is None else Shape.cast(acc_shape)
        self.in_dtype = in_dtype
        # the running value's read, combine and write take about three levels
        self.staged = self.term_levels() > 0 and self.term_levels() + 3 > levels
        self.latency = 1 + self.staged  # pipeline registers from input to output
        super().__init__({"i": In(vector_stream(self.in_shape, elems)),
                          "o": Out(vector_stream(self.out_shape, elems))})

    def term_levels(self) -> int:
        """Levels of logic :meth:`term` takes (none: the code or its value)."""
        return 0

    def term(self, m: Module, k: int, x: Value, pos: Value, group: Value) -> Value:
        """What lane ``k`` adds at position ``pos`` of channel group ``group``: the value of
        its code when ``in_dtype`` is given (a binary code counts -1/+1), else the code."""
        return x if self.in_dtype is None else value_of(x, self.in_dtype)

    def finish(self, m: Module, k: int, value: Value, group: Value) -> Value:
        """What lane ``k`` outputs once all positions are reduced."""
        return value

    def elaborate(self, platform) -> Module:
        m = Module()
        layout = data.ArrayLayout(self.acc_shape, self.elems)
        m.submodules.partial = partial = Memory(shape=layout.size, depth=self.groups, init=[])
        rd, wr = partial.read_port(domain="comb"), partial.write_port()
        group, pos = Signal(range(self.groups)), Signal(range(self.count))
        en = Signal()
        take = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en),
                     take.eq(en & self.i.valid)]
        with m.If(take):
            with m.If(group == self.groups - 1):
                m.d.sync += [group.eq(0), pos.eq(Mux(pos == self.count - 1, 0, pos + 1))]
            with m.Else():
                m.d.sync += group.eq(group + 1)
        terms = []
        for k in range(self.elems):
            t = Signal(self.acc_shape, name=f"term{k}")
            m.d.comb += t.eq(self.term(m, k, self.i.payload[k], pos, group))
            terms.append(t)
        valid = self.i.valid
        if self.staged:  # contributions, and where they go, one register later
            pipe = Pipe(m, en, 0)
            terms = [pipe.reg(t, f"term{k}_r") for k, t in enumerate(terms)]
            valid, pos, group = (pipe.reg(s, f"{name}_r") for s, name in (
                (valid, "valid"), (pos, "pos"), (group, "group")))
        held = layout(rd.data)
        merged = Signal(layout)
        for k, t in enumerate(terms):
            acc = held[k]
            combined = Mux(t > acc, t, acc) if self.op == "max" else acc + t
            m.d.comb += merged[k].eq(Mux(pos == 0, t, combined))
        m.d.comb += [rd.addr.eq(group), wr.addr.eq(group), wr.data.eq(merged),
                     wr.en.eq(en & valid)]
        with m.If(en):
            m.d.sync += self.o.valid.eq(valid & (pos == self.count - 1))
            with m.If(valid):
                m.d.sync += [self.o.payload[k].eq(self.finish(m, k, merged[k], group))
                             for k in range(self.elems)]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        lanes, acc = self.elems, self.acc_shape.width
        f["reg"] += lanes * self.out_shape.width
        f["reg"] += self.staged * (lanes * acc + log2(self.groups) + log2(self.count) + 1)
        f["ctl"] += log2(self.groups)
        if self.count > 1:  # over one position the running value is never read: no memory
            f["select" if self.op == "max" else "acc"] += lanes * acc
            memory(c, lanes * acc, self.groups, family, storage="logic", sync=False)
            f["ctl"] += log2(self.count)
        return c
