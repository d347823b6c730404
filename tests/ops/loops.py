"""Plain-loop references for the op tests: written from each op's definition, independent of
hwgen.reference."""

from __future__ import annotations

import numpy as np

from hwgen.core.dtypes import DType


def values(dtype: str | DType, shape, seed: int = 0) -> np.ndarray:
    """Random values over a dtype's whole range (bin: -1 and +1)."""
    dt = DType.parse(dtype)
    rng = np.random.default_rng(seed)
    if dt.kind == "bin":
        return rng.choice([-1, 1], shape)
    return rng.integers(dt.min, dt.max + 1, shape)


def extremes(dtype: str | DType, shape) -> np.ndarray:
    """Two frames: every element at the dtype's max, then every element at its min."""
    dt = DType.parse(dtype)
    return np.stack([np.full(shape, dt.max), np.full(shape, dt.min)])


def pool(x: np.ndarray, kernel, stride, reduce) -> np.ndarray:
    """reduce(window) per channel over (N, H, W, C), no padding."""
    n, h, w, c = x.shape
    (kh, kw), (sh, sw) = kernel, stride
    oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, oh, ow, c), np.int64)
    for b in range(n):
        for oy in range(oh):
            for ox in range(ow):
                for ch in range(c):
                    window = [int(x[b, oy * sh + i, ox * sw + j, ch])
                              for i in range(kh) for j in range(kw)]
                    out[b, oy, ox, ch] = reduce(window)
    return out
