"""Small constant tables indexed by a signal."""

from __future__ import annotations

import numpy as np
from amaranth import Array, Const, ShapeLike, Value

__all__ = ["lookup"]


def lookup(values: np.ndarray, index: Value, shape: ShapeLike) -> Value:
    """``values[index]`` as logic; a plain constant when every entry is the same."""
    if np.all(values == values[0]):
        return Const(int(values[0]), shape)
    return Array(Const(int(v), shape) for v in values)[index]
