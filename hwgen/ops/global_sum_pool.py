"""``global_sum_pool``: sum over H and W, (H, W, C) -> (C,); the averaging scale belongs to
the next layer. A per-channel sum of the input *values* (binary codes count as -1/+1)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring

from ..dtypes import DType
from ..formulas import signed_bits
from ..hw.pool import ChannelReduce
from ..hw.streams import element_shape
from ..ir import GraphError, Layer, Tensor
from ..plan import LayerPlan
from .maxpool2d import upstream_elems

__all__ = ["GlobalSumPool"]


@dataclass
class GlobalSumPool(Layer):
    """Sum over H and W: (H, W, C) -> (C,)."""

    op: ClassVar[str] = "global_sum_pool"

    def infer(self, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        if len(x.shape) != 3:
            raise GraphError(f"{self.where}: input must be (H, W, C), got {list(x.shape)}")
        n = x.shape[0] * x.shape[1]
        return Tensor((x.shape[2],), DType("int", signed_bits(n * x.dtype.min, n * x.dtype.max)))

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        return xs[0].sum(axis=(1, 2))

    def stream_plan(self, xs, y, upstream):
        h, w, c = xs[0].shape
        elems = upstream_elems(c, upstream[0])
        return [elems], elems, h * w * c // elems

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        _, w, c = xs[0].shape
        return [max(2, w * c // elems[0])]

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        h, w, c = lp.x.shape
        return [ChannelReduce("sum", h * w, c, lp.in_elems, element_shape(lp.x.dtype),
                              element_shape(lp.y.dtype), in_dtype=lp.x.dtype)]
