"""What ops that join two streams (add, concat) share: a ``pe`` knob over the channel axis,
beat bookkeeping for the FIFO sizing of their inputs, and value conversion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from hwgen.core.errors import GraphError
from hwgen.ir.layer import Layer, Tensor
from hwgen.ir.plan import LayerPlan
from hwgen.ops.weighted import divisors

__all__ = ["Join"]


@dataclass
class Join(Layer):
    """Two inputs of the same leading shape, PE channels per beat on every stream."""

    pe: int = 1
    arity: ClassVar[int] = 2
    folds: ClassVar[tuple[str, ...]] = ("pe",)

    def _check_inputs(self, xs: list[Tensor], same_channels: bool) -> None:
        a, b = xs
        lead_a, lead_b = (a.shape, b.shape) if same_channels else (a.shape[:-1], b.shape[:-1])
        if lead_a != lead_b:
            what = "the same shape" if same_channels else "the same shape but for channels"
            raise GraphError(f"{self.where}: inputs must have {what}; got {list(a.shape)} and "
                             f"{list(b.shape)}")

    def fold_candidates(self, xs: list[Tensor]) -> tuple[list[int], list[int]]:
        return divisors(xs[0].shape[-1]), [1]

    def fold_error(self, xs: list[Tensor], pe: int, simd: int) -> str | None:
        for x in xs:
            if x.shape[-1] % pe:
                return f"pe={pe} must divide the {x.shape[-1]} channels of every input"
        return None if simd == 1 else "has no simd; fold it with pe"

    def cycles_at(self, xs: list[Tensor], y: Tensor, pe: int, simd: int) -> int:
        return y.size // pe

    def stream_plan(self, xs, y, upstream):
        return [self.pe] * len(xs), self.pe, self.cycles_at(xs, y, self.pe, 1)

    def consumed(self, lp: LayerPlan) -> list[np.ndarray]:  # pragma: no cover - abstract
        """For each input, the output beat at which each of its beats is taken."""
        raise NotImplementedError

    def needs(self, lp: LayerPlan) -> tuple[list[np.ndarray], int]:
        n_out = lp.out_packing.beats
        return [np.searchsorted(c, np.arange(n_out), side="right") - 1
                for c in self.consumed(lp)], 0
