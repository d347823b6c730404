"""``avgpool2d``: the sum over kernel windows, NHWC, no padding; the averaging scale
1/(kh*kw) belongs to the next layer (or to an optional activation on the sum), as with
``global_sum_pool``. A per-channel sum of the input *values* (binary codes count as -1/+1):
a window generator and a per-channel sum."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from amaranth import signed
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.hw.blocks.pool import ChannelReduce
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.activations import Requant, Threshold
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Arrays, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register
from hwgen.ops.activation import (
    SumActivated,
    activation_blocks,
    activation_from_spec,
    activation_spec,
    apply,
)
from hwgen.ops.samples import activation, activation_branches, joined
from hwgen.ops.window import WindowPool

__all__ = ["AvgPool2d"]


@register
@dataclass
class AvgPool2d(SumActivated, WindowPool):
    """Sum over kernel windows: (H, W, C) -> (OH, OW, C), then an optional activation on
    the sum; the sum's range is kh*kw times the input's."""

    activation: Threshold | Requant | None = None
    acc: tuple[int, int] = field(default=(0, 0), init=False, repr=False)  # range of the sum
    op: ClassVar[str] = "avgpool2d"

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> AvgPool2d:
        return cls(name, **cls.window_from_spec(spec),
                   activation=activation_from_spec(name, cls.op, spec, arrays))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return {**super().spec(arrays), **activation_spec(self.activation, self.name, arrays)}

    def infer(self, xs: list[Tensor]) -> Tensor:
        oh, ow, c = self.window_shape(xs)
        dt = xs[0].dtype
        return Tensor((oh, ow, c), self.activated(c, self.window * dt.min, self.window * dt.max))

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        return apply(self.activation, self.windows(xs[0]).sum(axis=(-2, -1)))

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        """On a 5x5 input, 3x3 windows under each activation, and beside them two windows
        with the same 3x3 output: 1x3 moved by (2, 1), and a single position moved by 2."""
        x = Tensor((5, 5, 2), dtype)
        branches = activation_branches(
            x, rng, "avg", lambda name: cls(name, kernel=3, stride=1, inputs=["input"]))
        for name, kernel, stride, act in (("avg_1x3", (1, 3), (2, 1), "threshold"),
                                          ("avg_1x1", 1, 2, "requant")):
            layer = cls(name, kernel=kernel, stride=stride, inputs=["input"])
            channels = layer.infer([x]).shape[-1]
            layer.activation = activation(act, channels, layer.acc_range, rng)
            branches.append(layer)
        return {"windows": joined("avg", x, branches)}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        return [self.window_block(lp),
                ChannelReduce("sum", self.window, lp.x.shape[2], lp.in_elems,
                              element_shape(lp.x.dtype), signed(self.acc_bits),
                              in_dtype=lp.x.dtype),
                *activation_blocks(self.activation, lp.in_elems, self.acc, lp.timing)]
