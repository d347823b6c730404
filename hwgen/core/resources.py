"""Resources in a family's own units, estimated or measured."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Resources"]


@dataclass(frozen=True)
class Resources:
    """Resources in a family's own units: LUTs (logic gates for ``generic``), flip-flops,
    block RAMs (SB_RAM40_4K, DP16KD, or RAMB36 equivalents) and DSP blocks."""

    lut: float = 0
    ff: float = 0
    bram: float = 0
    dsp: float = 0

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.lut + other.lut, self.ff + other.ff, self.bram + other.bram,
                         self.dsp + other.dsp)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)
