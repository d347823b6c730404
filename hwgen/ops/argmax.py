"""``argmax``: label select, the index of the largest element (ties: the lowest index)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.core.formulas import argmax_cycles, bits_unsigned
from hwgen.hw.blocks.argmax import LabelSelect
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Layer, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register

__all__ = ["ArgMax"]


@register
@dataclass
class ArgMax(Layer):
    """Index of the largest element (ties: the lowest index); output shape (1,)."""

    op: ClassVar[str] = "argmax"

    def infer(self, xs: list[Tensor]) -> Tensor:
        return Tensor((1,), DType("uint", bits_unsigned(xs[0].size - 1)))

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        x = xs[0]
        return np.argmax(x.reshape(len(x), -1), axis=1)[:, None].astype(np.int64)

    def stream_plan(self, xs, y, upstream):
        x = xs[0]
        per_beat = upstream[0] if upstream[0] is not None else x.size
        return [per_beat], 1, argmax_cycles(x.size, per_beat)

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        return {"labels": Graph("arg", Tensor((7,), dtype), [cls("top")])}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        return [LabelSelect(lp.x.size, lp.in_elems, element_shape(lp.x.dtype),
                            lp.timing.levels)]
