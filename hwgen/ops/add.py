"""``add``: element-wise sum of two tensors of the same shape (a residual join), widened so
it never overflows, then an optional activation like any layer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.hw.blocks.add import ElementwiseAdd
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
from hwgen.ops.join import Join
from hwgen.ops.samples import activation_branches, joined

__all__ = ["Add"]


@register
@dataclass
class Add(SumActivated, Join):
    """y = a + b element by element (values: binary codes count as -1/+1); the raw sum is
    ``intN`` with N from the worst case of both inputs."""

    activation: Threshold | Requant | None = None
    acc: tuple[int, int] = field(default=(0, 0), init=False, repr=False)  # range of the sum
    op: ClassVar[str] = "add"

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> Add:
        return cls(name, pe=spec.pop("pe", 1),
                   activation=activation_from_spec(name, cls.op, spec, arrays))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return {"pe": self.pe, **activation_spec(self.activation, self.name, arrays)}

    def infer(self, xs: list[Tensor]) -> Tensor:
        self._check_inputs(xs, same_channels=True)
        self._check_folding(xs)
        return Tensor(xs[0].shape, self.activated(xs[0].shape[-1], sum(x.dtype.min for x in xs),
                                                  sum(x.dtype.max for x in xs)))

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        return apply(self.activation, xs[0] + xs[1])

    def consumed(self, lp: LayerPlan) -> list[np.ndarray]:
        n = lp.out_packing.beats
        return [np.arange(n), np.arange(n)]

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        """The input added to itself, under each activation."""
        x = Tensor((4, 4, 2), dtype)
        branches = activation_branches(x, rng, "add",
                                       lambda name: cls(name, inputs=["input", "input"], pe=2))
        return {"activations": joined("add", x, branches)}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        a, b = lp.xs
        return [ElementwiseAdd(a.dtype, b.dtype, self.pe),
                *activation_blocks(self.activation, self.pe, self.acc, lp.timing)]
