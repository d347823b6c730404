"""Stream fork: one stream to several consumers, each of which sees every beat."""

from __future__ import annotations

from amaranth import Cat, Module, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.cost import BlockCost

__all__ = ["Fork"]


class Fork(wiring.Component):
    """Eager fork: each output takes the current beat on its own handshake; the input beat
    is released once every output has taken it, so a stalled consumer never blocks the
    others within a beat and no beat is duplicated or lost. No register on the data path.

    Members: ``i`` (In), ``o0`` ... ``o{n-1}`` (Out), all of ``shape``.
    """

    latency = 0

    def __init__(self, shape, n: int):
        if n < 2:
            raise ValueError(f"a fork needs at least two outputs, got {n}")
        self.shape, self.n = shape, n
        super().__init__({"i": In(stream.Signature(shape)),
                          **{f"o{k}": Out(stream.Signature(shape)) for k in range(n)}})

    @property
    def outputs(self) -> list:
        return [getattr(self, f"o{k}") for k in range(self.n)]

    def elaborate(self, platform) -> Module:
        m = Module()
        done = [Signal(name=f"done{k}") for k in range(self.n)]
        covered = []
        for o, d in zip(self.outputs, done, strict=True):
            m.d.comb += [o.payload.eq(self.i.payload), o.valid.eq(self.i.valid & ~d)]
            covered.append(d | (o.valid & o.ready))
        all_taken = Signal()
        m.d.comb += [all_taken.eq(Cat(*covered).all()), self.i.ready.eq(all_taken)]
        with m.If(self.i.valid & all_taken):
            m.d.sync += [d.eq(0) for d in done]
        with m.Else():
            m.d.sync += [d.eq(c) for d, c in zip(done, covered, strict=True)]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        f["ctl"] += self.n
        return c
