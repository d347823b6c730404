"""hwgen: quantized and binarized neural networks to bit-exact streaming hardware.

The Python API, for notebooks and scripts (the ``hwgen`` command calls the same functions;
every error they raise on purpose is a :class:`HwgenError` with a one-line message)::

    import hwgen
    graph = hwgen.load_graph("model.json")          # or hwgen.import_qonnx("m.onnx")[0]
    est = hwgen.estimate(graph, "icebreaker")       # Estimate: resources, cycles, fit
    folded = hwgen.fold(graph, "icebreaker").graph  # FoldResult
    built = hwgen.build(folded, "out", "icebreaker")  # BuildResult
    result = hwgen.simulate(built.out_dir, frames=20)  # SimResult, checked bit-exact
    small = hwgen.compress("digits-mlp", "prune", sparsity=0.5)  # CompressResult
    small.graph.save("pruned.json")  # and its accuracy_before, accuracy_after

``hwgen.compress`` is also the package of the compression methods (``hwgen.compress.prune``,
``.codebook``, ...); called, it runs :func:`hwgen.compress.compress`.

The package is layered; each layer imports only the ones below it (``lint-imports``
checks it): ``cli`` > ``compress`` > ``examples`` > ``frontends`` | ``sim`` > ``flows`` >
``analysis`` > ``ops`` > ``hw`` > ``reference`` > ``ir`` | ``boards`` > ``targets`` >
``core``.
"""

from hwgen import compress, ops, reference
from hwgen.analysis.estimate import Estimate, estimate
from hwgen.analysis.fold import FoldResult, fold
from hwgen.boards import Board, load_board
from hwgen.compress import CompressResult
from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError, HwgenError
from hwgen.core.version import __version__
from hwgen.flows.build import BuildResult, build
from hwgen.frontends.qonnx import load as import_qonnx
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph
from hwgen.sim.runner import SimResult, simulate

__all__ = ["Board", "BuildResult", "CompressResult", "DType", "Estimate", "FoldResult",
           "Graph", "GraphError", "HwgenError", "SimResult", "__version__", "build",
           "compress", "estimate", "fold", "import_qonnx", "load_board", "load_graph", "ops",
           "reference", "simulate"]
