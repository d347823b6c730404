"""``global_sum_pool``: sum over H and W, (H, W, C) -> (C,); the averaging scale belongs to
the next layer (or to an optional activation on the sum, e.g. the thresholds of a
floor division). A per-channel sum of the input *values* (binary codes count as -1/+1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from amaranth import signed
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.hw.blocks.pool import ChannelReduce
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.activations import Requant, Threshold
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Arrays, Layer, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register
from hwgen.ops.activation import (
    SumActivated,
    activation_blocks,
    activation_from_spec,
    activation_spec,
    apply,
)
from hwgen.ops.samples import activation_branches, joined
from hwgen.ops.window import one_row, upstream_elems

__all__ = ["GlobalSumPool"]


@register
@dataclass
class GlobalSumPool(SumActivated, Layer):
    """Sum over H and W: (H, W, C) -> (C,), then an optional activation on the sum."""

    activation: Threshold | Requant | None = None
    acc: tuple[int, int] = field(default=(0, 0), init=False, repr=False)  # range of the sum
    op: ClassVar[str] = "global_sum_pool"

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> GlobalSumPool:
        return cls(name, activation=activation_from_spec(name, cls.op, spec, arrays))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return activation_spec(self.activation, self.name, arrays)

    def infer(self, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        if len(x.shape) != 3:
            raise GraphError(f"{self.where}: input must be (H, W, C), got {list(x.shape)}")
        n = x.shape[0] * x.shape[1]
        return Tensor((x.shape[2],), self.activated(x.shape[2], n * x.dtype.min,
                                                    n * x.dtype.max))

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        return apply(self.activation, xs[0].sum(axis=(1, 2)))

    def stream_plan(self, xs, y, upstream):
        h, w, c = xs[0].shape
        elems = upstream_elems(c, upstream[0])
        return [elems], elems, h * w * c // elems

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        return one_row(xs, elems)

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        x = Tensor((4, 4, 2), dtype)
        branches = activation_branches(x, rng, "gsp", lambda name: cls(name, inputs=["input"]))
        return {"activations": joined("gsp", x, branches)}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        h, w, c = lp.x.shape
        return [ChannelReduce("sum", h * w, c, lp.in_elems, element_shape(lp.x.dtype),
                              signed(self.acc_bits), in_dtype=lp.x.dtype),
                *activation_blocks(self.activation, lp.in_elems, self.acc, lp.timing)]
