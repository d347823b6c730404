"""The random stalls of both benches: one seeded generator per stream side, the same in
Python (the cocotb bench) and C++ (the compiled harness), so a seed gives the same
handshake cycles in both and a failure replays exactly.

SplitMix64 draws; a draw below ``p`` means a stall (source: one idle cycle before a
beat; sink: tready low for one cycle).
"""

from __future__ import annotations

__all__ = ["Stalls", "stream_seed"]

_MASK = (1 << 64) - 1


def stream_seed(seed: int, phase: int, side: str) -> int:
    """The generator seed of one side ("source" or "sink") of one phase."""
    return (seed * 1_000_003 + phase * 8 + (side == "sink")) & _MASK


class Stalls:
    """SplitMix64 turned into stall decisions with probability ``p``."""

    def __init__(self, seed: int, p: float):
        self.state, self.p = seed & _MASK, p

    def draw(self) -> bool:
        """One decision: True means stall."""
        self.state = (self.state + 0x9E3779B97F4A7C15) & _MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
        z ^= z >> 31
        return (z >> 11) / (1 << 53) < self.p

    def run(self) -> int:
        """Stalls before the next non-stall (the idle cycles before a source beat)."""
        n = 0
        while self.draw():
            n += 1
        return n
