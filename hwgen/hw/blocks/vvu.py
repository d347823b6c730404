"""Vector-vector unit: depthwise convolution, PE channels at once, one kernel position per
cycle.

The sliding-window generator emits each window position by position, PE
channels per beat; each lane multiplies its channel by that channel's weight
at the position and accumulates over the kh*kw positions (a per-channel
reduction, so it shares :class:`~hwgen.hw.blocks.pool.ChannelReduce`). Cycles per
frame: output pixels x (C/PE) x kh*kw.
"""

from __future__ import annotations

import numpy as np
from amaranth import Module, Value, signed
from amaranth.lib import data
from amaranth.lib.memory import Memory

from hwgen.core.dtypes import DType
from hwgen.core.formulas import acc_bounds, product_levels, rom_levels, signed_bits
from hwgen.core.packing import pack
from hwgen.hw.blocks.pool import ChannelReduce
from hwgen.hw.cost import BlockCost, const_dsps, memory, products, varying_bits
from hwgen.hw.primitives.pe import product
from hwgen.hw.primitives.pipe import UNLIMITED
from hwgen.hw.primitives.rom import lookup
from hwgen.hw.primitives.streams import element_shape

__all__ = ["VVU"]


class VVU(ChannelReduce):
    """Depthwise weights (C, kh, kw, 1) against windows of C channels; outputs the
    accumulator (bias included) of every channel."""

    def __init__(self, weights: np.ndarray, in_dtype: DType, w_dtype: DType, *, pe: int,
                 bias: np.ndarray | None = None, levels: int = UNLIMITED):
        self.weights = np.asarray(weights, np.int64).reshape(len(weights), -1)  # (C, K)
        channels, positions = self.weights.shape
        self.in_dtype, self.w_dtype = in_dtype, w_dtype
        self.bias = np.zeros(channels, np.int64) if bias is None else np.asarray(bias, np.int64)
        self.bounds = acc_bounds(self.weights, in_dtype, bias)
        self.acc_bits = self.bounds.out_bits
        super().__init__("sum", positions, channels, pe, element_shape(in_dtype),
                         signed(self.acc_bits),
                         signed(max(self.bounds.dot_bits, self.bounds.out_bits)), in_dtype,
                         levels)

    def elaborate(self, platform) -> Module:
        m = Module()
        positions, groups, pe = self.count, self.groups, self.elems
        word = data.ArrayLayout(element_shape(self.w_dtype), pe)
        # word (pos, group): weights of channels group*PE .. +PE at kernel position pos
        codes = self.w_dtype.encode(self.weights.T.reshape(positions, groups, pe))
        m.submodules.rom = rom = Memory(shape=word.size, depth=positions * groups,
                                        init=pack(codes, self.w_dtype.bits, pe))
        self._rom = rom.read_port(domain="comb")
        self._word = word(self._rom.data)
        self._bias = self.bias.reshape(groups, pe)
        self._bias_shape = signed(signed_bits(int(self.bias.min()), int(self.bias.max())))
        m.submodules.reduce = super().elaborate(platform)
        return m

    def term_levels(self) -> int:
        """The weight table read (constants in logic) and the product."""
        return rom_levels(self.count * self.groups) + product_levels(self.in_dtype,
                                                                     self.w_dtype)

    def term(self, m: Module, k: int, x: Value, pos: Value, group: Value) -> Value:
        if k == 0:
            m.d.comb += self._rom.addr.eq(pos * self.groups + group)
        return product(x, self.in_dtype, self._word[k], self.w_dtype)

    def finish(self, m: Module, k: int, value: Value, group: Value) -> Value:
        return value + lookup(self._bias[:, k], group, self._bias_shape)

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = super().cost(family)
        lanes = self.elems
        products(c, lanes, self.in_dtype, self.w_dtype, family)
        c.dsp += const_dsps([self.groups] if self.count > 1 else [], family)
        codes = self.w_dtype.encode(self.weights.T).reshape(-1, lanes)
        memory(c, varying_bits(codes, self.w_dtype.bits), self.count * self.groups, family,
               storage="logic", sync=False, rom=True)
        return c
