"""QONNX import: a Brevitas / QONNX model to an exact hwgen :class:`~hwgen.ir.graph.Graph`.

The importer walks the ONNX graph (after qonnx's own cleanup) from its input and
keeps, for every tensor, what it is in integer terms (:mod:`.state`):

- *codes*: an hwgen tensor whose real value is ``code value x scale`` (the output
  of a quantizer, a pool, a concat);
- an *accumulator*: the integer output of an hwgen layer (dense, conv2d, add)
  followed by a float "tail" (scales, batch-norm, bias, ReLU...). The tail is
  monotone in the integer accumulator, so the quantizer that ends it becomes
  thresholds: for every output level, the least accumulator whose tail, evaluated
  in float32 as the exporter evaluates it, quantizes to at least that level.

The walk (:mod:`.walk`) hands each node to the handler its op type names in
:data:`~.walk.HANDLERS`; the handlers live by category: :mod:`.quantizers`,
:mod:`.weighted`, :mod:`.elementwise`, :mod:`.pooling`, :mod:`.shape`. A handler is
``handler(state, node, where) -> str``: it reads its inputs with ``state.get``, records its
output in ``state.values`` (``state.emit`` for quantized codes), adds any layer with
``state.add_layer``, and returns what the node became, a row of the report. It raises
:class:`QonnxError` with one line that starts with ``where`` (the node). Supporting a new
ONNX op is a function in its category's module and one line in the table.

Layout: ONNX is NCHW, hwgen channels-last. Conv weights are permuted, and the dense
weights after a flatten of an NCHW tensor get their columns reordered, so the graph
computes the same as the model on the same image.

Limits (each a one-line :class:`QonnxError` naming the node): zero padding of a
bipolar input (0 is not a ``bin`` value) is refused; an add of tensors that are not
both quantized at one scale, and ``Trunc`` anywhere but after a global average pool,
are not supported.
"""

from hwgen.core.errors import QonnxError
from hwgen.frontends.qonnx.state import ImportReport
from hwgen.frontends.qonnx.walk import load

__all__ = ["ImportReport", "QonnxError", "load"]
