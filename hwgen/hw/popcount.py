"""The popcount MAC datapath of one PE lane: XNOR of SIMD binary codes, then a popcount."""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from ..formulas import bits_unsigned
from .tree import adder_tree

__all__ = ["XnorPopcount"]


class XnorPopcount(wiring.Component):
    """Number of positions where the binary codes ``a`` and ``w`` agree.

    With code 1 = +1 and 0 = -1, the dot product of the SIMD values is
    ``2 * o - simd``; the MVU folds the ``- simd`` into its per-channel offset.

    Members: ``a``, ``w`` (In, ``simd`` bits), ``o`` (Out, count 0..simd).
    """

    def __init__(self, simd: int):
        self.simd = simd
        super().__init__({"a": In(simd), "w": In(simd), "o": Out(unsigned(bits_unsigned(simd)))})

    def elaborate(self, platform) -> Module:
        m = Module()
        agree = Signal(self.simd)
        m.d.comb += agree.eq(~(self.a ^ self.w))
        m.d.comb += self.o.eq(adder_tree(m, [agree[k] for k in range(self.simd)], "pc"))
        return m
