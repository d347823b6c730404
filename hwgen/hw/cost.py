"""What a hardware block costs, in the features the estimator's fitted model weighs and in
exactly counted block RAMs and DSPs.

Every block describes itself with a ``cost(family)`` method built from the
helpers here (memories, products, adder trees); :mod:`hwgen.analysis.estimate` only adds
them up and applies the fitted constants. BRAM and DSP rules follow what each
family's Yosys script does (measured, see ``tests/analysis/test_estimate.py``).
"""

from __future__ import annotations

import json
import math
import os
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources as _res

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.formulas import signed_bits
from hwgen.core.resources import Resources
from hwgen.hw.primitives.pe import product_bounds
from hwgen.targets import FAMILIES

__all__ = [
    "FEATURES",
    "FF_FEATURES",
    "BlockCost",
    "Model",
    "bram_blocks",
    "const_dsps",
    "const_products",
    "dsps",
    "load_model",
    "log2",
    "memory",
    "products",
    "read_port",
    "rom_style",
    "shipped_model",
    "tree_bits",
    "tree_feature",
    "varying_bits",
]

FEATURES = ("xnor", "addsub", "mul", "tree", "dsp_tree", "acc", "cmp", "select", "reg", "mux",
            "rom", "lutram", "ram_ff", "ram_mux", "ctl", "blocks")
FF_FEATURES = ("reg", "ram_ff", "ctl", "blocks")  # the features that hold registers

