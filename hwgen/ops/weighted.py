"""What dense and conv2d layers share: integer weights, bias, activation, PE/SIMD folding,
and where their constant tables live."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.formulas import AccBounds, acc_bounds, slot_bits
from hwgen.core.limits import MAX_ACC_BITS, MAX_IO_BITS, MAX_WORD_BITS, STORAGES
from hwgen.ir.activations import Requant, Threshold, activation_from_json, activation_to_json
from hwgen.ir.layer import Arrays, Layer, Tensor, check_in_dtype, int_array, parse_dtype
from hwgen.ops.activation import apply, check_activation

__all__ = ["AUTO_BRAM_BITS", "MAX_CODEBOOK", "Sparsity", "Weighted", "divisors"]

AUTO_BRAM_BITS = 16384  # "auto" weight storage: block RAM from this many weight bits up
MAX_CODEBOOK = 256  # entries of a weight codebook: indices of at most 8 bits


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class Sparsity:
    """N:M structured sparsity: in every row of the weights, each group of ``m`` consecutive
    inputs (in the layer's input order, channels-last: a conv's (ky, kx, c)) holds at most
    ``n`` non-zero weights. The weights keep every value, zeros included, so the reference
    does not change; a pruned position holds 0 whatever the weight dtype (a ``bin`` layer
    holds -1, +1 and 0: the dtype describes the weights that are kept)."""

    n: int
    m: int

    @classmethod
    def from_json(cls, where: str, spec: object) -> Sparsity:
        if not (isinstance(spec, dict) and set(spec) == {"n", "m"}
                and all(type(v) is int for v in spec.values())):
            raise GraphError(f"{where}: sparsity must be {{\"n\": N, \"m\": M}} with integers "
                             f"1 <= N < M, got {spec!r}")
        return cls(spec["n"], spec["m"])

    def to_json(self) -> dict[str, int]:
        return {"n": self.n, "m": self.m}

    def __str__(self) -> str:
        return f"{self.n}:{self.m}"

    @classmethod
    def parse(cls, text: str) -> Sparsity:
        """``"N:M"`` (``hwgen compress --pattern 2:4``); ValueError says what is allowed."""
        n, _, m = str(text).partition(":")
        if not (n.isdigit() and m.isdigit() and 1 <= int(n) < int(m)):
            raise ValueError(f"pattern must be N:M with integers 1 <= N < M (2:4, 1:4), "
                             f"got {text!r}")
        return cls(int(n), int(m))

    def slot_counts(self, size: int) -> list[int]:
        """The SIMD values (weight slots a cycle, N a group) whose input beats of SIMD*M/N
        elements divide ``size`` features or channels: none where M does not divide it."""
        return [e * self.n // self.m for e in divisors(size) if e % self.m == 0]

    def nearest_simd(self, size: int, simd: int) -> int | None:
        """The slot count for ``size`` inputs closest to a dense layer's ``simd`` (the same
        lanes where it can; the fewer on a tie); None where none fits."""
        counts = self.slot_counts(size)
        return min(counts, key=lambda c: (abs(c - simd), c)) if counts else None

    def keep(self, magnitude: np.ndarray) -> np.ndarray:
        """The pattern's mask for weights of ``magnitude`` (rows, inputs channels-last):
        in every group of M inputs of a row the N largest, the earlier one on a tie."""
        rows = np.asarray(magnitude).reshape(len(magnitude), -1, self.m)
        order = np.argsort(-rows, axis=2, kind="stable")[:, :, :self.n]
        mask = np.zeros(rows.shape, bool)
        np.put_along_axis(mask, order, True, axis=2)
        return mask.reshape(np.shape(magnitude))


@dataclass
class Weighted(Layer):
    """A dense or conv layer: integer weights, optional bias and activation, folding."""

    weight_dtype: DType = field(default_factory=lambda: DType("bin", 1))
    weights: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64), repr=False)
    bias: np.ndarray | None = field(default=None, repr=False)
    activation: Threshold | Requant | None = None
    pe: int = 1
    simd: int = 1
    weight_storage: str = "auto"  # logic (constants in LUTs), bram (block RAM), auto (by size)
    # Shared weights: the distinct values every weight is one of, ascending; hardware stores
    # each weight as an index into it (index_bits) and decodes it in the PE.
    codebook: np.ndarray | None = field(default=None, repr=False)
    sparsity: Sparsity | None = None  # N:M structured sparsity of the weights' rows
    # the matrix unit's replays skip input slices that were all zero: data-dependent
    # cycles, the formula's at worst
    zero_skip: bool = False
    bounds: AccBounds | None = field(default=None, init=False, repr=False)
    folds: ClassVar[tuple[str, ...]] = ("pe", "simd")
    count_field: ClassVar[str] = ""  # "units" or "channels": the JSON name of the row count

    @property
    def channels(self) -> int:
        return int(self.weights.shape[0])

    @property
    def acc_bits(self) -> int:
        return self.bounds.out_bits

    @property
    def acc_range(self) -> tuple[int, int]:
        return self.bounds.out

    @classmethod
    def common_from_spec(cls, where: str, spec: dict, arrays: Arrays) -> dict[str, Any]:
        weights = arrays.get(where, spec, "weights")
        common = dict(weight_dtype=parse_dtype(where, spec.pop("weight_dtype", None),
                                                "weight_dtype"),
                      weights=weights, bias=arrays.get(where, spec, "bias", optional=True),
                      pe=spec.pop("pe", 1), weight_storage=spec.pop("weight_storage", "auto"),
                      codebook=arrays.get(where, spec, "codebook", optional=True))
        sparsity = spec.pop("sparsity", None)
        simd = spec.pop("simd", None)
        if sparsity is not None:
            common["sparsity"] = sparsity = Sparsity.from_json(where, sparsity)
        # SIMD counts weight slots; by default one input, or with sparsity one group's N
        common["simd"] = simd if simd is not None else sparsity.n if sparsity else 1
        common["zero_skip"] = spec.pop("zero_skip", False)
        act = spec.pop("activation", None)
        if act is not None:
            common["activation"] = activation_from_json(where, act, arrays)
        count = spec.pop(cls.count_field, None)
        if count is not None and count != np.shape(weights)[0]:
            raise GraphError(f"{where}: {cls.count_field}={count} but weights have "
                             f"{np.shape(weights)[0]} rows")
        return common

    def common_spec(self, out: dict[str, np.ndarray]) -> dict:
        spec: dict[str, Any] = {"weight_dtype": self.weight_dtype.name,
                                "weights": f"{self.name}.w"}
        out[f"{self.name}.w"] = self.weights
        if self.bias is not None:
            out[f"{self.name}.b"] = self.bias
            spec["bias"] = f"{self.name}.b"
        if self.activation is not None:
            spec["activation"] = activation_to_json(self.activation, self.name, out)
        if self.codebook is not None:
            out[f"{self.name}.cb"] = self.codebook
            spec["codebook"] = f"{self.name}.cb"
        if self.sparsity is not None:
            spec["sparsity"] = self.sparsity.to_json()
        if self.zero_skip:
            spec["zero_skip"] = True
        spec.update(pe=self.pe, simd=self.simd, weight_storage=self.weight_storage)
        return spec

    def _check_weights(self, x: Tensor, shape: tuple[int, ...]) -> None:
        where = self.where
        self.weight_dtype = parse_dtype(where, self.weight_dtype, "weight_dtype")
        if self.weight_storage not in STORAGES:
            raise GraphError(f"{where}: weight_storage {self.weight_storage!r} unknown; "
                             f"allowed: {', '.join(STORAGES)}")
        self.weights = int_array(where, "weights", self.weights, shape)
        if self.sparsity is not None:  # pruned zeros whatever the dtype: checked there
            self._check_sparsity()
        else:
            check_in_dtype(where, "weights", self.weights, self.weight_dtype)
        if self.codebook is not None:
            self._check_codebook()
        if type(self.zero_skip) is not bool:
            raise GraphError(f"{where}: zero_skip must be true or false, got "
                             f"{self.zero_skip!r}")
        if self.zero_skip and x.dtype.kind == "bin":
            raise GraphError(f"{where}: zero_skip skips input slices that are all zero; "
                             f"{x.dtype} inputs hold no 0 (allowed: uint, int, tern inputs)")
        if self.bias is not None:
            self.bias = int_array(where, "bias", self.bias, (shape[0],))
        # acc_bounds works in int64, where a worst case past 2^63 would wrap into a range
        # that looks small. A row's dot product spans at least sum|w| * max|x| and a bias
        # of 2^62 or more is past any 62-bit accumulator, so either one this large is
        # refused exactly when the accumulator would be (exact Python integers here).
        in_mag = max(-x.dtype.min, x.dtype.max)
        row_mag = int(np.abs(self.weights.reshape(shape[0], -1)).sum(axis=1).max())
        bias_mag = 0 if self.bias is None else max(-int(self.bias.min()), int(self.bias.max()))
        if max(row_mag * in_mag, bias_mag) >= 1 << MAX_ACC_BITS:
            raise GraphError(f"{where}: accumulator range needs more than {MAX_ACC_BITS} bits "
                             f"(weights up to {row_mag:,} in a row times inputs up to "
                             f"{in_mag:,}, bias up to {bias_mag:,} in magnitude)")
        self.bounds = acc_bounds(self.weights, x.dtype, self.bias)
        lo, hi = self.bounds.out
        if max(self.bounds.dot_bits, self.bounds.out_bits) > MAX_ACC_BITS:
            raise GraphError(f"{where}: accumulator range {lo}..{hi} needs more than "
                             f"{MAX_ACC_BITS} bits")
        check_activation(where, self.activation, shape[0], self.bounds.out)

    def _check_sparsity(self) -> None:
        where, sp = self.where, self.sparsity
        if isinstance(sp, dict):
            sp = self.sparsity = Sparsity.from_json(where, sp)
        if not isinstance(sp, Sparsity) or type(sp.n) is not int or type(sp.m) is not int:
            raise GraphError(f"{where}: sparsity must be Sparsity(n, m) with integers, got "
                             f"{sp!r}")
        if not 1 <= sp.n < sp.m:
            raise GraphError(f"{where}: sparsity {sp} needs 1 <= N < M")
        rows = self.weights.reshape(self.weights.shape[0], -1)
        if rows.shape[1] % sp.m:
            raise GraphError(f"{where}: sparsity {sp}: M={sp.m} must divide the "
                             f"{rows.shape[1]} weights of a row")
        if self.codebook is not None:
            raise GraphError(f"{where}: sparsity with a codebook is not supported; allowed: "
                             "one or the other")
        kept = self.weights[self.weights != 0]
        check_in_dtype(where, "weights", kept, self.weight_dtype)
        counts = np.count_nonzero(rows.reshape(rows.shape[0], -1, sp.m), axis=2)
        if counts.max() > sp.n:
            row, group = (int(k) for k in np.argwhere(counts > sp.n)[0])
            raise GraphError(f"{where}: sparsity {sp}: row {row}, inputs {group * sp.m}.."
                             f"{group * sp.m + sp.m - 1} hold {int(counts[row, group])} "
                             f"non-zero weights; at most {sp.n}")

    def _check_codebook(self) -> None:
        where = self.where
        book = self.codebook = int_array(where, "codebook", self.codebook, None)
        if book.ndim != 1 or not 2 <= book.size <= MAX_CODEBOOK:
            raise GraphError(f"{where}: codebook must be a list of 2..{MAX_CODEBOOK} values, "
                             f"got shape {list(book.shape)}")
        if np.any(np.diff(book) <= 0):
            raise GraphError(f"{where}: codebook values must be distinct and ascending")
        check_in_dtype(where, "codebook", book, self.weight_dtype)
        outside = ~np.isin(self.weights, book)
        if outside.any():
            raise GraphError(f"{where}: weight {int(self.weights[outside][0])} is not in the "
                             f"codebook ({', '.join(map(str, book.tolist()))})")

    @property
    def index_bits(self) -> int:
        """Bits a stored weight takes: its codebook index, or its own code."""
        if self.codebook is None:
            return self.weight_dtype.bits
        return max(1, (len(self.codebook) - 1).bit_length())

    @property
    def pattern(self) -> tuple[int, int] | None:
        """(N, M) of the sparsity, for the matrix unit."""
        return None if self.sparsity is None else (self.sparsity.n, self.sparsity.m)

    @property
    def slot_bits(self) -> int:
        """Bits the matrix unit stores per weight slot (:func:`formulas.slot_bits`): with
        N:M sparsity the position too, and a skip bit where a binary row has a group with
        fewer than N non-zeros."""
        sp = self.sparsity
        if sp is None:
            return self.index_bits
        groups = self.weights.reshape(self.weights.shape[0], -1, sp.m)
        skip = self.weight_dtype.kind == "bin" and bool(
            (np.count_nonzero(groups, axis=2) < sp.n).any())
        return slot_bits(self.index_bits, sp.m, skip)

    def in_elems(self, simd: int) -> int:
        """Inputs a beat at ``simd``: SIMD, or with N:M sparsity SIMD*M/N (SIMD counts
        weight slots, N of them a group of M inputs)."""
        sp = self.sparsity
        return simd if sp is None else simd * sp.m // sp.n

    def kept(self, cols: int) -> int:
        """Weight slots of a row of ``cols`` inputs: all, or with N:M sparsity cols*N/M."""
        sp = self.sparsity
        return cols if sp is None else cols * sp.n // sp.m

    def simd_candidates(self, size: int) -> list[int]:
        """The SIMD values whose input beats divide ``size`` (features or channels)."""
        return divisors(size) if self.sparsity is None else self.sparsity.slot_counts(size)

    def simd_error(self, simd: int, size: int, what: str) -> str | None:
        """Why ``simd`` cannot fold inputs of ``size`` ``what``, or None."""
        sp = self.sparsity
        if sp is None:
            return None if size % simd == 0 else f"simd={simd} must divide the {size} {what}"
        if simd % sp.n:
            return (f"simd={simd} must be a multiple of N={sp.n} (sparsity {sp}: SIMD counts "
                    "weight slots, N a group)")
        if size % self.in_elems(simd):
            return (f"simd={simd} takes {self.in_elems(simd)} inputs a beat (sparsity {sp}), "
                    f"which must divide the {size} {what}")
        return None

    def word_error(self, x: Tensor, pe: int, simd: int, lanes: int,
                   in_elems: int) -> str | None:
        """Why a folding makes a word wider than hardware may have (a weight ROM word of
        ``lanes`` weights, an input beat of ``in_elems``, an output beat of PE
        accumulators), or None."""
        words = (("weight word", lanes * self.slot_bits),
                 ("input beat", in_elems * x.dtype.bits),
                 ("output beat", pe * self.bounds.out_bits))
        for what, bits in words:
            if bits > MAX_WORD_BITS:
                return (f"pe={pe}, simd={simd} make a {what} of {bits:,} bits; at most "
                        f"{MAX_WORD_BITS:,} (fold it less parallel)")
        return None

    def out_dtype(self) -> DType:
        if self.activation is not None:
            return self.activation.dtype
        if self.bounds.out_bits > MAX_IO_BITS:
            raise GraphError(f"{self.where}: raw accumulator output needs {self.bounds.out_bits} "
                             f"bits, more than int{MAX_IO_BITS}; add a threshold or requant "
                             "activation")
        return DType("int", self.bounds.out_bits)

    def activate(self, acc: np.ndarray) -> np.ndarray:
        return apply(self.activation, acc if self.bias is None else acc + self.bias)

    @property
    def storage(self) -> str:
        """Where the weights live: as asked, or for "auto" block RAM once they are large."""
        if self.weight_storage != "auto":
            return self.weight_storage
        bits = self.kept(self.weights.size) * self.slot_bits
        return "bram" if bits >= AUTO_BRAM_BITS else "logic"
