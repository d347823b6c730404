"""``concat``: two tensors joined along the channel (last) axis; per pixel the first
input's channels, then the second's."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.core.formulas import bits_unsigned, signed_bits
from hwgen.hw.blocks.concat import ChannelConcat
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Arrays, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register
from hwgen.ops.add import Add
from hwgen.ops.join import Join
from hwgen.ops.maxpool2d import MaxPool2d

__all__ = ["Concat", "common_dtype"]


def common_dtype(a: DType, b: DType) -> DType:
    """The narrowest dtype holding every value of both (the same dtype when they agree)."""
    if a == b:
        return a
    lo, hi = min(a.min, b.min), max(a.max, b.max)
    return DType("uint", bits_unsigned(hi)) if lo >= 0 else DType("int", signed_bits(lo, hi))


@register
@dataclass
class Concat(Join):
    """(..., C1) and (..., C2) -> (..., C1 + C2), values unchanged."""

    op: ClassVar[str] = "concat"

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> Concat:
        return cls(name, pe=spec.pop("pe", 1))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return {"pe": self.pe}

    def infer(self, xs: list[Tensor]) -> Tensor:
        self._check_inputs(xs, same_channels=False)
        self._check_folding(xs)
        a, b = xs
        return Tensor((*a.shape[:-1], a.shape[-1] + b.shape[-1]), common_dtype(a.dtype, b.dtype))

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        return np.concatenate(xs, axis=-1)

    def consumed(self, lp: LayerPlan) -> list[np.ndarray]:
        n1, n2 = (x.shape[-1] // self.pe for x in lp.xs)
        pixels = lp.xs[0].size // lp.xs[0].shape[-1]
        base = np.arange(pixels)[:, None] * (n1 + n2)
        return [(base + np.arange(n1)).ravel(), (base + n1 + np.arange(n2)).ravel()]

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        """The input (through a 1x1 max pool) beside its sum with itself, a wider dtype."""
        return {"mixed-dtypes": Graph("cat", Tensor((4, 4, 2), dtype), [
            MaxPool2d("mp", kernel=1, stride=1, inputs=["input"]),
            Add("twice", inputs=["input", "input"], pe=1),
            cls("cat", inputs=["mp", "twice"], pe=2)])}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        a, b = lp.xs
        return [ChannelConcat(a.dtype, b.dtype, lp.y.dtype, a.shape[-1] // self.pe,
                              b.shape[-1] // self.pe, self.pe)]