def bram_blocks(width: int, depth: int, family: str, rom: bool = False) -> float:
    """Block RAMs for a ``width`` x ``depth`` memory: the cheapest tiling by one shape.

    A ROM narrower than a shape's word puts several entries side by side in a word, the
    high address bits selecting one (yosys on iCE40 and ECP5, measured: a DP16KD holds
    18,432 one-bit entries, an SB_RAM40_4K 4,096)."""
    fam = FAMILIES[family]
    if not fam.bram_shapes:
        return 0.0

    def tiles(w: int, d: int) -> int:
        if rom and fam.packs_narrow_rom and width < w:
            return math.ceil(depth / (d * (w // width)))
        return math.ceil(width / w) * math.ceil(depth / d)
    return min(tiles(w, d) * unit for (w, d), unit in fam.bram_shapes)


def lutram_luts(width: int, depth: int, family: str) -> float | None:
    """LUTs of an asynchronously read memory in LUT RAM (the cheapest tiling by one of the
    family's primitives), or None where it becomes flip-flops (no LUT RAM)."""
    prims = FAMILIES[family].lutram
    if not prims:
        return None
    return min(luts * math.ceil(depth / d) * math.ceil(width / w) for d, w, luts in prims)


def dsps(a_bits: int, b_bits: int, family: str) -> int:
    """DSP blocks of one multiplier with operands of these widths (0: built from LUTs)."""
    limits = FAMILIES[family].dsp_limits
    if limits is None:
        return 0
    least, amax, bmax = limits
    if a_bits + b_bits < max(least, 4) or min(a_bits, b_bits) < FAMILIES[family].dsp_min_operand:
        return 0
    a_bits, b_bits = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil(a_bits / amax) * math.ceil(b_bits / bmax)


def const_dsps(factors: list[int], family: str) -> int:
    """DSPs of address arithmetic: where the family's script maps a counter of two bits or
    more times a constant that is not a power of two to a multiplier (``const_mul_dsp``:
    ECP5's MULT18X18D); the others make shifts and adders of it. Callers list the constants
    whose counters are that wide."""
    if not FAMILIES[family].const_mul_dsp:
        return 0
    return sum(1 for c in factors if c > 1 and c & (c - 1))


def operand_bits(a: DType, w: DType) -> tuple[int, int]:
    """Operand widths of a * w as the multiplier sees them (unsigned gains a sign bit
    next to a signed operand)."""
    either = a.signed or w.signed
    return a.bits + (either and not a.signed), w.bits + (either and not w.signed)


def tree_bits(terms: int, width: int) -> int:
    """Adder bits of a balanced tree summing ``terms`` values of ``width`` bits."""
    bits, level = 0, 0
    while terms > 1:
        bits += (terms // 2) * (width + level + 1)
        terms = terms - terms // 2
        level += 1
    return bits


def varying_bits(codes: np.ndarray, bits: int) -> int:
    """Bit columns of a table (entries x lanes of ``bits``-bit codes) that are not the same
    in every entry; synthesis keeps only those in memory, the rest become constants."""
    codes = np.asarray(codes, np.int64) & ((1 << bits) - 1)
    planes = (codes[..., None] >> np.arange(bits)) & 1  # entries, lanes, bits
    return int(np.sum(planes.min(axis=0) != planes.max(axis=0)))


def log2(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


@dataclass
class BlockCost:
    """What one block costs: features for the fitted LUT/FF model, exact BRAM and DSP."""

    features: Counter = field(default_factory=Counter)
    bram: float = 0.0
    dsp: float = 0.0

    def __iadd__(self, other: BlockCost) -> BlockCost:
        self.features.update(other.features)
        self.bram += other.bram
        self.dsp += other.dsp
        return self


def memory(c: BlockCost, width: int, depth: int, family: str, *, storage: str,
            sync: bool, rom: bool = False) -> None:
    """Add one memory: block RAM, constants in logic, LUT RAM, or flip-flops. Without
    block RAM (generic gates) a block-RAM request becomes logic."""
    if width == 0:  # every entry the same: constants, no memory
        return
    if storage == "bram" and FAMILIES[family].bram_shapes:
        c.bram += bram_blocks(width, depth, family, rom)
        return
    if rom:  # constants in logic; yosys moves a read register to the address
        c.features["rom"] += width * max(1.0, depth / 2 ** FAMILIES[family].lut_inputs)
        c.features["reg"] += log2(depth) if sync else 0
        return
    luts = None if sync else lutram_luts(width, depth, family)
    if luts is None or depth == 1:
        c.features["ram_ff"] += width * depth
        c.features["ram_mux"] += width * (depth - 1)  # the read select
        c.features["reg"] += width if sync else 0
    else:
        c.features["lutram"] += luts
    c.features["ctl"] += log2(depth)


def read_port(c: BlockCost, width: int, depth: int, family: str, *, storage: str) -> None:
    """Add a further synchronous read port of a memory :func:`memory` counted: block RAM
    is copied (a block reads at one address), flip-flops gain only a read select and its
    register."""
    if storage == "bram" and FAMILIES[family].bram_shapes:
        c.bram += bram_blocks(width, depth, family)
        return
    c.features["ram_mux"] += width * (depth - 1)
    c.features["reg"] += width


def tree_feature(a: DType, w: DType, family: str) -> str:
    """The feature an adder tree over products a*w counts in: "dsp_tree" where the products
    come from DSP blocks, whose own adders (iCE40, Xilinx) yosys packs part of the tree
    into."""
    plain = "bin" in (a.kind, w.kind) or "tern" in (a.kind, w.kind)
    return "tree" if plain or not dsps(*operand_bits(a, w), family) else "dsp_tree"


def products(c: BlockCost, lanes: int, a: DType, w: DType, family: str) -> int:
    """Add ``lanes`` products a*w; return the product width."""
    width = signed_bits(*product_bounds(a, w))
    if "bin" in (a.kind, w.kind) or "tern" in (a.kind, w.kind):
        c.features["addsub"] += lanes * width
        return width
    dsp = dsps(*operand_bits(a, w), family)
    if dsp:
        c.dsp += lanes * dsp
    else:
        c.features["mul"] += lanes * a.bits * w.bits
    return width


def naf_digits(n: int) -> int:
    """Nonzero digits of |n| in non-adjacent form (signed binary with no two adjacent
    nonzero digits): a multiplier by the constant n is that many shifted terms."""
    n = abs(int(n))
    half = n >> 1
    three_halves, changed = n + half, (n >> 1) ^ (n + half)
    return bin(three_halves & changed).count("1") + bin(half & changed).count("1")


def const_products(c: BlockCost, weights: np.ndarray, a: DType, w: DType,
                   family: str) -> tuple[int, np.ndarray]:
    """Add the products of one input each by constant weights (lanes x terms of values),
    as synthesis folds them; return the product width and the adder-tree terms per lane.

    A zero weight leaves no product and no tree term; a binary input picks one of two
    constants (free), a ternary one of three; a multi-bit input takes one adder per
    nonzero weight digit after the first, and one to negate. Multipliers that go to DSP
    blocks stay whole: yosys maps them before the weight memory becomes constants."""
    width = signed_bits(*product_bounds(a, w))
    lanes, terms = weights.shape
    if "bin" not in (a.kind, w.kind) and "tern" not in (a.kind, w.kind):
        dsp = dsps(*operand_bits(a, w), family)
        if dsp:
            c.dsp += weights.size * dsp
            return width, np.full(lanes, terms)
    nonzero = weights != 0
    if a.kind == "tern":
        c.features["mux"] += int(nonzero.sum()) * width
    elif a.kind != "bin":
        digits = np.vectorize(naf_digits, otypes=[np.int64])(weights)
        adders = np.maximum(digits - 1, 0) + (weights < 0)
        c.features["addsub"] += int(adders.sum()) * width
    return width, nonzero.sum(axis=1)


def rom_style(attrs: dict[str, str]) -> str:
    """"bram" or "logic", from a memory's storage attributes."""
    return "bram" if attrs["rom_style"] == "block" else "logic"


@dataclass(frozen=True)
class Model:
    """Fitted constants: per family, LUTs and FFs per unit of each feature."""

    coefficients: dict[str, dict[str, dict[str, float]]]
    source: str

    def resources(self, cost: BlockCost, family: str) -> Resources:
        try:
            fam = self.coefficients[family]
        except KeyError:
            raise ValueError(f"the estimate model has no constants for family {family!r}; "
                             "run bench/calibrate.py") from None
        lut = sum(fam["lut"].get(k, 0.0) * v for k, v in cost.features.items())
        ff = sum(fam["ff"].get(k, 0.0) * v for k, v in cost.features.items())
        return Resources(round(lut), round(ff), cost.bram, cost.dsp)


def load_model(path: str | None = None) -> Model:
    """The fitted model shipped with hwgen (or one written by ``bench/calibrate.py``)."""
    if path is None:
        text = (_res.files("hwgen.targets") / "estimate_model.json").read_text()
        path = "hwgen/targets/estimate_model.json"
    else:
        with open(path) as fh:
            text = fh.read()
    doc = json.loads(text)
    return Model(doc["coefficients"], path)


@cache
def shipped_model() -> Model:
    """The model shipped with hwgen, read once: blocks that choose between two forms of
    themselves ask it which is smaller. ``$HWGEN_FORMS_MODEL`` names another model file
    for that choice: ``bench/calibrate.py`` pins the one the measurements were taken with,
    so that refitting them sees the forms that were synthesized."""
    return load_model(os.environ.get("HWGEN_FORMS_MODEL"))
