"""hwgen: quantized and binarized neural networks to bit-exact streaming hardware.

The package is layered; each layer imports only the ones below it (``lint-imports``
checks it): ``cli`` > ``examples`` > ``compress`` > ``frontends`` | ``sim`` > ``flows`` >
``analysis`` > ``ops`` > ``hw`` > ``reference`` > ``ir`` | ``boards`` > ``targets`` >
``core``. Every error hwgen raises on purpose is a :class:`HwgenError`.
"""

__version__ = "0.1.0"

from hwgen import ops, reference  # after the version: flows read it
from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError, HwgenError
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph

__all__ = ["DType", "Graph", "GraphError", "HwgenError", "load_graph", "ops", "reference"]
