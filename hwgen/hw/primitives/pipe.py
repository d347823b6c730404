"""Pipeline registers for datapaths whose stages all advance on one enable.

Every block in hwgen stalls as a whole: when its output register is full and
not taken, nothing moves. A register inserted into such a datapath therefore
loads on the same enable, and every signal that travels beside the data (valid,
first/last flags, counters) is delayed by as many registers
(:attr:`Pipe.registers`). How many levels of logic may lie between two registers
comes from the target clock (:meth:`hwgen.targets.Timing.levels`).
"""

from __future__ import annotations

from amaranth import Module, Signal, Value

__all__ = ["UNLIMITED", "Pipe", "register_bits", "registers"]

UNLIMITED = 1 << 16  # levels per stage of a block built for no clock: no extra registers


def _breaks(used: int, levels: int, budget: int) -> bool:
    """Whether a register must come before ``levels`` more levels of logic."""
    return used > 0 and used + levels > budget


def register_bits(steps: list[tuple[int, int]], budget: int, used: int = 0) -> int:
    """Flip-flops a :class:`Pipe` of ``budget`` inserts for logic of ``steps`` in a row,
    each (levels, bits entering it), ``used`` levels spent before the first: what a block
    counts before it is built."""
    bits = 0
    for levels, width in steps:
        if _breaks(used, levels, budget):
            bits, used = bits + width, 0
        used += levels
    return bits


def registers(steps: list[int], budget: int, used: int = 0) -> int:
    """The registers (stages) a :class:`Pipe` inserts for logic of ``steps`` levels."""
    return register_bits([(levels, 1) for levels in steps], budget, used)


class Pipe:
    """Registers of a datapath in ``m`` that advance when ``en`` is high; at most
    ``levels`` levels of logic between two of them, ``used`` already spent on entry."""

    def __init__(self, m: Module, en: Value, levels: int, used: int = 0):
        self.m, self.en, self.levels, self.used = m, en, levels, used
        self.registers = 0

    def reg(self, value: Value, name: str) -> Signal:
        """``value`` one register later."""
        held = Signal(Value.cast(value).shape(), name=name)
        with self.m.If(self.en):
            self.m.d.sync += held.eq(value)
        return held

    def delay(self, value: Value, stages: int, name: str) -> Value:
        """``value`` ``stages`` registers later."""
        for k in range(stages):
            value = self.reg(value, f"{name}_d{k}")
        return value

    def logic(self, levels: int, values: list[Value], name: str) -> list[Value]:
        """``values`` about to pass ``levels`` levels of logic: registered first when the
        stage would otherwise exceed its budget."""
        if _breaks(self.used, levels, self.levels):
            values = [self.reg(v, f"{name}_r{self.registers}_{k}") for k, v in enumerate(values)]
            self.registers += 1
            self.used = 0
        self.used += levels
        return values
