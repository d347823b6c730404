"""Every op hwgen knows, one module each, and the registry that maps op names to them.

Adding an op is one new module here (a :class:`hwgen.ir.Layer` subclass) and
its entry in ``REGISTRY``; the rest of hwgen dispatches through the class.
"""

from __future__ import annotations

from ..ir import Layer
from .add import Add
from .argmax import ArgMax
from .concat import Concat
from .conv2d import Conv2d
from .dense import Dense
from .global_sum_pool import GlobalSumPool
from .maxpool2d import MaxPool2d

__all__ = ["REGISTRY", "Add", "ArgMax", "Concat", "Conv2d", "Dense", "GlobalSumPool",
           "MaxPool2d"]

REGISTRY: dict[str, type[Layer]] = {cls.op: cls for cls in (
    Dense, Conv2d, MaxPool2d, GlobalSumPool, Add, Concat, ArgMax)}
