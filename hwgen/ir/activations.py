"""The activations a layer may end with: multi-threshold and the requantizer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.limits import MAX_ACC_BITS
from hwgen.ir.layer import Arrays, int_array, no_extra, parse_dtype

__all__ = ["Activation", "Requant", "Threshold", "activation_from_json", "activation_to_json"]


@dataclass
class Threshold:
    """Multi-threshold: c = #{k : acc >= thresholds[ch, k]}; out = dtype.min + c (bin: 2c - 1)."""

    dtype: DType
    thresholds: np.ndarray = field(repr=False)  # (channels, levels - 1), non-decreasing rows
    op: ClassVar[str] = "threshold"

    @staticmethod
    def count(dtype: DType) -> int:
        """Thresholds per channel for an output dtype."""
        return 1 if dtype.kind == "bin" else dtype.max - dtype.min

    def check(self, where: str, channels: int) -> None:
        self.dtype = parse_dtype(where, self.dtype, "threshold dtype")
        if self.dtype.bits > 8:
            raise GraphError(f"{where}: threshold output {self.dtype} has too many levels; "
                             "allowed: bin, tern, intK/uintK with K <= 8 (use requant for wider)")
        count = self.count(self.dtype)
        self.thresholds = int_array(where, "thresholds", self.thresholds, (channels, count))
        if np.any(np.diff(self.thresholds, axis=1) < 0):
            row = int(np.nonzero(np.any(np.diff(self.thresholds, axis=1) < 0, axis=1))[0][0])
            raise GraphError(f"{where}: thresholds must be sorted ascending per channel "
                             f"(channel {row} is not)")

    def apply(self, acc: np.ndarray) -> np.ndarray:
        """acc (..., channels) -> output values (int64)."""
        c = (acc[..., :, None] >= self.thresholds).sum(axis=-1).astype(np.int64)
        return 2 * c - 1 if self.dtype.kind == "bin" else c + self.dtype.min


@dataclass
class Requant:
    """y = clamp((acc * m + ((1 << s) >> 1)) >> s) to the dtype's range, m and s per channel."""

    dtype: DType
    m: np.ndarray = field(repr=False)  # (channels,)
    s: np.ndarray = field(repr=False)  # (channels,), 0..62
    op: ClassVar[str] = "requant"

    def check(self, where: str, channels: int) -> None:
        self.dtype = parse_dtype(where, self.dtype, "requant dtype")
        if self.dtype.kind not in ("int", "uint"):
            raise GraphError(f"{where}: requant output must be intN or uintN, got {self.dtype}")
        self.m = int_array(where, "requant m", self.m, (channels,))
        self.s = int_array(where, "requant s", self.s, (channels,))
        if self.s.min() < 0 or self.s.max() > MAX_ACC_BITS:
            raise GraphError(f"{where}: requant s must be in 0..{MAX_ACC_BITS}")

    def apply(self, acc: np.ndarray) -> np.ndarray:
        y = (acc * self.m + ((1 << self.s) >> 1)) >> self.s
        return np.clip(y, self.dtype.min, self.dtype.max)


Activation = Threshold | Requant


def activation_from_json(where: str, spec: dict, arrays: Arrays) -> Activation:
    spec = dict(spec)
    op = spec.pop("op", None)
    if op == "threshold":
        act = Threshold(parse_dtype(where, spec.pop("dtype", "bin"), "threshold dtype"),
                        arrays.get(where, spec, "thresholds"))
    elif op == "requant":
        act = Requant(parse_dtype(where, spec.pop("dtype", None), "requant dtype"),
                      arrays.get(where, spec, "m"), arrays.get(where, spec, "s"))
    else:
        raise GraphError(f"{where}: unknown activation op {op!r}; allowed: threshold, requant")
    no_extra(f"{where} activation", spec)
    return act


def activation_to_json(act: Activation, name: str, out: dict[str, np.ndarray]) -> dict:
    if isinstance(act, Threshold):
        out[f"{name}.t"] = act.thresholds
        return {"op": "threshold", "dtype": act.dtype.name, "thresholds": f"{name}.t"}
    out[f"{name}.m"], out[f"{name}.s"] = act.m, act.s
    return {"op": "requant", "dtype": act.dtype.name, "m": f"{name}.m", "s": f"{name}.s"}


