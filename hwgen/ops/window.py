"""When a window-based layer (conv2d, maxpool2d) can emit each output beat."""

from __future__ import annotations

import numpy as np

from hwgen.ir.layer import Tensor
from hwgen.ir.plan import LayerPlan

__all__ = ["one_row", "window_needs"]


def one_row(xs: list[Tensor], elems: list[int]) -> list[int]:
    """FIFO depth in front of a layer that buffers image rows itself (window generators,
    the sum pool): one row of its (H, W, C) input, in beats."""
    _, w, c = xs[0].shape
    return [max(2, w * c // elems[0])]


def window_needs(lp: LayerPlan, kernel: tuple[int, int], stride: tuple[int, int],
                 pad_top: int) -> np.ndarray:
    """For each output beat, the last input beat it needs: the window generator releases
    output row ``oy`` once its ``kh`` input rows are written whole."""
    h, w, c = lp.x.shape
    oh, ow = lp.y.shape[0], lp.y.shape[1]
    per_pixel = c // lp.in_elems
    row = np.minimum(np.arange(oh) * stride[0] + kernel[0] - 1 - pad_top, h - 1)
    last = np.repeat((row + 1) * w * per_pixel - 1, ow)
    return np.repeat(last, lp.out_packing.beats // (oh * ow))
