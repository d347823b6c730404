"""Requantizer: y = clamp((acc * m + ((1 << s) >> 1)) >> s), m and s per channel."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Mux, Signal, Value, signed, unsigned

from hwgen.core.dtypes import DType
from hwgen.core.formulas import bits_unsigned, requant_bounds, signed_bits
from hwgen.hw.blocks.channelwise import ChannelwiseUnit
from hwgen.hw.cost import BlockCost, dsps
from hwgen.hw.primitives.rom import lookup
from hwgen.hw.primitives.streams import element_shape

__all__ = ["Requantizer"]


class Requantizer(ChannelwiseUnit):
    """Integer multiply, right shift with round-half-up, clamp to the output dtype."""

    def __init__(self, m: np.ndarray, s: np.ndarray, dtype: DType, *, pe: int,
                 acc_range: tuple[int, int]):
        self.m, self.s = np.asarray(m, np.int64), np.asarray(s, np.int64)
        self.dtype, self.acc_range = dtype, acc_range
        super().__init__(len(self.m), pe, signed_bits(*acc_range), element_shape(dtype))

    def lanes(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        rnd = (1 << self.s) >> 1
        prod_shape = signed(signed_bits(*requant_bounds(self.acc_range, self.m, self.s)))
        m_shape = signed(signed_bits(int(self.m.min()), int(self.m.max())))
        outs = []
        for p, acc in enumerate(accs):
            sel = slice(p, None, self.pe)  # channels g*PE + p
            prod = Signal(prod_shape, name=f"prod{p}")
            shifted = Signal(prod_shape, name=f"shifted{p}")
            rnd_p = lookup(rnd[sel], group, prod_shape)
            m.d.comb += prod.eq(acc * lookup(self.m[sel], group, m_shape) + rnd_p)
            shift = lookup(self.s[sel], group, unsigned(bits_unsigned(int(self.s.max()))))
            m.d.comb += shifted.eq(prod >> shift)
            outs.append(Mux(shifted < self.dtype.min, self.dtype.min,
                            Mux(shifted > self.dtype.max, self.dtype.max, shifted)))
        return outs

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = super().cost(family)
        f = c.features
        pe = self.pe
        m_bits = signed_bits(int(self.m.min()), int(self.m.max()))
        dsp = dsps(self.acc_bits, m_bits, family)
        for p in range(pe):  # a lane whose factor is one power of two is a shift
            m = self.m[p::pe]
            shift = np.all(m == m[0]) and m[0] > 0 and (m[0] & (m[0] - 1)) == 0
            c.dsp += 0 if shift else dsp
            f["mul"] += 0 if shift or dsp else self.acc_bits * m_bits
        f["cmp"] += 2 * pe * (self.acc_bits + m_bits)
        return c
