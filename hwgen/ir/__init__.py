"""The intermediate representation between front ends and back ends: layers (the protocol
every op implements), activations, the graph, its file codec and the plan's records.

The names a script needs are here; each lives in the module named in its docstring.
"""

from hwgen.core.errors import GraphError
from hwgen.ir.activations import Activation, Requant, Threshold
from hwgen.ir.codec import FORMAT, load_graph
from hwgen.ir.graph import INPUT, Graph
from hwgen.ir.layer import Layer, Tensor
from hwgen.ir.plan import LayerPlan, Plan

__all__ = ["FORMAT", "INPUT", "Activation", "Graph", "GraphError", "Layer", "LayerPlan",
           "Plan", "Requant", "Tensor", "Threshold", "load_graph"]
