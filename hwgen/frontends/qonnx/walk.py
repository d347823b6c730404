"""The walk: every node of the ONNX graph (after qonnx's cleanup), in order, through the
handler :data:`HANDLERS` names for its op type; then the graph output and the Graph."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError, QonnxError
from hwgen.frontends.qonnx import elementwise, pooling, quantizers, shape, weighted
from hwgen.frontends.qonnx.state import (
    PRE,
    Acc,
    Codes,
    Handler,
    ImportReport,
    ImportState,
    jsonable,
)
from hwgen.ir.graph import Graph

__all__ = ["HANDLERS", "load"]

QUANTIZERS = ("Quant", "BipolarQuant", "MultiThreshold")
# output ops that do not change which class is largest: refused with that advice
MONOTONE_OUTPUTS = ("Softmax", "LogSoftmax", "Sigmoid")

HANDLERS: dict[str, Handler] = {  # ONNX op type -> the handler that imports it
    # quantizers
    "Quant": quantizers.quant,
    "BipolarQuant": quantizers.quant,
    "MultiThreshold": quantizers.multi_threshold,
    "Trunc": quantizers.trunc,
    # weighted
    "Gemm": weighted.gemm,
    "MatMul": weighted.matmul,
    "Conv": weighted.conv,
    # element-wise
    "BatchNormalization": elementwise.batch_norm,
    "Relu": elementwise.relu,
    "Add": elementwise.add,
    "Sub": elementwise.sub,
    "Mul": elementwise.mul,
    "Div": elementwise.div,
    # pooling
    "MaxPool": pooling.max_pool,
    "GlobalAveragePool": pooling.global_average_pool,
    "AveragePool": pooling.average_pool,
    # shape
    "Flatten": shape.flatten,
    "Reshape": shape.flatten,
    "Transpose": shape.transpose,
    "Identity": shape.identity,
    "Concat": shape.concat,
}


def run(state: ImportState) -> Graph:
    """Import every node of ``state.model`` in order; the graph."""
    graph = state.model.graph
    state.values[graph.input[0].name] = PRE
    if not any(node.op_type in QUANTIZERS for node in graph.node):
        raise QonnxError("graph: the model has no quantizer (Quant, BipolarQuant, "
                         "MultiThreshold): it is a "
                         "float model, and hwgen builds integer hardware; quantize its "
                         "weights and activations (Brevitas QuantLinear, QuantConv2d, "
                         "QuantReLU...) and export with brevitas.export.export_qonnx")
    for node in graph.node:
        where = f"node {node.name or node.output[0]!r} ({node.op_type})"
        handler = HANDLERS.get(node.op_type)
        if handler is None and node.op_type in MONOTONE_OUTPUTS:
            last = node.output[0] == graph.output[0].name
            raise QonnxError(
                f"{where}: not supported{' at the end of the model' if last else ''}; "
                f"{node.op_type} keeps the order of its inputs, so the class is the argmax "
                "of the logits before it: export the model without it (hwgen's graph "
                "then ends in the logits; add an argmax layer for the label)")
        if handler is None:
            raise QonnxError(f"{where}: op {node.op_type} is not supported; supported: "
                             + ", ".join(sorted(HANDLERS)))
        try:
            what = handler(state, node, where)
        except QonnxError:
            raise
        except (KeyError, IndexError, TypeError, ValueError, AttributeError) as err:
            raise QonnxError(f"{where}: cannot be imported ({type(err).__name__}: "
                             f"{err})") from None
        state.report.rows.append((node.name or node.output[0], node.op_type, what))
    out = state.values[graph.output[0].name]
    if isinstance(out, Acc):
        _finish_output(state, out, f"graph output {graph.output[0].name!r}")
    elif isinstance(out, Codes):
        state.meta["output"] = {"scale": jsonable(out.scale), "offset": 0.0}
    else:
        raise QonnxError("graph output: computed before any quantizer; nothing to import")
    if state.graph_input is None:
        raise QonnxError("graph: no input quantizer (Quant or BipolarQuant) found")
    try:
        return Graph(state.name, state.graph_input, state.layers, meta=state.meta)
    except GraphError as err:
        raise QonnxError(str(err)) from None


def _finish_output(state: ImportState, acc: Acc, where: str) -> None:
    """A final accumulator: the layer outputs it raw; its float tail must be affine
    (a scale and an offset per channel), kept as metadata. The tail is probed across the
    accumulator's whole range, both signs, so that a kink (a Relu, a clip) is refused."""
    y = state.infer(acc.layer, acc.xs)  # no activation: the raw accumulator
    lo, hi = y.dtype.min, y.dtype.max
    points = np.unique(np.float64([0, 1, -1, lo, hi, lo // 2, hi // 2, lo // 7, hi // 7]))
    probe = np.repeat(points[:, None], y.shape[-1], axis=1).astype(np.float32)
    v = acc.value(probe).astype(np.float64)
    zero, one = v[points == 0][0], v[points == 1][0]
    scale, offset = one - zero, zero
    if not np.allclose(v, offset + points[:, None] * scale, rtol=1e-4, atol=1e-4):
        raise QonnxError(f"{where}: the float ops after the last layer are not affine "
                         "(a Relu or a clip there? end the model in the logits)")
    state.meta["output"] = {"scale": jsonable(scale), "offset": jsonable(offset)}


def load(path: str | os.PathLike, name: str | None = None, input_dtype: str | None = None
         ) -> tuple[Graph, ImportReport]:
    """Import a QONNX (or Brevitas-exported) model file; (graph, import report).

    ``input_dtype``: the integer format of an input that reaches a layer with no
    quantizer (e.g. ``"uint8"`` for 8-bit RGB); needed only for such models."""
    try:
        from qonnx.core.modelwrapper import ModelWrapper
        from qonnx.util.cleanup import cleanup_model
    except ImportError:
        raise QonnxError("QONNX import needs the qonnx extra: pip install 'hwgen[qonnx]'") from None
    path = Path(path)
    try:
        model = cleanup_model(ModelWrapper(str(path)))
    except Exception as err:  # onnx raises many kinds on a bad file
        raise QonnxError(f"{path}: not a readable ONNX model ({type(err).__name__}: "
                         f"{str(err).splitlines()[0] if str(err) else ''})") from None
    if len(model.graph.input) != 1 or len(model.graph.output) != 1:
        raise QonnxError(f"{path}: hwgen takes models with one input and one output")
    try:
        dtype = DType.parse(input_dtype) if input_dtype else None
    except ValueError as err:
        raise QonnxError(f"input_dtype: {err}") from None
    state = ImportState(model, name or path.stem.replace("-", "_"), dtype)
    return run(state), state.report
