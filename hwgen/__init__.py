"""hwgen: quantized and binarized neural networks to bit-exact streaming hardware."""

from . import reference
from .dtypes import DType
from .ir import Graph, GraphError, load_graph

__all__ = ["DType", "Graph", "GraphError", "load_graph", "reference"]
__version__ = "0.1.0"
