"""Every op hwgen knows, one module each, registered by name.

Adding an op is one new module here (a :class:`hwgen.ir.layer.Layer` subclass decorated
with :func:`hwgen.ir.registry.register`) and its import below; the rest of hwgen dispatches
through the class.
"""

from hwgen.ir.registry import OPS as REGISTRY
from hwgen.ops.add import Add
from hwgen.ops.argmax import ArgMax
from hwgen.ops.avgpool2d import AvgPool2d
from hwgen.ops.concat import Concat
from hwgen.ops.conv2d import Conv2d
from hwgen.ops.dense import Dense
from hwgen.ops.global_sum_pool import GlobalSumPool
from hwgen.ops.maxpool2d import MaxPool2d
from hwgen.ops.weighted import Sparsity

__all__ = ["REGISTRY", "Add", "ArgMax", "AvgPool2d", "Concat", "Conv2d", "Dense",
           "GlobalSumPool", "MaxPool2d", "Sparsity"]
