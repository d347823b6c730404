"""``maxpool2d``: max over kernel windows, NHWC, no padding; a window generator and a
per-channel max."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring
from numpy.lib.stride_tricks import sliding_window_view

from hwgen.core.errors import GraphError
from hwgen.core.formulas import conv_out_size, window_cycles
from hwgen.hw.blocks.pool import ChannelReduce
from hwgen.hw.blocks.swg import SlidingWindow
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.layer import Arrays, Layer, Tensor, pair
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register
from hwgen.ops.window import one_row, window_needs

__all__ = ["MaxPool2d", "upstream_elems"]


def upstream_elems(channels: int, upstream: int | None) -> int:
    """Elements per beat of a layer without folding knobs: its producer's, when they divide
    the channels, else a whole pixel per beat."""
    return upstream if upstream is not None and channels % upstream == 0 else channels


@register
@dataclass
class MaxPool2d(Layer):
    """Max over kernel windows, NHWC, no padding; output dtype = input dtype."""

    kernel: tuple[int, int] = (2, 2)
    stride: tuple[int, int] | None = None
    op: ClassVar[str] = "maxpool2d"

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> MaxPool2d:
        return cls(name, kernel=spec.pop("kernel", 2), stride=spec.pop("stride", None))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return {"kernel": list(self.kernel), "stride": list(self.stride)}

    def infer(self, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        if len(x.shape) != 3:
            raise GraphError(f"{self.where}: input must be (H, W, C), got {list(x.shape)}")
        self.kernel = pair(self.where, "kernel", self.kernel)
        self.stride = pair(self.where, "stride", self.stride or self.kernel)
        h, w, c = x.shape
        oh, ow = conv_out_size((h, w), self.kernel, self.stride, (0, 0))
        if oh < 1 or ow < 1:
            raise GraphError(f"{self.where}: kernel {self.kernel} larger than the {h}x{w} input")
        return Tensor((oh, ow, c), x.dtype)

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        win = sliding_window_view(xs[0], self.kernel, axis=(1, 2))
        return win[:, :: self.stride[0], :: self.stride[1]].max(axis=(-2, -1))

    def stream_plan(self, xs, y, upstream):
        h, w, c = xs[0].shape
        elems = upstream_elems(c, upstream[0])
        return [elems], elems, window_cycles(h, w, c, elems, self.kernel, self.stride, (0, 0))

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        return one_row(xs, elems)

    def needs(self, lp: LayerPlan) -> tuple[list[np.ndarray], int]:
        per_pixel = lp.x.shape[2] // lp.in_elems
        return [window_needs(lp, self.kernel, self.stride, 0)], self.kernel[0] * \
            self.kernel[1] * per_pixel

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        shape = element_shape(lp.x.dtype)
        return [SlidingWindow(lp.x.shape, lp.in_elems, self.kernel, self.stride, (0, 0), 0,
                              shape, lp.timing.family),
                ChannelReduce("max", self.kernel[0] * self.kernel[1], lp.x.shape[2],
                              lp.in_elems, shape, shape)]
