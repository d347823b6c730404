"""The op classes by name: :mod:`hwgen.ops` registers each of its modules here, and the
codec looks an op up by the name a graph file gives. Adding an op is one module in
:mod:`hwgen.ops` and one line in its ``__init__``."""

from __future__ import annotations

from hwgen.ir.layer import Layer

__all__ = ["OPS", "register"]

OPS: dict[str, type[Layer]] = {}


def register(cls: type[Layer]) -> type[Layer]:
    """Class decorator: make ``cls`` the op named ``cls.op``."""
    if not cls.op or cls.op in OPS:
        raise ValueError(f"op name {cls.op!r} of {cls.__name__} is empty or taken")
    OPS[cls.op] = cls
    return cls
