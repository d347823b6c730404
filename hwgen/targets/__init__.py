"""The FPGA families hwgen builds for, one module each (a :class:`Family` record: its
estimator constants, timing, block RAM, DSP and LUT-RAM rules, synthesis script,
place-and-route tool, packer and programmer), and the rules every block applies from them:
the logic depth a clock allows (:class:`Timing`) and where buffers live.

Adding a family is one module beside these and one line in ``FAMILIES``.
"""

from __future__ import annotations

from dataclasses import dataclass

from hwgen.targets import ecp5, generic, gowin, ice40, xilinx
from hwgen.targets.family import Family

__all__ = ["BUFFER_BRAM_BITS", "FAMILIES", "STAGE_FILL", "UNPIPELINED", "Family", "Timing",
           "buffer_storage", "family", "fifo_storage"]

FAMILIES: dict[str, Family] = {f.name: f for f in (
    ice40.FAMILY, ecp5.FAMILY, gowin.FAMILY, xilinx.FAMILY, generic.FAMILY)}


def family(name: str) -> Family:
    """The family named ``name``; KeyError naming the known ones otherwise."""
    try:
        return FAMILIES[name]
    except KeyError:
        raise KeyError(f"unknown family {name!r}; known: {', '.join(FAMILIES)}") from None


BUFFER_BRAM_BITS = 1024  # read/write buffers of this many bits or more go to block RAM


def _small_bram(width: int, depth: int, name: str | None) -> bool:
    """Where a family has no LUT RAM, memory in logic is flip-flops and a read mux: there,
    buffers and FIFOs from its ``small_bram`` bits and entries go to block RAM too. With
    LUT RAM an asynchronous FIFO costs what a synchronous one does."""
    rule = FAMILIES[name].small_bram if name is not None else None
    return rule is not None and depth >= rule[1] and width * depth >= rule[0]


def buffer_storage(width: int, depth: int, family: str | None = None) -> str:
    """Where a read/write buffer (MVU replay buffer, line buffer) lives: "bram" from
    ``BUFFER_BRAM_BITS`` up, and on a family without LUT RAM from its ``small_bram``; else
    "logic". Stated explicitly so that synthesis maps it the same way everywhere and the
    estimator need not guess its heuristics."""
    big = width * depth >= BUFFER_BRAM_BITS
    return "bram" if big or _small_bram(width, depth, family) else "logic"


def fifo_storage(width: int, depth: int, family: str) -> str:
    """Where a stream FIFO of ``depth`` entries of ``width`` bits lives for ``family``:
    "bram" (read synchronously) or "logic" (read asynchronously)."""
    return "bram" if _small_bram(width, depth, family) else "logic"


# A clock period is filled to this fraction with levels of logic (each family's
# ``level_ns``), to leave room for clock skew and long routes.
STAGE_FILL = 0.8


@dataclass(frozen=True)
class Timing:
    """The clock a design is built for. It sets how many levels of logic may lie between
    two registers; blocks insert pipeline registers to keep within it, which adds latency
    but never changes cycles per frame."""

    family: str = "ice40"
    clock_mhz: float = 12.0

    @property
    def levels(self) -> int:
        """Levels of logic per register stage (at least 1)."""
        level_ns = FAMILIES[self.family].level_ns
        return max(1, int(STAGE_FILL * 1000 / self.clock_mhz / level_ns))


UNPIPELINED = Timing()  # the default: iCE40 at 12 MHz, where no block needs extra registers
