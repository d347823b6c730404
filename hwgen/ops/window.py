"""When a window-based layer (conv2d, maxpool2d) can emit each output beat."""

from __future__ import annotations

import numpy as np

from ..plan import LayerPlan

__all__ = ["window_needs"]


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
