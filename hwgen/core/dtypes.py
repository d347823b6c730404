"""Integer number formats shared by every part of hwgen.

A :class:`DType` names a set of integer *values* and the *code* (bit pattern)
that carries each value in hardware:

- ``bin``: values -1/+1, one bit, code 1 means +1;
- ``tern``: values -1/0/+1, two-bit two's complement code;
- ``intN``: N-bit two's complement (N = 2..32);
- ``uintN``: N-bit unsigned (N = 1..32).

Values are what the reference computes with; codes are what streams carry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

__all__ = ["DType"]

_NAME = re.compile(r"^(bin|tern|int(\d+)|uint(\d+))$")


@dataclass(frozen=True)
class DType:
    kind: str  # "bin", "tern", "int" or "uint"
    bits: int  # code width

    @classmethod
    def parse(cls, name: str | DType) -> DType:
        """Parse ``"bin"``, ``"tern"``, ``"int8"``, ``"uint4"``...; raise ValueError otherwise."""
        if isinstance(name, DType):
            return name
        match = _NAME.match(str(name))
        if match is None:
            raise ValueError(f"unknown dtype {name!r}; allowed: bin, tern, intN (N=2..32), "
                             "uintN (N=1..32)")
        if match[1] == "bin":
            return cls("bin", 1)
        if match[1] == "tern":
            return cls("tern", 2)
        if match[2] is not None:
            bits = int(match[2])
            if not 2 <= bits <= 32:
                raise ValueError(f"unknown dtype {name!r}; intN needs N = 2..32")
            return cls("int", bits)
        bits = int(match[3])
        if not 1 <= bits <= 32:
            raise ValueError(f"unknown dtype {name!r}; uintN needs N = 1..32")
        return cls("uint", bits)

    @property
    def name(self) -> str:
        return self.kind if self.kind in ("bin", "tern") else f"{self.kind}{self.bits}"

    def __str__(self) -> str:
        return self.name

    @property
    def signed(self) -> bool:
        """Whether the code is read as two's complement (bin is handled on its own)."""
        return self.kind in ("int", "tern")

    @property
    def min(self) -> int:
        if self.kind == "uint":
            return 0
        if self.kind in ("bin", "tern"):
            return -1
        return -(1 << (self.bits - 1))

    @property
    def max(self) -> int:
        if self.kind in ("bin", "tern"):
            return 1
        if self.kind == "uint":
            return (1 << self.bits) - 1
        return (1 << (self.bits - 1)) - 1

    def contains(self, values: np.ndarray) -> bool:
        """True when every element is a value of this dtype."""
        values = np.asarray(values)
        if values.size == 0:
            return True
        if self.kind == "bin":
            return bool(np.all((values == 1) | (values == -1)))
        return bool(values.min() >= self.min and values.max() <= self.max)

    def encode(self, values: np.ndarray) -> np.ndarray:
        """Values to codes (uint64), element by element."""
        values = np.asarray(values, dtype=np.int64)
        if self.kind == "bin":
            return (values > 0).astype(np.uint64)
        return (values & ((1 << self.bits) - 1)).astype(np.uint64)

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Codes to values (int64), element by element."""
        codes = np.asarray(codes, dtype=np.int64) & ((1 << self.bits) - 1)
        if self.kind == "bin":
            return np.where(codes == 1, 1, -1).astype(np.int64)
        if self.signed:
            return np.where(codes >= (1 << (self.bits - 1)), codes - (1 << self.bits), codes)
        return codes

