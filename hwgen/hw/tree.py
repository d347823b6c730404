"""Balanced adder trees: every level is a named Signal, so conversion never recurses
deeply and no sub-expression is emitted twice."""

from __future__ import annotations

from amaranth import Module, Signal, Value

__all__ = ["adder_tree"]


def adder_tree(m: Module, terms: list[Value], name: str) -> Value:
    """Sum of ``terms`` (combinational) through a balanced tree of widening adders."""
    level = 0
    while len(terms) > 1:
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


