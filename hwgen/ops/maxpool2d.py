"""``maxpool2d``: max over kernel windows, NHWC, no padding; a window generator and a
per-channel max."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.hw.blocks.pool import ChannelReduce
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.activations import Requant
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Arrays, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import OPS, register
from hwgen.ops.samples import draw, joined
from hwgen.ops.window import WindowPool

__all__ = ["MaxPool2d"]


@register
@dataclass
class MaxPool2d(WindowPool):
    """Max over kernel windows, NHWC, no padding; output dtype = input dtype."""

    op: ClassVar[str] = "maxpool2d"

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> MaxPool2d:
        return cls(name, **cls.window_from_spec(spec))

    def infer(self, xs: list[Tensor]) -> Tensor:
        return Tensor(self.window_shape(xs), xs[0].dtype)

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        return self.windows(xs[0]).max(axis=(-2, -1))

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        """On a 7x7 input, windows with one 3x3 output: 3x3 moved by 2, 5x5 by 1, a single
        position by 3, 3x5 by (2, 1); and 2x2 moved by 2 after a conv whose two lanes
        give the pool two of its four channels a beat."""
        x = Tensor((7, 7, 2), dtype)
        branches = [cls(f"mp{k}", kernel=kernel, stride=stride, inputs=["input"])
                    for k, (kernel, stride) in enumerate(
                        ((3, 2), (5, 1), (1, 3), ((3, 5), (2, 1))))]
        conv = OPS["conv2d"]("c", weight_dtype="int2", weights=draw("int2", (4, 1, 1, 2), rng),
                             pe=2, simd=2, activation=Requant("int3", np.ones(4, int),
                                                              np.full(4, 1)))
        return {"windows": joined("maxpool", x, branches),
                "after-lanes": Graph("lanes", Tensor((6, 6, 2), dtype),
                                     [conv, cls("mp", kernel=2)])}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        shape = element_shape(lp.x.dtype)
        return [self.window_block(lp),
                ChannelReduce("max", self.window, lp.x.shape[2], lp.in_elems, shape, shape)]
