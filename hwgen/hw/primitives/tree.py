"""Balanced adder trees: every level is a named Signal, so conversion never recurses
deeply and no sub-expression is emitted twice; a :class:`~hwgen.hw.primitives.pipe.Pipe` puts
registers between levels where the target clock needs them."""

from __future__ import annotations

from amaranth import Module, Signal, Value

from hwgen.hw.primitives.pipe import Pipe

__all__ = ["adder_tree", "tree_levels"]


def tree_levels(terms: int) -> int:
    """Adder levels of a balanced tree over ``terms`` values."""
    return max(0, terms - 1).bit_length()


def tree_steps(terms: int, width: int) -> list[tuple[int, int]]:
    """(levels, bits entering) of each level of a tree over ``terms`` values of ``width``
    bits: what :func:`hwgen.hw.primitives.pipe.register_bits` needs."""
    steps = []
    for level in range(tree_levels(terms)):
        steps.append((1, terms * (width + level)))
        terms -= terms // 2
    return steps


def adder_tree(m: Module, terms: list[Value], name: str, pipe: Pipe | None = None) -> Value:
    """Sum of ``terms`` through a balanced tree of widening adders, one logic level each."""
    level = 0
    while len(terms) > 1:
        if pipe is not None:
            terms = pipe.logic(1, terms, f"{name}_l{level}")
        paired = []
        for k in range(0, len(terms) - 1, 2):
            total = terms[k] + terms[k + 1]
            sig = Signal(total.shape(), name=f"{name}_l{level}_{k // 2}")
            m.d.comb += sig.eq(total)
            paired.append(sig)
        if len(terms) % 2:
            paired.append(terms[-1])
        terms = paired
        level += 1
    return terms[0] if terms else Value.cast(0)
