"""The formulas that hardware, reports and estimators share.

Everything here is a pure function of layer parameters and weights, so the
generated hardware and every prediction about it come from the same code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from hwgen.core.dtypes import DType

__all__ = [
    "AccBounds",
    "acc_bounds",
    "argmax_cycles",
    "bits_unsigned",
    "conv_out_size",
    "mvu_cycles",
    "product_levels",
    "requant_bounds",
    "rom_levels",
    "signed_bits",
    "slot_bits",
    "window_cycles",
    "window_positions_error",
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


def mvu_cycles(rows: int, cols: int, pe: int, simd: int, pixels: int = 1) -> int:
    """Cycles per frame of a matrix-vector unit: pixels * (rows/PE) * (cols/SIMD)."""
    return pixels * (rows // pe) * (cols // simd)


def slot_bits(index_bits: int, group: int | None = None, skip: bool = False) -> int:
    """Bits a matrix unit's ROM holds per weight: its code or codebook index, and with
    N:M sparsity (``group`` = M) its position in the group and a skip bit where a binary
    row has an empty slot."""
    if group is None:
        return index_bits
    return index_bits + bits_unsigned(group - 1) + int(skip)


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
    image (``elems`` channels a cycle, a pixel at most) and reading every window, ``elems``
    elements a cycle (more than the channels: several kernel positions a beat)."""
    hp, wp = height + 2 * padding[0], width + 2 * padding[1]
    oh, ow = conv_out_size((height, width), kernel, stride, padding)
    writes = hp * wp * max(1, channels // elems)
    return max(writes, oh * ow * kernel[0] * kernel[1] * channels // elems)


def window_positions_error(kernel: tuple[int, int], positions: int) -> str | None:
    """Why a window generator cannot emit ``positions`` kernel positions a beat, or None:
    they must be part of a kernel row (dividing its width) or whole rows (dividing its
    height)."""
    kh, kw = kernel
    if kw % positions == 0 or (positions % kw == 0 and kh % (positions // kw) == 0):
        return None
    return (f"{positions} kernel positions a beat must divide the kernel's width {kw} or be "
            f"whole rows of it (a multiple of {kw} dividing {kh * kw})")


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
