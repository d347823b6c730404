"""Window-based layers (conv2d, the window pools): when each output beat can leave, and what
the pools over kernel windows share (:class:`WindowPool`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hwgen.core.errors import GraphError
from hwgen.core.formulas import conv_out_size, window_cycles
from hwgen.hw.blocks.swg import SlidingWindow
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.layer import Layer, Tensor, pair
from hwgen.ir.plan import LayerPlan

__all__ = ["WindowPool", "one_row", "upstream_elems", "window_needs"]


def upstream_elems(channels: int, upstream: int | None) -> int:
    """Elements per beat of a layer without folding knobs: its producer's, when they divide
    the channels, else a whole pixel per beat."""
    return upstream if upstream is not None and channels % upstream == 0 else channels


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


@dataclass
class WindowPool(Layer):
    """A per-channel reduction over ``kernel`` windows moved by ``stride`` (default: the
    kernel) on an (H, W, C) input, no padding: a sliding-window generator feeding the
    reduction, the producer's elements per beat. Subclasses reduce (:meth:`reference`,
    :meth:`blocks`) and name their output dtype (:meth:`infer`)."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None

    @classmethod
    def window_from_spec(cls, spec: dict) -> dict:
        """The ``kernel`` and ``stride`` fields, popped from ``spec``."""
        return {"kernel": spec.pop("kernel", 2), "stride": spec.pop("stride", None)}

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return {"kernel": list(self.kernel), "stride": list(self.stride)}

    def window_shape(self, xs: list[Tensor]) -> tuple[int, int, int]:
        """Validate kernel and stride against the input; the output (OH, OW, C)."""
        x = xs[0]
        if len(x.shape) != 3:
            raise GraphError(f"{self.where}: input must be (H, W, C), got {list(x.shape)}")
        self.kernel = pair(self.where, "kernel", self.kernel)
        self.stride = pair(self.where, "stride",
                           self.kernel if self.stride is None else self.stride)
        h, w, c = x.shape
        oh, ow = conv_out_size((h, w), self.kernel, self.stride, (0, 0))
        if oh < 1 or ow < 1:
            raise GraphError(f"{self.where}: kernel {self.kernel} larger than the {h}x{w} input")
        return oh, ow, c

    @property
    def window(self) -> int:
        """Positions in a window: kh * kw."""
        return self.kernel[0] * self.kernel[1]

    def windows(self, x: np.ndarray) -> np.ndarray:
        """The windows of a batch (N, H, W, C) of inputs: (N, OH, OW, C, kh, kw)."""
        win = sliding_window_view(x, self.kernel, axis=(1, 2))
        return win[:, :: self.stride[0], :: self.stride[1]]

    def stream_plan(self, xs, y, upstream):
        h, w, c = xs[0].shape
        elems = upstream_elems(c, upstream[0])
        return [elems], elems, window_cycles(h, w, c, elems, self.kernel, self.stride, (0, 0))

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        return one_row(xs, elems)

    def needs(self, lp: LayerPlan) -> tuple[list[np.ndarray], int]:
        per_pixel = lp.x.shape[2] // lp.in_elems
        return [window_needs(lp, self.kernel, self.stride, 0)], self.window * per_pixel

    @property
    def exact_schedule(self) -> bool:
        return False

    def window_block(self, lp: LayerPlan) -> SlidingWindow:
        """The sliding-window generator: ``lp.in_elems`` channels of one window position
        per beat, each window's kh * kw positions in a row."""
        return SlidingWindow(lp.x.shape, lp.in_elems, self.kernel, self.stride, (0, 0), 0,
                             element_shape(lp.x.dtype), lp.timing.family)
