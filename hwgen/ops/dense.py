"""``dense``: y = W x (+ bias), then an optional activation; a matrix-vector unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.formulas import mvu_cycles
from hwgen.hw.blocks.mvu import MVU
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Arrays, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register
from hwgen.ops.activation import activation_blocks
from hwgen.ops.samples import extreme_weights, joined, pruned, weighted_branches
from hwgen.ops.weighted import Sparsity, Weighted, divisors

__all__ = ["Dense"]

# (units, pe, simd, N:M sparsity) of the example branches over 8 inputs: two rows and four
# columns a cycle (every weight dtype x activation), then one lane, every row and column
# at once, an odd PE, and the sparse matrix unit at 1:2, 2:4, 1:4 and 2:8 (SIMD counting
# weight slots: 4, 4, 4 and 8 inputs a beat).
EXAMPLE_FOLDINGS = [(4, 2, 4, None), (4, 1, 1, None), (4, 4, 8, None), (6, 3, 2, None),
                    (4, 2, 2, Sparsity(1, 2)), (4, 1, 2, Sparsity(2, 4)),
                    (4, 2, 1, Sparsity(1, 4)), (6, 3, 2, Sparsity(2, 8))]


@register
@dataclass
class Dense(Weighted):
    """y = W x (+ bias), x flattened channels-last; W of shape (units, in_features).

    Folding: PE rows and SIMD columns at once, (units/PE)*(in/SIMD) cycles per frame.
    """

    op: ClassVar[str] = "dense"
    count_field: ClassVar[str] = "units"

    @property
    def units(self) -> int:
        return self.channels

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> Dense:
        return cls(name, **cls.common_from_spec(f"layer {name!r} ({cls.op})", spec, arrays))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        return {"units": self.units, **self.common_spec(arrays)}

    def infer(self, xs: list[Tensor]) -> Tensor:
        x = xs[0]
        rows = int(np.shape(self.weights)[0]) if np.ndim(self.weights) == 2 else 0
        if rows < 1:
            raise GraphError(f"{self.where}: weights must be (units, in_features) with "
                             f"in_features={x.size}, got shape {list(np.shape(self.weights))}")
        self._check_weights(x, (rows, x.size))
        self._check_folding(xs)
        return Tensor((self.units,), self.out_dtype())

    def fold_candidates(self, xs: list[Tensor]) -> tuple[list[int], list[int]]:
        return divisors(self.units), self.simd_candidates(xs[0].size)

    def fold_error(self, xs: list[Tensor], pe: int, simd: int) -> str | None:
        if self.units % pe:
            return f"pe={pe} must divide the {self.units} output channels"
        err = self.simd_error(simd, xs[0].size, "input features")
        return err or self.word_error(xs[0], pe, simd, pe * simd, self.in_elems(simd))

    def cycles_at(self, xs: list[Tensor], y: Tensor, pe: int, simd: int) -> int:
        return mvu_cycles(self.units, self.kept(xs[0].size), pe, simd)

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        x = xs[0]
        return self.activate(x.reshape(len(x), -1) @ self.weights.T)

    def stream_plan(self, xs, y, upstream):
        return [self.in_elems(self.simd)], self.pe, self.cycles_at(xs, y, self.pe, self.simd)

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        x = Tensor((8,), dtype)

        def make(name: str, w_dt: DType, variant: int) -> Dense:
            units, pe, simd, sparsity = EXAMPLE_FOLDINGS[variant]
            w = extreme_weights(w_dt, (units, 8), rng)
            if sparsity is not None:
                w = pruned(w, sparsity, rng)
            return cls(name, weight_dtype=w_dt, weights=w, bias=rng.integers(-3, 4, units),
                       pe=pe, simd=simd, sparsity=sparsity)
        branches = weighted_branches(x, rng, make, len(EXAMPLE_FOLDINGS))
        return {"weights-activations-foldings": joined("dense", x, branches)}

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        return [MVU(self.weights, lp.x.dtype, self.weight_dtype, pe=self.pe, simd=self.simd,
                    bias=self.bias, storage=self.storage, levels=lp.timing.levels,
                    codebook=self.codebook, family=lp.timing.family, sparsity=self.pattern,
                    zero_skip=self.zero_skip),
                *activation_blocks(self.activation, self.pe, self.bounds.out, lp.timing,
                                   self.storage)]
