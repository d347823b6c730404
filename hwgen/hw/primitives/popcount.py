"""The popcount MAC datapath of one PE lane: XNOR of SIMD binary codes, then a popcount."""

from __future__ import annotations

from amaranth import Module, Signal, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.core.formulas import bits_unsigned
from hwgen.hw.primitives.pipe import UNLIMITED, Pipe, register_bits, registers
from hwgen.hw.primitives.tree import adder_tree, tree_levels, tree_steps

__all__ = ["XnorPopcount"]


class XnorPopcount(wiring.Component):
    """Number of positions where the binary codes ``a`` and ``w`` agree.

    With code 1 = +1 and 0 = -1, the dot product of the SIMD values is
    ``2 * o - simd``; the MVU folds the ``- simd`` into its per-channel offset.

    ``levels`` bounds the logic levels between registers (``used`` of them spent before
    the inputs arrive); ``latency`` registers, loaded when ``en`` is high, keep to it.

    Members: ``a``, ``w`` (In, ``simd`` bits), ``en`` (In), ``o`` (Out, count 0..simd).
    """

    def __init__(self, simd: int, levels: int = UNLIMITED, used: int = 0):
        self.simd, self.levels, self.used = simd, levels, used
        self.latency = registers([1] * tree_levels(simd), levels, used)
        self.register_bits = register_bits(tree_steps(simd, 1), levels, used)
        super().__init__({"a": In(simd), "w": In(simd), "en": In(1),
                          "o": Out(unsigned(bits_unsigned(simd)))})

    def elaborate(self, platform) -> Module:
        m = Module()
        agree = Signal(self.simd)
        m.d.comb += agree.eq(~(self.a ^ self.w))
        pipe = Pipe(m, self.en, self.levels, self.used)
        m.d.comb += self.o.eq(adder_tree(m, [agree[k] for k in range(self.simd)], "pc", pipe))
        return m
