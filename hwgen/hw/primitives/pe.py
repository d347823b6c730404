"""The fixed-point datapath of one PE lane: SIMD products summed by an adder tree."""

from __future__ import annotations

from amaranth import Module, Mux, Signal, Value, signed
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from hwgen.core.dtypes import DType
from hwgen.core.formulas import product_levels, signed_bits
from hwgen.hw.primitives.pipe import UNLIMITED, Pipe, register_bits, registers
from hwgen.hw.primitives.streams import element_shape
from hwgen.hw.primitives.tree import adder_tree, tree_levels, tree_steps

__all__ = ["DotPE", "product", "product_bounds"]


def product_bounds(a: DType, w: DType) -> tuple[int, int]:
    """Range of one product a*w over both dtypes' ranges."""
    corners = [x * y for x in (a.min, a.max) for y in (w.min, w.max)]
    return min(corners), max(corners)


def times(x: Value, w: Value, w_dtype: DType) -> Value:
    """x times the weight carried by code ``w``: add/sub for bin and tern, else a multiplier."""
    if w_dtype.kind == "bin":
        return Mux(w, x, -x)
    if w_dtype.kind == "tern":
        return Mux(w[0], Mux(w[1], -x, x), 0)
    return x * w


def value_of(code: Value, dtype: DType) -> Value:
    """The signed value of a bin code (others already carry their value)."""
    return Mux(code, 1, -1) if dtype.kind == "bin" else code


def product(a: Value, a_dtype: DType, w: Value, w_dtype: DType) -> Value:
    """The product of codes ``a`` and ``w``; a binary or ternary side becomes add/sub."""
    if w_dtype.kind in ("bin", "tern") or a_dtype.kind not in ("bin", "tern"):
        return times(value_of(a, a_dtype), w, w_dtype)
    return times(value_of(w, w_dtype), a, a_dtype)


class DotPE(wiring.Component):
    """Dot product of SIMD input values with SIMD weight values, for integer formats.

    ``levels`` bounds the logic levels between registers (``used`` of them spent before
    the inputs arrive); ``latency`` registers, loaded when ``en`` is high, keep to it.

    Members: ``a`` (In, SIMD input codes), ``w`` (In, SIMD weight codes), ``en`` (In),
    ``o`` (Out, signed sum, wide enough for every input and weight of the dtypes).
    """

    def __init__(self, simd: int, in_dtype: DType, w_dtype: DType, levels: int = UNLIMITED,
                 used: int = 0):
        self.simd, self.in_dtype, self.w_dtype = simd, in_dtype, w_dtype
        self.levels, self.used = levels, used
        steps = [product_levels(in_dtype, w_dtype)] + [1] * tree_levels(simd)
        self.latency = registers(steps, levels, used)
        lo, hi = product_bounds(in_dtype, w_dtype)
        width = signed_bits(lo, hi)
        self.register_bits = register_bits(
            [(steps[0], simd * (in_dtype.bits + w_dtype.bits)), *tree_steps(simd, width)],
            levels, used)
        super().__init__({
            "a": In(data.ArrayLayout(element_shape(in_dtype), simd)),
            "w": In(data.ArrayLayout(element_shape(w_dtype), simd)),
            "en": In(1),
            "o": Out(signed(signed_bits(simd * lo, simd * hi))),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        pipe = Pipe(m, self.en, self.levels, self.used)
        a, w = pipe.logic(product_levels(self.in_dtype, self.w_dtype), [self.a, self.w], "in")
        a, w = self.a.shape()(a), self.w.shape()(w)
        terms = []
        for k in range(self.simd):
            term = Signal(signed(signed_bits(*product_bounds(self.in_dtype, self.w_dtype))),
                          name=f"prod{k}")
            m.d.comb += term.eq(product(a[k], self.in_dtype, w[k], self.w_dtype))
            terms.append(term)
        m.d.comb += self.o.eq(adder_tree(m, terms, "sum", pipe))
        return m
