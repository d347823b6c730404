"""Small constant tables indexed by a signal."""

from __future__ import annotations

import numpy as np
from amaranth import Array, Const, ShapeLike, Value

__all__ = ["lookup", "storage_attrs"]


def storage_attrs(storage: str) -> dict[str, str]:
    """Memory attributes that put a table in block RAM ("bram") or in logic ("logic")."""
    if storage not in ("logic", "bram"):
        raise ValueError(f"storage must be logic or bram, got {storage!r}")
    style = "block" if storage == "bram" else "logic"
    return {"rom_style": style, "ram_style": style}


def lookup(values: np.ndarray, index: Value, shape: ShapeLike) -> Value:
    """``values[index]`` as logic; a plain constant when every entry is the same."""
    if np.all(values == values[0]):
        return Const(int(values[0]), shape)
    return Array(Const(int(v), shape) for v in values)[index]
