"""Multi-threshold activation: out = dtype.min + #{k : acc >= t[ch, k]} (bin: code = count).

Two forms with the same cycles and results:

- parallel: every threshold of a channel against the accumulator at once, then a
  popcount of the comparisons; small for 1-2 output bits;
- search: for K output bits, a binary search over the sorted thresholds in K
  steps (FINN's RTL thresholding does the same). Step k holds the k result bits
  found so far, which address its own table of 2^k thresholds per channel; one
  comparator per step and lane instead of 2^K - 1.

The block takes the form the cost model finds smaller for the target family.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from amaranth import Cat, Module, Signal, Value, signed
from amaranth.lib import data
from amaranth.lib.memory import Memory

from hwgen.core.dtypes import DType
from hwgen.core.formulas import bits_unsigned, rom_levels, signed_bits
from hwgen.core.limits import MAX_WORD_BITS
from hwgen.core.packing import pack
from hwgen.hw.blocks.channelwise import ChannelwiseUnit
from hwgen.hw.cost import BlockCost, memory, rom_style, shipped_model, tree_bits, varying_bits
from hwgen.hw.primitives.pipe import Pipe, register_bits, registers
from hwgen.hw.primitives.rom import storage_attrs
from hwgen.hw.primitives.streams import element_shape
from hwgen.hw.primitives.tree import adder_tree, tree_levels, tree_steps
from hwgen.targets import UNPIPELINED, Timing

__all__ = ["ThresholdUnit"]


class ThresholdUnit(ChannelwiseUnit):
    """Thresholds per channel against accumulators of range ``acc_range``; tables live in
    logic or block RAM (``storage``), with the same timing. ``search`` forces a form
    (default: the smaller for ``timing.family``).

    Thresholds outside the accumulator's range are clamped to ``lo`` (always
    passed) or ``hi + 1`` (never passed), which keeps comparators narrow
    without changing any result.
    """

    def __init__(self, thresholds: np.ndarray, dtype: DType, *, pe: int,
                 acc_range: tuple[int, int], storage: str = "logic",
                 timing: Timing = UNPIPELINED, search: bool | None = None):
        lo, hi = acc_range
        self.thresholds = np.clip(np.asarray(thresholds, np.int64), lo, hi + 1)
        self.dtype, self.attrs, self.timing = dtype, storage_attrs(storage), timing
        self.cmp_bits = signed_bits(lo, hi + 1)
        self.steps = bits_unsigned(self.thresholds.shape[1])  # result bits
        channels = self.thresholds.shape[0]
        if channels % pe:
            raise ValueError(f"pe={pe} must divide {channels} channels")
        self.groups, self.pe, self.acc_bits = channels // pe, pe, signed_bits(lo, hi)
        if search is None and pe * self.thresholds.shape[1] * self.cmp_bits > MAX_WORD_BITS:
            search = True  # the parallel table word would be too wide; the steps are narrow
        if search is None:
            model = shipped_model()
            # a family not calibrated yet (bench/calibrate.py measuring it) chooses as the
            # iCE40, the other four-input-LUT fabric
            fam = timing.family if timing.family in model.coefficients else "ice40"
            search = min((False, True), key=lambda s: model.resources(
                self._cost(fam, s), fam).lut)
        self.search = search
        super().__init__(channels, pe, self.acc_bits, element_shape(dtype),
                         inner=self._registers())

    # -- structure --------------------------------------------------------------------------

    def _table_levels(self, depth: int) -> int:
        return rom_levels(depth) if rom_style(self.attrs) == "logic" else 0

    def _split(self, step: int) -> bool:
        """Whether search step ``step`` registers its table's output before comparing."""
        return self._table_levels(self.groups << step) + 1 > self.timing.levels

    def _registers(self) -> int:
        """Registers between the held accumulators and the output register."""
        if self.search:
            return sum(self._split(k) for k in range(self.steps)) + self.steps - 1
        steps = [1] + [1] * tree_levels(self.thresholds.shape[1])
        return registers(steps, self.timing.levels, self._table_levels(self.groups))

    @cached_property
    def _padded(self) -> np.ndarray:
        """Thresholds padded to 2^K - 1 per channel with never-passed entries."""
        t = self.thresholds
        pad = (1 << self.steps) - 1 - t.shape[1]
        never = (1 << (self.cmp_bits - 1)) - 1
        return np.concatenate([t, np.full((t.shape[0], pad), never, np.int64)], axis=1)

    def _step_table(self, step: int, lane: int) -> np.ndarray:
        """Entries (group, prefix) of search step ``step`` for ``lane``: the threshold that
        splits the levels still possible after ``prefix``."""
        t = self._padded[lane::self.pe]  # (groups, 2^K - 1)
        span = 1 << (self.steps - step)
        index = np.arange(1 << step) * span + span // 2 - 1
        return t[:, index].reshape(-1)

    def _rom(self, m: Module, name: str, words: np.ndarray, width: int, count: int,
             addr: Value) -> Value:
        """A synchronous table read with ``addr`` as the block advances."""
        m.submodules[name] = table = Memory(
            shape=width * count, depth=len(words),
            init=pack(words & ((1 << self.cmp_bits) - 1), self.cmp_bits, count),
            attrs=self.attrs)
        read = table.read_port()
        m.d.comb += [read.addr.eq(addr), read.en.eq(self.advance)]
        return read.data

    # -- hardware ---------------------------------------------------------------------------

    def lanes(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        counts = self._search(m, accs, group) if self.search else self._parallel(m, accs)
        return [c + self.dtype.min if self.dtype.kind != "bin" else c for c in counts]

    def _parallel(self, m: Module, accs: list[Value]) -> list[Value]:
        count = self.thresholds.shape[1]
        word = data.ArrayLayout(data.ArrayLayout(signed(self.cmp_bits), count), self.pe)
        rows = self.thresholds.reshape(self.groups, self.pe * count)
        table = word(self._rom(m, "table", rows, self.cmp_bits, self.pe * count,
                               self.next_group))
        outs = []
        for p, acc in enumerate(accs):
            pipe = Pipe(m, self.advance, self.timing.levels, self._table_levels(self.groups))
            acc, row = pipe.logic(1, [acc, table[p]], f"cmp{p}")
            row = data.ArrayLayout(signed(self.cmp_bits), count)(Value.cast(row))
            passed = [Value.cast(acc).as_signed() >= row[k] for k in range(count)]
            outs.append(adder_tree(m, passed, f"count{p}", pipe))
        return outs

    def _search(self, m: Module, accs: list[Value], group: Value) -> list[Value]:
        pipe = Pipe(m, self.advance, self.timing.levels)
        width = bits_unsigned(self.groups - 1)
        outs = []
        for p, acc in enumerate(accs):
            acc, grp, found = acc, group, Value.cast(0)[:0]
            addr = self.next_group  # step 0 reads in step with the held accumulators
            for k in range(self.steps):
                t = self._rom(m, f"step{k}_lane{p}", self._step_table(k, p), self.cmp_bits, 1,
                              addr)
                if self._split(k):
                    acc, grp, found, t = (pipe.reg(v, f"s{k}_{n}{p}") for n, v in
                                          zip("agft", (acc, grp, found, t), strict=True))
                bit = Signal(name=f"bit{k}_lane{p}")
                m.d.comb += bit.eq(Value.cast(acc).as_signed() >= t.as_signed())
                found = Cat(bit, found)  # the bits found earlier are the more significant
                if k + 1 < self.steps:
                    addr = Cat(found, grp[:width]) if self.groups > 1 else found
                    acc, grp, found = (pipe.reg(v, f"s{k}_{n}{p}_next") for n, v in
                                       zip("agf", (acc, grp, found), strict=True))
            outs.append(found)
        return outs

    # -- cost -------------------------------------------------------------------------------

    def _cost(self, family: str, search: bool) -> BlockCost:
        c = BlockCost()
        f = c.features
        pe, count = self.pe, self.thresholds.shape[1]
        storage = rom_style(self.attrs)
        if not search:
            f["cmp"] += pe * count * self.cmp_bits
            f["tree"] += pe * tree_bits(count, 1)
            steps = [(1, self.acc_bits + count * self.cmp_bits), *tree_steps(count, 1)]
            f["reg"] += pe * register_bits(steps, self.timing.levels,
                                           self._table_levels(self.groups))
            rows = self.thresholds.reshape(self.groups, pe * count)
            memory(c, varying_bits(rows, self.cmp_bits), self.groups, family,
                   storage=storage, sync=True, rom=True)
            return c
        f["cmp"] += pe * self.steps * self.cmp_bits
        for k in range(self.steps):
            for p in range(pe):
                table = self._step_table(k, p).reshape(-1, 1)
                memory(c, varying_bits(table, self.cmp_bits), len(table), family,
                       storage=storage, sync=True, rom=True)
            carried = self.cmp_bits + k + 1  # accumulator and result bits
            f["reg"] += pe * carried * (int(k > 0) + self._split(k))
        return c

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = super().cost(family)
        c += self._cost(family, self.search)
        return c
