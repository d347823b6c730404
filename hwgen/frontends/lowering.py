"""The lowering both front ends share: a float tail on an integer accumulator to thresholds.

A front end knows, per output channel, a monotone function from an integer accumulator to
the output value of an activation (its "code": the model's own float ops, evaluated as
the model evaluates them). :func:`thresholds` finds, for every level of the activation's
output dtype, the least accumulator reaching it, by binary search, with no closed form and
no float rounding of its own. A channel whose output falls as the accumulator rises is
reported as falling; its thresholds are those of the negated accumulator, and
:func:`negate` negates that channel's weights and bias so the layer computes it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.ops.weighted import Weighted

__all__ = ["levels", "negate", "thresholds"]


def levels(dtype: DType) -> list[int]:
    """The output values a threshold activation to ``dtype`` reaches by passing thresholds
    (every value but the lowest)."""
    return [1] if dtype.kind == "bin" else list(range(dtype.min + 1, dtype.max + 1))


def thresholds(code: Callable[[np.ndarray], np.ndarray], reached: list[int], channels: int,
               lo: int, hi: int, *, span: tuple[int, int] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: whether the output falls as the accumulator rises, and, on the
    direction-corrected accumulator (``-acc`` on falling channels), the least integer
    whose output reaches each of the levels ``reached``: ``(falling (C,), t (C, levels))``.

    ``code`` maps int64 accumulators of shape ``(n, channels)`` to output values of the
    same shape. ``lo``..``hi`` is the accumulator's range; the search runs over
    ``span`` on the corrected accumulator, by default each channel's own corrected range
    (``lo..hi`` rising, ``-hi..-lo`` falling), so a level no accumulator reaches gets the
    span's end + 1 and a level every accumulator reaches gets its start."""
    ends = code(np.array([[lo] * channels, [hi] * channels], np.int64))
    falling = ends[0] > ends[1]
    want = np.array(reached, np.int64)[:, None]
    shape = (len(reached), channels)
    if span is None:
        start = np.where(falling, -hi, np.full(shape, lo, np.int64))
        stop = np.where(falling, -lo, np.full(shape, hi, np.int64)) + 1
    else:
        start, stop = np.full(shape, span[0], np.int64), np.full(shape, span[1] + 1, np.int64)
    while np.any(start < stop):
        mid = (start + stop) // 2
        up = code(np.where(falling, -mid, mid)) >= want
        active = start < stop
        stop = np.where(active & up, mid, stop)
        start = np.where(active & ~up, mid + 1, start)
    return falling, start.T


def negate(layer: Weighted, falling: np.ndarray) -> None:
    """Negate the weights (and bias) of the ``falling`` channels, so their outputs rise."""
    flip = np.where(falling, -1, 1)
    layer.weights = layer.weights * flip.reshape(-1, *[1] * (layer.weights.ndim - 1))
    if layer.bias is not None:
        layer.bias = layer.bias * flip
