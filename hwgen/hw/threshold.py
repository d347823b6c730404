"""Multi-threshold activation: out = dtype.min + #{k : acc >= t[ch, k]} (bin: code = count)."""

from __future__ import annotations

import numpy as np
from amaranth import Module, Value, signed
from amaranth.lib import data
from amaranth.lib.memory import Memory

from ..dtypes import DType
from ..formulas import signed_bits
from ..packing import pack
from .channelwise import ChannelwiseUnit
from .cost import BlockCost, memory, rom_style, tree_bits, varying_bits
from .rom import storage_attrs
from .streams import element_shape
from .tree import adder_tree

__all__ = ["ThresholdUnit"]


class ThresholdUnit(ChannelwiseUnit):
    """Thresholds per channel against accumulators of range ``acc_range``; the table
    lives in logic or block RAM (``storage``), with the same timing.

    Thresholds outside the accumulator's range are clamped to ``lo`` (always
    passed) or ``hi + 1`` (never passed), which keeps comparators narrow
    without changing any result.
    """

    def __init__(self, thresholds: np.ndarray, dtype: DType, *, pe: int,
                 acc_range: tuple[int, int], storage: str = "logic"):
        lo, hi = acc_range
        self.thresholds = np.clip(np.asarray(thresholds, np.int64), lo, hi + 1)
        self.dtype, self.attrs = dtype, storage_attrs(storage)
        self.cmp_bits = signed_bits(lo, hi + 1)
        super().__init__(self.thresholds.shape[0], pe, signed_bits(lo, hi),
                         element_shape(dtype))

    def lanes(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        count = self.thresholds.shape[1]
        word = data.ArrayLayout(data.ArrayLayout(signed(self.cmp_bits), count), self.pe)
        rows = self.thresholds.reshape(self.groups, self.pe * count)
        m.submodules.table = table = Memory(
            shape=word.size, depth=self.groups,
            init=pack(rows & ((1 << self.cmp_bits) - 1), self.cmp_bits, self.pe * count),
            attrs=self.attrs)
        read = table.read_port()
        m.d.comb += [read.addr.eq(self.next_group), read.en.eq(self.advance)]
        table_word = word(read.data)
        outs = []
        for p, acc in enumerate(accs):
            passed = [acc >= table_word[p][k] for k in range(count)]
            levels = adder_tree(m, passed, f"count{p}")
            outs.append(levels + self.dtype.min if self.dtype.kind != "bin" else levels)
        return outs

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = super().cost(family)
        f = c.features
        pe, count = self.pe, self.thresholds.shape[1]
        f["cmp"] += pe * count * self.cmp_bits
        f["tree"] += pe * tree_bits(count, 1)
        rows = self.thresholds.reshape(self.groups, pe * count)
        memory(c, varying_bits(rows, self.cmp_bits), self.groups, family,
               storage=rom_style(self.attrs), sync=True, rom=True)
        return c
