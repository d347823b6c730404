"""QONNX quantizers: ``Quant`` and ``BipolarQuant`` (of weights, of the model input, of an
accumulator), FINN's ``MultiThreshold`` and ``Trunc`` after a global average pool, in tiny
graphs written with onnx.helper; and the import state's helpers. Accepted models are checked
against qonnx's own executor (:func:`check_against_executor`) and against codes, thresholds
and margins worked out by hand; refused ones must give their one-line message, which names
the node (as qonnx's cleanup renames it) and what is allowed."""

import math
import warnings

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.core.onnx_exec import execute_onnx
from qonnx.util.cleanup import cleanup_model

from hwgen import reference
from hwgen.core.dtypes import DType
from hwgen.frontends import qonnx
from hwgen.frontends.qonnx.state import (
    PRE,
    Acc,
    Codes,
    ImportReport,
    ImportState,
    Weights,
    jsonable,
    per_channel,
    short,
    uniform,
)
from hwgen.ir.layer import Tensor
from hwgen.ops import Dense, MaxPool2d
from tests.frontends.test_qonnx import check_against_executor

pytestmark = [pytest.mark.qonnx]

DOM = "qonnx.custom_op.general"
# scales, zero points and bit widths the models share (initializer names)
BASE = {"one": 1.0, "half": 0.5, "quarter": 0.25, "eighth": 0.125, "z": 0.0, "b1": 1, "b2": 2,
        "b3": 3, "b4": 4, "b8": 8}


def q(src: str, dst: str, scale: str = "one", bits: str = "b3", signed: int | None = 1,
      narrow: int | None = 0, rounding: str | None = "ROUND", zero: str = "z"):
    """A Quant node: ``src`` to ``bits``-bit codes at ``scale``; None leaves an attribute
    out."""
    attrs = {k: v for k, v in (("signed", signed), ("narrow", narrow),
                               ("rounding_mode", rounding)) if v is not None}
    return helper.make_node("Quant", [src, scale, zero, bits], [dst], domain=DOM, **attrs)


def bq(src: str, dst: str, scale: str = "one"):
    return helper.make_node("BipolarQuant", [src, scale], [dst], domain=DOM)


def n(op: str, ins, out: str, **attrs):
    domain = {"domain": DOM} if op in ("MultiThreshold", "Trunc") else {}
    return helper.make_node(op, [ins] if isinstance(ins, str) else list(ins), [out],
                            **domain, **attrs)


def xq(scale: str = "half", bits: str = "b4", signed: int = 0):
    """The input quantizer: x to ``xq`` (unsigned 4-bit at 1/2 unless told)."""
    return q("x", "xq", scale, bits, signed)


def save(path, nodes: list, shape: list[int], consts: dict | None = None):
    """A model of ``nodes`` whose input is x of ``shape`` and output the last node's (qonnx
    opset 2: Trunc is v2)."""
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), k)
             for k, v in {**BASE, **(consts or {})}.items()]
    graph = helper.make_graph(
        nodes, "m", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(DOM, 2)])
    path.write_bytes(model.SerializeToString())
    return path


def cleaned(path):
    return cleanup_model(ModelWrapper(str(path)))


def message(path, **load) -> str:
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path, **load)
    return str(err.value)


def node_text(path, op: str, text: str, k: int = 0) -> str:
    """``node '<name>' (<op>): <text>`` for the ``k``-th ``op`` node of the cleaned model;
    ``{i0}``, ``{i1}`` in ``text`` are its inputs' names (quoted)."""
    node = cleaned(path).get_nodes_by_op_type(op)[k]
    names = {f"i{j}": repr(name) for j, name in enumerate(node.input)}
    return f"node {node.name!r} ({op}): " + text.format(**names)


def rows(report) -> dict[str, str]:
    """The import report: op type -> what its last node became."""
    return {op: what for _, op, what in report.rows}


def frames(rng, shape, count: int, top: int = 16, scale: float = 0.5, low: int = 0):
    """``count`` inputs of ``shape`` (batch 1): codes low..top-1 x scale."""
    return (rng.integers(low, top, (count, *shape)) * scale).astype(np.float32)


def head(src: str, features: int, rng, out: str = "y") -> tuple[list, dict]:
    """``src`` (flat codes) into a last MatMul with int3 weights: the logits."""
    return ([q("wo", "woq"), n("MatMul", [src, "woq"], out)],
            {"wo": rng.integers(-4, 4, (features, 3))})


DENSE = [xq(), q("w", "wq"), n("MatMul", ["xq", "wq"], "a")]  # x (1, 4): an accumulator a
W43 = {"w": np.ones((4, 3))}
GAP = [xq("half", "b3"), n("GlobalAveragePool", "xq", "p")]  # x (1, 2, 2, 2): codes / 4


def trunc(src: str = "p", dst: str = "t", scale: str = "eighth", out_scale: str = "half",
          out_bits: str = "b2", zero: str = "z", **attrs):
    """A Trunc v2 of ``src``: at ``scale`` to ``out_bits`` at ``out_scale`` (floor,
    unsigned, not narrow unless told; None leaves an attribute out)."""
    attrs = {"rounding_mode": "FLOOR", "signed": 0, "narrow": 0, **attrs}
    return n("Trunc", [src, scale, zero, "b8", out_scale, out_bits], dst,
             **{k: v for k, v in attrs.items() if v is not None})


# --- refusals ---------------------------------------------------------------------------

ACC_IN = "its input {i0} is an accumulator not yet quantized; hwgen needs quantized codes"
CODES_IN = "its input {i0} is quantized codes; hwgen needs an accumulator"
MT = ("MultiThreshold to {} with bias {} is not supported; supported: BIPOLAR (bias "
      "-out_scale/2), UINTk (bias 0), INTk (bias -out_scale x 2^(k-1))")
TRUNC_ONLY = "Trunc is supported after a global average pool only (qonnx Trunc v2)"
TRUNC_ATTRS = "only unsigned, floor-rounding Trunc with zero point 0"
TRUNC_SHIFT = "a Trunc that is not a floor division of a non-negative sum by a power of two"
NO_QUANT = ("the model input reaches it with no quantizer; give its integer format "
            "(input_dtype, --input-dtype; uint8 for 8-bit RGB)")
AFTER_PRE = "an unquantized input after preprocessing"


def mt(src: str, out_dtype: str | None, thresholds: str = "t", **attrs):
    if out_dtype is not None:
        attrs["out_dtype"] = out_dtype
    return n("MultiThreshold", [src, thresholds], "h", **attrs)


T3 = {"t": np.float32([[-1, 0, 1]] * 3)}  # three thresholds for each of 3 channels

# id: (nodes, input shape, constants, refused op, its index, message after the node,
# keyword arguments of load)
REFUSALS = {
    "second-input-quantizer": ([xq(), q("x", "xq2", "half", "b4", 0),
                                n("Add", ["xq", "xq2"], "y")], [1, 4], {}, "Quant", 1,
                               "a second quantizer on the model input", {}),
    "zero-point": ([xq(), q("w", "wq", zero="zp"), n("MatMul", ["xq", "wq"], "a")], [1, 4],
                   {"w": np.ones((4, 5)), "zp": np.float32([[1, 2, 3, 4, 5]])}, "Quant", 1,
                   "zero point [1. 2. 3. 4.] is not 0", {}),
    "zero-point-computed": ([n("Mul", ["x", "z"], "xz"), q("xz", "xq", zero="xz")], [1, 4],
                            {}, "Quant", 0,
                            "scale, zero point and bit width must be constants", {}),
    "scale-computed": ([n("Mul", ["x", "z"], "xz"), q("xz", "xq", scale="xz")], [1, 4], {},
                       "Quant", 0, "scale, zero point and bit width must be constants", {}),
    "bits-computed": ([n("Mul", ["x", "z"], "xz"), q("xz", "xq", bits="xz")], [1, 4], {},
                      "Quant", 0, "scale, zero point and bit width must be constants", {}),
    "scale-zero": ([q("x", "xq", "z", "b4", 0)], [1, 4], {}, "Quant", 0,
                   "quantizer scales must be positive", {}),
    "scale-negative": ([q("x", "xq", "neg", "b4", 0)], [1, 4], {"neg": [0.5, -0.5, 1, 1]},
                       "Quant", 0, "quantizer scales must be positive", {}),
    "signed-0-bits": ([q("x", "xq", "half", "b0")], [1, 4], {"b0": 0}, "Quant", 0,
                      "a signed 1-bit Quant that is not bipolar", {}),
    "quant-of-codes": ([xq(), q("xq", "y")], [1, 4], {}, "Quant", 1, CODES_IN, {}),
    "scale-not-per-channel": ([*DENSE, q("a", "h", "s31", signed=0)], [1, 4],
                              {**W43, "s31": np.ones((3, 1))}, "Quant", 2,
                              "a constant of shape [3, 1] is not per channel", {}),
    "mt-of-codes": ([xq(), mt("xq", "UINT2")], [1, 3], T3, "MultiThreshold", 0, CODES_IN, {}),
    "mt-int-bias-0": ([*DENSE, mt("a", "INT2")], [1, 4], {**W43, **T3}, "MultiThreshold", 0,
                      MT.format("INT2", 0.0), {}),
    "mt-uint-bias": ([*DENSE, mt("a", "UINT2", out_bias=1.0)], [1, 4], {**W43, **T3},
                     "MultiThreshold", 0, MT.format("UINT2", 1.0), {}),
    "mt-ternary": ([*DENSE, mt("a", "TERNARY", out_bias=-2.0)], [1, 4],
                   {**W43, "t": np.float32([[0, 1]] * 3)}, "MultiThreshold", 0,
                   MT.format("TERNARY", -2.0), {}),
    "mt-bipolar-bias-0": ([*DENSE, mt("a", "BIPOLAR")], [1, 4],
                          {**W43, "t": np.float32([[0]] * 3)}, "MultiThreshold", 0,
                          MT.format("BIPOLAR", 0.0), {}),
    "mt-bipolar-bias-half": ([*DENSE, mt("a", "BIPOLAR", out_scale=2.0, out_bias=-0.5)],
                             [1, 4], {**W43, "t": np.float32([[0]] * 3)}, "MultiThreshold", 0,
                             MT.format("BIPOLAR", -0.5), {}),
    "rounding-unknown": ([xq(), q("w", "wq", rounding="SIDEWAYS"),
                          n("MatMul", ["xq", "wq"], "a")], [1, 4], W43, "Quant", 1,
                         "rounding mode 'SIDEWAYS' is not supported; supported: ROUND, "
                         "HALF_EVEN, CEIL, FLOOR, UP, DOWN, ROUND_TO_ZERO, HALF_UP, HALF_DOWN",
                         {}),
    "scale-not-broadcast": ([xq(), q("w", "wq", "s5"), n("MatMul", ["xq", "wq"], "a")],
                            [1, 4], {**W43, "s5": np.ones(5)}, "Quant", 1,
                            "a scale of shape [5] does not broadcast over its constant of "
                            "shape [4, 3]", {}),
    "scale-grows-the-weights": ([xq(), q("w", "wq", "s113"), n("MatMul", ["xq", "wq"], "a")],
                                [1, 4], {**W43, "s113": np.ones((1, 1, 3))}, "Quant", 1,
                                "a scale of shape [1, 1, 3] does not broadcast over its "
                                "constant of shape [4, 3]", {}),
    "scale-along-the-inputs": ([xq(), q("w", "wq", "s41"), n("MatMul", ["xq", "wq"], "a")],
                               [1, 4], {**W43, "s41": np.float32([[1], [2], [1], [1]])},
                               "MatMul", 0, "a weight scale of shape [4, 1] varies along the "
                               "inputs of weights [4, 3]; hwgen needs one scale per output "
                               "channel", {}),
    "mt-no-out-dtype": ([*DENSE, mt("a", None)], [1, 4], {**W43, **T3}, "MultiThreshold", 0,
                        MT.format("no out_dtype", 0.0), {}),
    "mt-count": ([*DENSE, mt("a", "UINT2")], [1, 4], {**W43, "t": np.float32([[0, 1]] * 3)},
                 "MultiThreshold", 0, "2 thresholds per channel, uint2 needs 3", {}),
    "mt-int-count": ([*DENSE, mt("a", "INT2", out_bias=-4.0)], [1, 4],
                     {**W43, "t": np.float32([[0, 1, 2, 3, 4]] * 3)}, "MultiThreshold", 0,
                     "5 thresholds per channel, int3 needs 7", {}),
    "trunc-of-input-codes": ([xq("half", "b3"), trunc("xq")], [1, 2, 2, 2], {}, "Trunc", 0,
                             TRUNC_ONLY, {}),
    "trunc-after-max-pool": ([xq("half", "b3"), n("MaxPool", "xq", "p", kernel_shape=[2, 2]),
                              trunc()], [1, 2, 2, 2], {}, "Trunc", 0, TRUNC_ONLY, {}),
    "trunc-twice": ([*GAP, trunc(), trunc("t", "t2", "half", "half")], [1, 2, 2, 2], {},
                    "Trunc", 1, TRUNC_ONLY, {}),
    "trunc-v1": ([*GAP, n("Trunc", ["p", "eighth", "z", "b8", "b2"], "t",
                          rounding_mode="FLOOR")], [1, 2, 2, 2], {}, "Trunc", 0, TRUNC_ONLY,
                 {}),
    "trunc-of-acc": ([*DENSE, trunc("a")], [1, 4], W43, "Trunc", 0, ACC_IN, {}),
    "trunc-zero-point": ([*GAP, trunc(zero="one")], [1, 2, 2, 2], {}, "Trunc", 0,
                         TRUNC_ATTRS, {}),
    "trunc-round": ([*GAP, trunc(rounding_mode="ROUND")], [1, 2, 2, 2], {}, "Trunc", 0,
                    TRUNC_ATTRS, {}),
    "trunc-no-rounding-mode": ([*GAP, trunc(rounding_mode=None)], [1, 2, 2, 2], {}, "Trunc",
                               0, TRUNC_ATTRS, {}),
    "trunc-signed": ([*GAP, trunc(signed=1)], [1, 2, 2, 2], {}, "Trunc", 0, TRUNC_ATTRS, {}),
    "trunc-signed-default": ([*GAP, trunc(signed=None)], [1, 2, 2, 2], {}, "Trunc", 0,
                             TRUNC_ATTRS, {}),
    "trunc-narrow": ([*GAP, trunc(narrow=1)], [1, 2, 2, 2], {}, "Trunc", 0, TRUNC_ATTRS, {}),
    "trunc-scale": ([*GAP, trunc(scale="quarter")], [1, 2, 2, 2], {}, "Trunc", 0,
                    "its scale 0.25 is not the pool's 0.125: the sum would be rounded", {}),
    "trunc-scale-close": ([*GAP, trunc(scale="near")], [1, 2, 2, 2], {"near": 0.125 * 1.000005},
                          "Trunc", 0,
                          "its scale 0.125 is not the pool's 0.125: the sum would be rounded",
                          {}),
    "trunc-shift-below-1": ([*GAP, trunc(out_scale="sixteenth")], [1, 2, 2, 2],
                            {"sixteenth": 0.0625},
                            "Trunc", 0, TRUNC_SHIFT, {}),
    "trunc-out-scale-0": ([*GAP, trunc(out_scale="z")], [1, 2, 2, 2], {}, "Trunc", 0,
                          TRUNC_SHIFT, {}),
    "trunc-signed-sum": ([xq("half", "b3", 1), n("GlobalAveragePool", "xq", "p"), trunc()],
                         [1, 2, 2, 2], {}, "Trunc", 0, TRUNC_SHIFT, {}),
    "relu-of-input": ([n("Relu", "x", "r"), q("r", "y")], [1, 4], {}, "Relu", 0,
                      "its input {i0} is the model input before its quantizer; hwgen needs "
                      "an accumulator", {}),
    "relu-of-codes": ([xq(), n("Relu", "xq", "r")], [1, 4], {}, "Relu", 0, CODES_IN, {}),
    "relu-of-weights": ([xq(), q("w", "wq"), n("Relu", "wq", "r"), n("MatMul", ["xq", "r"],
                                                                     "y")], [1, 4], W43,
                        "Relu", 0,
                        "its input {i0} is a float tensor; hwgen needs an accumulator", {}),
    "max-pool-of-acc": ([xq(), q("wc", "wcq"), n("Conv", ["xq", "wcq"], "c"),
                         n("MaxPool", "c", "p", kernel_shape=[2, 2])], [1, 2, 2, 2],
                        {"wc": np.ones((2, 2, 1, 1))}, "MaxPool", 0, ACC_IN, {}),
    "input-without-dtype": ([q("w", "wq"), n("MatMul", ["x", "wq"], "y")], [1, 4], W43,
                            "MatMul", 0, NO_QUANT, {}),
    "input-after-its-quantizer": ([xq(), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"),
                                   n("MatMul", ["x", "wq"], "b"), n("Add", ["a", "b"], "y")],
                                  [1, 4], W43, "MatMul", 1, AFTER_PRE,
                                  {"input_dtype": "uint4"}),
    "input-after-preprocessing": ([n("Sub", ["x", "half"], "p"), q("w", "wq"),
                                   n("MatMul", ["p", "wq"], "y")], [1, 4], W43, "MatMul", 0,
                                  AFTER_PRE, {"input_dtype": "uint4"}),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_quantizers_refuse_in_one_line_naming_the_node(tmp_path, case):
    nodes, shape, consts, op, k, text, load = REFUSALS[case]
    path = save(tmp_path / f"{case}.onnx", nodes, shape, consts)
    assert message(path, **load) == node_text(path, op, text, k)


def test_a_falling_activation_after_a_residual_add_is_refused(tmp_path):
    """Two branches quantized at 1/2 added, then x (-1): the output falls as the sum rises,
    and an add has no weights to negate."""
    nodes = [xq(signed=1), q("w1", "w1q"), n("MatMul", ["xq", "w1q"], "a1"),
             q("a1", "h1", "half", "b4"), q("w2", "w2q"), n("MatMul", ["xq", "w2q"], "a2"),
             q("a2", "h2", "half", "b4"), n("Add", ["h1", "h2"], "s"),
             n("Mul", ["s", "minus"], "m"), q("m", "y", signed=0)]
    path = save(tmp_path / "fall.onnx", nodes, [1, 3],
                {"w1": np.eye(3), "w2": np.eye(3), "minus": -1.0})
    assert message(path) == "layer 'add1': a falling activation after an add cannot be negated"


def test_a_layer_error_comes_through_as_the_layers_message(tmp_path):
    """A uint9 activation has too many levels for thresholds: the graph layer's own
    message, as a QonnxError."""
    path = save(tmp_path / "wide.onnx", [*DENSE, q("a", "y", bits="b9", signed=0)], [1, 4],
                {**W43, "b9": 9})
    assert message(path) == ("layer 'fc1' (dense): threshold output uint9 has too many levels; "
                             "allowed: bin, tern, intK/uintK with K <= 8 (use requant for "
                             "wider)")


def test_a_malformed_multithreshold_out_dtype_is_refused(tmp_path):
    path = save(tmp_path / "mt.onnx", [*DENSE, mt("a", "UINT2X")], [1, 4], {**W43, **T3})
    assert message(path).startswith(node_text(path, "MultiThreshold", "cannot be imported "
                                              "(ValueError: "))


# --- the input quantizer ------------------------------------------------------------------


@pytest.mark.parametrize("quant,shape,want,layout", [
    (xq(), [1, 4], (4,), "flat"),
    (xq(), [1, 2, 3, 4], (3, 4, 2), "NCHW as channels-last"),  # H, W, C
    (xq("half", "b1"), [1, 3], (3,), "flat"),  # unsigned 1 bit: uint1
    (bq("x", "xq", "half"), [1, 3], (3,), "flat"),
    (q("x", "xq", "half", "b1"), [1, 3], (3,), "flat"),  # signed 1 bit: bipolar
])
def test_the_input_quantizer_sets_the_graph_input(tmp_path, quant, shape, want, layout):
    """Its dtype, its shape in hwgen's channels-last order (a 2x... map that is not square),
    and the metadata the host needs: scale, zero point, layout."""
    rng = np.random.default_rng(20)
    size = int(np.prod(shape))
    tail, consts = head("f", size, rng)
    nodes = [quant, n("Flatten", "xq", "f"), *tail]
    path = save(tmp_path / "in.onnx", nodes, shape, consts)
    g, report = qonnx.load(path)
    op, attrs = quant.op_type, {a.name: a.i for a in quant.attribute}
    bits = {"b4": 4, "b1": 1}.get(quant.input[-1], 1)
    dtype = (DType("bin", 1) if op == "BipolarQuant" or (bits == 1 and attrs["signed"]) else
             DType("uint", bits))
    assert g.input.dtype == dtype and g.input.shape == want
    assert g.meta["input"] == {"scale": 0.5, "zero_point": 0, "layout": layout}
    assert report.rows[0][1:] == (op, f"graph input {dtype} {list(want)}, scale 0.5")
    x = frames(rng, shape, 12, low=-16, top=16, scale=0.25)
    assert check_against_executor(path, g, report, x) == 0  # the logits


@pytest.mark.parametrize("shape,want,layout", [([1, 4], (4,), "flat"),
                                                ([1, 2, 3, 4], (3, 4, 2),
                                                 "NCHW as channels-last")])
def test_an_unquantized_input_is_taken_as_the_given_dtype(tmp_path, shape, want, layout):
    """The model input straight into a MatMul or a Conv: its codes are the input itself,
    in the integer format given (scale 1, marked as assumed)."""
    rng = np.random.default_rng(21)
    if len(shape) == 2:
        nodes = [q("w", "wq"), n("MatMul", ["x", "wq"], "y")]
        consts = {"w": rng.integers(-4, 4, (4, 3))}
    else:
        tail, consts = head("f", 3 * 3 * 4, rng)
        nodes = [q("wc", "wcq"), n("Conv", ["x", "wcq"], "c"), n("Relu", "c", "r"),
                 q("r", "h", "eighth", "b3", 0), n("Flatten", "h", "f"), *tail]
        consts["wc"] = rng.integers(-2, 3, (3, 2, 1, 1))
    path = save(tmp_path / "assumed.onnx", nodes, shape, consts)
    g, report = qonnx.load(path, input_dtype="uint4")
    assert g.input.dtype == DType("uint", 4) and g.input.shape == want
    assert g.meta["input"] == {"scale": 1.0, "zero_point": 0, "assumed": True,
                               "layout": layout}
    x = rng.integers(0, 16, (12, *shape)).astype(np.float32)
    assert check_against_executor(path, g, report, x) == (12 if len(shape) == 4 else 0)


# --- weights ------------------------------------------------------------------------------

W16 = np.float32([-9.5, -4.5, -3.5, -2.5, -1.5, -0.7, -0.5, 0.0,
                  0.3, 0.5, 1.5, 2.5, 2.7, 5.5, 6.5, 9.5])
# attributes (signed, narrow, rounding; None: left out), bit width, scale: W16 / scale
# rounded as told (ROUND: half to even; ROUND_TO_ZERO: towards zero), clipped to the range
WEIGHT_CODES = {
    "int3": ((1, 0, "ROUND"), "b3", "one",
             [-4, -4, -4, -2, -2, -1, 0, 0, 0, 0, 2, 2, 3, 3, 3, 3]),
    "int3-narrow": ((1, 1, "ROUND"), "b3", "one",
                    [-3, -3, -3, -2, -2, -1, 0, 0, 0, 0, 2, 2, 3, 3, 3, 3]),
    "uint3": ((0, 0, "ROUND"), "b3", "one", [0] * 10 + [2, 2, 3, 6, 6, 7]),
    "uint3-narrow": ((0, 1, "ROUND"), "b3", "one", [0] * 10 + [2, 2, 3, 6, 6, 6]),
    "int3-floor": ((1, 0, "FLOOR"), "b3", "one",
                   [-4, -4, -4, -3, -2, -1, -1, 0, 0, 0, 1, 2, 2, 3, 3, 3]),
    "int3-ceil": ((1, 0, "CEIL"), "b3", "one",
                  [-4, -4, -3, -2, -1, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 3]),
    "int8-scale-half": ((1, 0, "ROUND"), "b8", "half",
                        [-19, -9, -7, -5, -3, -1, -1, 0, 1, 1, 3, 5, 5, 11, 13, 19]),
    # qonnx cannot execute these two: checked by hand only
    "int4-to-zero": ((1, 0, "ROUND_TO_ZERO"), "b4", "one",
                     [-8, -4, -3, -2, -1, 0, 0, 0, 0, 0, 1, 2, 2, 5, 6, 7]),
    # the rest of qonnx's modes (UP: away from zero; DOWN: towards zero; HALF_UP/HALF_DOWN:
    # halves away from/towards zero); once all but ROUND, FLOOR and TO_ZERO were ceil
    "int4-half-even": ((1, 0, "HALF_EVEN"), "b4", "one",
                       [-8, -4, -4, -2, -2, -1, 0, 0, 0, 0, 2, 2, 3, 6, 6, 7]),
    "int4-up": ((1, 0, "UP"), "b4", "one",
                [-8, -5, -4, -3, -2, -1, -1, 0, 1, 1, 2, 3, 3, 6, 7, 7]),
    "int4-down": ((1, 0, "DOWN"), "b4", "one",
                  [-8, -4, -3, -2, -1, 0, 0, 0, 0, 0, 1, 2, 2, 5, 6, 7]),
    "int4-half-up": ((1, 0, "HALF_UP"), "b4", "one",
                     [-8, -5, -4, -3, -2, -1, -1, 0, 0, 1, 2, 3, 3, 6, 7, 7]),
    "int4-half-down": ((1, 0, "HALF_DOWN"), "b4", "one",
                       [-8, -4, -3, -2, -1, -1, 0, 0, 0, 0, 1, 2, 3, 5, 6, 7]),
    # qonnx's defaults: signed, rounding ROUND (narrow is required there; no code here
    # reaches the narrow end)
    "defaults": ((None, None, None), "b4", "two",
                 [-5, -2, -2, -1, -1, 0, 0, 0, 0, 0, 1, 1, 1, 3, 3, 5]),
}


@pytest.mark.parametrize("case", list(WEIGHT_CODES))
def test_weight_codes_follow_sign_width_narrow_range_and_rounding(tmp_path, case):
    (signed, narrow, rounding), bits, scale, codes = WEIGHT_CODES[case]
    rng = np.random.default_rng(22)
    nodes = [xq(), q("w", "wq", scale, bits, signed, narrow, rounding),
             n("MatMul", ["xq", "wq"], "y")]
    path = save(tmp_path / "w.onnx", nodes, [1, 8], {"w": W16.reshape(8, 2), "two": 2.0})
    g, report = qonnx.load(path)
    fc = g.layers[0]
    assert fc.weights.T.ravel().tolist() == codes  # hwgen's (out, in) is the MatMul's (in, out)
    assert fc.weight_dtype == DType("uint" if signed == 0 else "int", int(bits[1:]))
    if case not in ("int4-to-zero", "defaults"):
        assert check_against_executor(path, g, report, frames(rng, [1, 8], 12)) == 0


@pytest.mark.parametrize("quant,dtype", [
    (bq("w", "wq", "half"), DType("bin", 1)),
    (q("w", "wq", "half", "b1"), DType("bin", 1)),  # signed 1 bit: bipolar in qonnx too
    (q("w", "wq", "half", "b2", 1, 1), DType("tern", 2)),  # signed narrow 2 bits
])
def test_bipolar_and_ternary_weights(tmp_path, quant, dtype):
    """W / 1/2 >= 0 (0 and -0 included) is +1, else -1; ternary rounds and clips to -1..1."""
    w = np.float32([[-1.5, 0.0], [0.2, -0.0], [2.0, -0.1], [0.3, -0.3]])
    want = (np.where(w >= 0, 1, -1) if dtype.kind == "bin" else
            np.float32([[-1, 0], [0, 0], [1, 0], [1, -1]]))
    rng = np.random.default_rng(23)
    path = save(tmp_path / "w.onnx", [xq(), quant, n("MatMul", ["xq", "wq"], "y")], [1, 4],
                {"w": w})
    g, report = qonnx.load(path)
    assert g.layers[0].weight_dtype == dtype
    assert g.layers[0].weights.T.tolist() == want.tolist()
    assert rows(report)[quant.op_type] == f"weights {dtype} [4, 2]"
    assert check_against_executor(path, g, report, frames(rng, [1, 4], 12)) == 0


# --- activations: a quantizer or a MultiThreshold on an accumulator -------------------------


def activations(report) -> list[str]:
    """What the quantizers of accumulators became."""
    return [w for _, op, w in report.rows if op in ("Quant", "BipolarQuant")
            and "activation" in w]


@pytest.mark.parametrize("scale,value", [
    (np.float32([[0.5, 0.25, 1.0]]), [0.5, 0.25, 1.0]),  # per unit, (1, 3)
    (np.float32([0.5, 0.25, 1.0]), [0.5, 0.25, 1.0]),  # per unit, (3,)
    (np.float32([[0.25]]), 0.25),  # one number stored as (1, 1)
])
def test_a_quantizer_on_a_dense_accumulator_becomes_its_thresholds(tmp_path, scale, value):
    """MatMul -> Mul -> Quant uint3 at a per-unit or per-tensor scale, the model's output:
    thresholds on the accumulator (the falling unit's weights negated); the codes equal
    the executor's on every input."""
    rng = np.random.default_rng(24)
    nodes = [xq(signed=1), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"),
             n("Mul", ["a", "m"], "a2"), q("a2", "h", "s", signed=0)]
    path = save(tmp_path / "act.onnx", nodes, [1, 4],
                {"w": rng.integers(-4, 4, (4, 3)), "m": [0.3, -0.45, 0.7], "s": scale})
    g, report = qonnx.load(path)
    fc = g.layers[0]
    assert fc.activation.dtype == DType("uint", 3)
    assert activations(report) == [
        "fc1: threshold activation to uint3, 1 falling channel(s) negated"]
    assert ("fc1", value) in report.codes.values()
    assert g.meta["output"] == {"scale": value, "offset": 0.0}
    # the executor's output / its scale per unit (check_against_executor takes one number)
    model = cleaned(path)
    for x in frames(rng, [1, 4], 64, low=-8, top=8):
        want = execute_onnx(model, {model.graph.input[0].name: x})[model.graph.output[0].name]
        got = reference.values(g, np.rint(x / 0.5).astype(np.int64))["fc1"]
        assert np.array_equal(np.rint(want / np.float32(value)), got)


def test_a_quantizer_on_a_conv_accumulator_takes_a_per_channel_scale(tmp_path):
    """Conv -> Relu -> Quant uint3 at a (1, C, 1, 1) scale -> depthwise conv -> Quant ->
    Flatten -> MatMul."""
    rng = np.random.default_rng(25)
    tail, consts = head("f", 2 * 2 * 2, rng)
    nodes = [xq(), q("wc", "wcq"), n("Conv", ["xq", "wcq"], "c"), n("Relu", "c", "r"),
             q("r", "h", "s", signed=0), q("wd", "wdq"), n("Conv", ["h", "wdq"], "d", group=2),
             q("d", "h2", "one", "b4"), n("Flatten", "h2", "f"), *tail]
    path = save(tmp_path / "conv.onnx", nodes, [1, 2, 2, 2],
                {"wc": rng.integers(-3, 4, (2, 2, 1, 1)), "wd": np.float32([2, -3]).reshape(
                    2, 1, 1, 1), "s": np.float32([1.0, 0.5]).reshape(1, 2, 1, 1), **consts})
    g, report = qonnx.load(path)
    assert activations(report) == ["conv1: threshold activation to uint3",
                                   "conv2: threshold activation to int4"]
    assert ("conv1", [1.0, 0.5]) in report.codes.values()
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 2, 2], 30)) == 60


def test_a_bipolar_quantizer_on_an_accumulator(tmp_path):
    """MatMul -> Add -> BipolarQuant: +1 from the accumulator where acc / 2 + c >= 0 (an
    exact crossing included: acc / 2 + 2 = 0 at acc = -4 is +1)."""
    rng = np.random.default_rng(26)
    tail, consts = head("h", 2, rng)
    nodes = [xq(signed=1), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"),
             n("Add", ["a", "c"], "a2"), bq("a2", "h", "half"), *tail]
    path = save(tmp_path / "bin.onnx", nodes, [1, 2],
                {"w": [[1, -1], [1, 2]], "c": [2.0, -0.5], **consts})
    g, report = qonnx.load(path)
    fc = g.layers[0]
    assert fc.activation.dtype == DType("bin", 1)
    assert fc.activation.thresholds.tolist() == [[-4], [1]]  # acc / 2 + 2 >= 0, - 1/2 >= 0
    assert ("fc1", 0.5) in report.codes.values()
    grid = np.stack(np.meshgrid(np.arange(-8, 8), np.arange(-8, 8)), -1).reshape(256, 1, 2)
    assert check_against_executor(path, g, report, (grid * 0.5).astype(np.float32)) == 256


MT_T = np.float32([[-3, 0, 2], [-1, -1, 4], [1, 5, 6]])  # integer thresholds: acc == t counts


@pytest.mark.parametrize("out_dtype,attrs,t,dtype,scale", [
    ("UINT2", {}, MT_T, DType("uint", 2), 1.0),
    ("UINT2", {"out_scale": 0.5}, MT_T, DType("uint", 2), 0.5),
    ("INT2", {"out_scale": 0.5, "out_bias": -1.0}, MT_T, DType("int", 2), 0.5),
    ("INT4", {"out_bias": -8.0}, np.float32(np.arange(-7, 8))[None].repeat(3, 0), DType("int", 4),
     1.0),
    ("BIPOLAR", {"out_scale": 2.0, "out_bias": -1.0}, MT_T[:, 1:2], DType("bin", 1), 1.0),
])
def test_multithreshold_thresholds_are_taken_as_given(tmp_path, out_dtype, attrs, t, dtype,
                                                       scale):
    """MultiThreshold on an integer accumulator (scale 1): its thresholds as they are (an
    accumulator equal to one reaches it), its dtype from out_dtype and out_bias, its scale
    out_scale (a bipolar one's +-1 x out_scale / 2: 2 x count - 1)."""
    rng = np.random.default_rng(27)
    tail, consts = head("h", 3, rng)
    nodes = [xq("one", "b3", 1), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"),
             mt("a", out_dtype, **attrs), *tail]
    path = save(tmp_path / "mt.onnx", nodes, [1, 3],
                {"w": [[1, 0, -1], [1, 1, 0], [0, 1, 1]], "t": t, **consts})
    g, report = qonnx.load(path)
    fc = g.layers[0]
    assert fc.activation.dtype == dtype
    assert fc.activation.thresholds.tolist() == t.tolist()
    assert rows(report)["MultiThreshold"] == f"fc1: thresholds as given to {dtype}"
    assert ("fc1", scale) in report.codes.values()
    x = rng.integers(-4, 4, (80, 1, 3)).astype(np.float32)
    assert check_against_executor(path, g, report, x) == 80


# --- Trunc after a global average pool ------------------------------------------------------


@pytest.mark.parametrize("attrs", [{}, {"narrow": None}])
def test_trunc_after_a_global_average_pool_is_a_floor_division(tmp_path, attrs):
    """x (1, 3, 2, 2) -> Quant uint3 (1/2) -> GlobalAveragePool (sum x 1/8) -> Trunc to uint2
    at 1/2: floor(sum / 4) clamped to 3, the sum's thresholds 4, 8, 12 (narrow is 0 when
    left out, as in qonnx)."""
    rng = np.random.default_rng(29)
    tail, consts = head("f", 3, rng)
    nodes = [*GAP, trunc(**attrs), n("Flatten", "t", "f"), *tail]
    path = save(tmp_path / "trunc.onnx", nodes, [1, 3, 2, 2], consts)
    g, report = qonnx.load(path)
    gsp = g.layers[0]
    assert gsp.op == "global_sum_pool" and gsp.activation.dtype == DType("uint", 2)
    assert gsp.activation.thresholds.tolist() == [[4, 8, 12]] * 3
    assert rows(report)["Trunc"] == "gsp1: floor division by 4 to uint2, as thresholds"
    assert ("gsp1", 0.5) in report.codes.values()
    assert check_against_executor(path, g, report, frames(rng, [1, 3, 2, 2], 40, 8)) == 40


# --- threshold margins ----------------------------------------------------------------------


def crossing_margin(channels, lo: int, hi: int, cross) -> float:
    """By hand: the tail m x acc + b crosses each level's edge c at acc = (c - b) / m; the
    margin is the least distance from such a crossing strictly between the accumulator's
    ends to an integer (inf when there is none)."""
    best = math.inf
    for m, b in channels:
        m, b = float(np.float32(m)), float(np.float32(b))
        for c in cross:
            x = (c - b) / m
            if lo < x < hi:
                best = min(best, abs(x - round(x)))
    return best


def _margin_model(tmp_path, weights, channels, quant):
    """x (1, 1) -> Quant int4 (codes -8..7) -> MatMul by ``weights`` (1, C) -> Mul m ->
    Add b -> ``quant`` of t to h -> MatMul: the logits."""
    rng = np.random.default_rng(30)
    tail, consts = head("h", len(weights), rng)
    m, b = zip(*channels, strict=True)
    nodes = [q("x", "xq", "one", "b4"), q("w", "wq", bits="b8"),
             n("MatMul", ["xq", "wq"], "a"), n("Mul", ["a", "m"], "a2"),
             n("Add", ["a2", "b"], "t"), quant, *tail]
    return save(tmp_path / "margin.onnx", nodes, [1, 1],
                {"w": [weights], "m": list(m), "b": list(b), **consts})


# weights of the one input (layer range: -16..14), (m, b) per channel, quantizer
MARGINS = {
    # level 1 reached by every accumulator (-17.3), crossings at -7.3, 2.7; the least
    # margin 0.05 at 13.95, between the last two accumulators (13, 14)
    "rising": ([1, 2, 1], [(0.1, 2.23), (0.25, -2.9875), (0.1, -0.45)], "uint"),
    # falling: crossings -15.95 (the least, 0.05, between the first two accumulators),
    # -12.62, -9.28; level 3 of the next is reached by every accumulator below 7.3, level
    # 1 of the third by none (-17.3); a rising one crossing at 1.5, 4.83, 8.17
    "falling": ([1, 2, 1, 1], [(-0.3, -2.285), (-0.1, 3.23), (-0.1, -1.23), (0.3, 0.05)],
                "uint"),
    # a channel whose levels are all reached (beyond 14 + 1) or none (below -16 - 1)
    "outside": ([2, 1], [(0.02, 2.9), (-0.4, -3.3)], "uint"),
    "bipolar": ([1, 2], [(0.4, 0.1), (-0.3, 0.5)], "bin"),
}


@pytest.mark.parametrize("case", list(MARGINS))
def test_the_threshold_margin_is_the_nearest_crossing_to_an_integer(tmp_path, case):
    weights, channels, kind = MARGINS[case]
    quant = bq("t", "h") if kind == "bin" else q("t", "h", bits="b2", signed=0)
    path = _margin_model(tmp_path, weights, channels, quant)
    g, report = qonnx.load(path)
    lo = min(min(-8 * w, 7 * w) for w in weights)
    hi = max(max(-8 * w, 7 * w) for w in weights)
    cross = [0.0] if kind == "bin" else [0.5, 1.5, 2.5]
    want = crossing_margin(channels, lo, hi, cross)
    assert report.margins == {"fc1": pytest.approx(want, abs=1e-4)}
    x = np.arange(-8, 8, dtype=np.float32).reshape(16, 1, 1)
    assert check_against_executor(path, g, report, x) == 16


def test_no_crossing_inside_the_range_gives_an_infinite_margin(tmp_path):
    """Every level of every channel reached by all accumulators or by none."""
    path = _margin_model(tmp_path, [1, 1], [(0.01, 5.0), (0.01, -5.0)],
                         q("t", "h", bits="b2", signed=0))
    _, report = qonnx.load(path)
    assert report.margins == {"fc1": math.inf}


def test_flat_float_tails_import_without_numpy_warnings(tmp_path):
    """Relu then + 1.5: below 0 the quantizer's input is flat (1.5, exactly level 2's edge),
    so the margin's quotients there are 0 / 0 and x / 0; they are not crossings and raise
    no RuntimeWarning."""
    rng = np.random.default_rng(31)
    tail, consts = head("h", 2, rng)
    nodes = [q("x", "xq", "one", "b4"), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"),
             n("Mul", ["a", "m"], "a2"), n("Relu", "a2", "r"), n("Add", ["r", "c"], "t"),
             q("t", "h", bits="b3", signed=0), *tail]
    path = save(tmp_path / "flat.onnx", nodes, [1, 1], {"w": [[1, -1]], "m": [0.35, 0.35],
                                                        "c": 1.5, **consts})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        g, report = qonnx.load(path)
    x = np.arange(-8, 8, dtype=np.float32).reshape(16, 1, 1)
    assert check_against_executor(path, g, report, x) == 16


def test_an_accumulator_range_is_asked_only_of_layers_that_have_one():
    from hwgen.frontends.qonnx.quantizers import _acc_range

    with pytest.raises(qonnx.QonnxError) as err:
        _acc_range(MaxPool2d("pool1", kernel=(2, 2), stride=(2, 2)))
    assert str(err.value) == "layer 'pool1': maxpool2d has no accumulator"


# --- the import state's helpers -------------------------------------------------------------


@pytest.mark.parametrize("value,count,four_d,shape", [
    (0.5, 3, False, ()), (np.float32([[0.5]]), 3, False, ()),
    (np.float32([0.5, 0.25, 1]), 3, False, (3,)), (np.float32([[0.5, 0.25, 1]]), 3, False, (3,)),
    (np.float32([[[0.5, 0.25, 1]]]), 3, False, (3,)),  # (1, 1, 3): the last axis
    (np.ones((1, 3, 1, 1)), 3, True, (3,)), (np.ones((3, 1, 1)), 3, True, (3,)),
    (np.ones((3, 1)), 3, False, None), (np.ones((3, 1, 1)), 3, False, None),
    (np.ones((1, 1, 3, 1)), 3, True, None), (np.ones(2), 3, False, None),
    (np.ones((1, 2)), 3, False, None),
])
def test_per_channel_constants(value, count, four_d, shape):
    """A constant broadcasting over (N, C) or (N, C, H, W): one number, or C values along
    C (the last axis of a 2-D tensor, axis 1 of a 4-D one), as float32."""
    if shape is None:
        with pytest.raises(qonnx.QonnxError) as err:
            per_channel(value, count, four_d, "here")
        assert str(err.value) == (f"here: a constant of shape {list(np.shape(value))} is "
                                  "not per channel")
        return
    got = per_channel(value, count, four_d, "here")
    assert got.shape == shape and got.dtype == np.float32
    assert got.tolist() == np.float32(value).ravel()[: max(1, int(np.prod(shape)))].reshape(
        shape).tolist()


def test_constants_for_messages_and_json():
    assert short(np.float32(0.5)) == "0.5"
    assert short(np.float32([0.25, 0.25])) == "0.25"
    assert short([0.5, 0.25]) == "per channel (2)"
    assert short(np.float32([0.125, 0.5, 0.5])) == "per channel (3)"
    assert jsonable(np.float32(0.5)) == 0.5
    assert jsonable(np.float32([0.25, 0.25])) == 0.25
    assert jsonable(np.float32([0.5, 0.25])) == [0.5, 0.25]
    assert jsonable(np.float32([0.125, 0.5, 0.5])) == [0.125, 0.5, 0.5]
    one = uniform([0.1, 0.1])
    assert one.shape == () and one.dtype == np.float32 and one == np.float32(0.1)
    per = uniform([0.5, 0.25])
    assert per.dtype == np.float32 and per.tolist() == [0.5, 0.25]
    assert uniform(np.float32([[0.5]])).shape == ()


def test_an_accumulators_tail_runs_in_float32():
    """5 x 0.1f is 0.5 in float32 (0.50000000745 in float64)."""
    acc = Acc(Dense("fc1", weight_dtype="int2", weights=np.ones((1, 1), int)), [],
              [lambda v: v * np.float32(0.1)])
    v = acc.value(np.array([[5]], np.int64))
    assert v.dtype == np.float32 and v.tolist() == [[np.float32(0.5)]]


def test_the_import_report_table():
    report = ImportReport()
    assert report.table() == "node  op                  became"
    report.rows += [("Quant_0", "Quant", "graph input uint4 [4], scale 0.5"),
                    ("MatMul_0", "MatMul", "fc1: dense 3x4, int3 weights")]
    report.margins = {"fc1": 0.001}
    report.preprocessing = ["sub 0.5", "mul 2"]
    assert report.table().splitlines() == [
        "node      op                  became",
        "Quant_0   Quant               graph input uint4 [4], scale 0.5",
        "MatMul_0  MatMul              fc1: dense 3x4, int3 weights",
        "smallest threshold margin: 0.001 accumulator units (layer fc1)",
        "before the input quantizer (the host applies these to pixels): sub 0.5, mul 2"]
    report.margins = {"fc1": 0.0002}
    assert report.table().splitlines()[3] == (
        "smallest threshold margin: 0.0002 accumulator units (layer fc1) -- closer than 1e-3: "
        "float rounding decides it, and the graph follows the exporter's float32 there; "
        "compare hwgen sim's outputs with the model's on your data, or retrain (a margin of "
        "0.5 is the most there is)")


def test_what_a_tensor_is_when_a_handler_needs_another_kind():
    state = ImportState(None, "m")
    codes = Codes("input", Tensor((4,), DType("uint", 4)), np.float32(1), "flat")
    state.values = {"c": codes, "w": Weights(np.ones(2), np.float32(1), DType("int", 2))}
    assert state.get("c", "here", (Codes, Acc)) is codes
    with pytest.raises(qonnx.QonnxError) as err:
        state.get("w", "here", (Codes, Acc))
    assert str(err.value) == ("here: its input 'w' is a float tensor; hwgen needs quantized "
                              "codes or an accumulator")
    state.values["x"] = PRE
    with pytest.raises(qonnx.QonnxError) as err:
        state.get("x", "here", (Acc,))
    assert str(err.value) == ("here: its input 'x' is the model input before its quantizer; "
                              "hwgen needs an accumulator")


# --- known bugs ------------------------------------------------------------------------------


def test_a_one_dimensional_weight_scale_broadcasts_as_in_onnx(tmp_path):
    """MatMul weights (in, out) = each row [1, 2, 3], scale (3,) = [1, 2, 3]: per output
    column, so every code is 1 (it was once aligned with the first axis)."""
    w = np.float32([[1, 2, 3]] * 3)
    path = save(tmp_path / "w.onnx", [xq(), q("w", "wq", "s"), n("MatMul", ["xq", "wq"], "y")],
                [1, 3], {"w": w, "s": [1.0, 2.0, 3.0]})
    g, report = qonnx.load(path)
    assert g.layers[0].weights.tolist() == [[1] * 3] * 3
    check_against_executor(path, g, report, frames(np.random.default_rng(31), [1, 3], 10))


def test_a_constant_along_the_width_of_a_conv_output_is_not_per_channel(tmp_path):
    """A (1, 1, 1, C) Mul on an NCHW accumulator 2 wide with C = 2 runs along W in ONNX; it
    was once taken as per channel."""
    rng = np.random.default_rng(32)
    tail, consts = head("f", 8, rng)
    nodes = [xq(), q("wc", "wcq"), n("Conv", ["xq", "wcq"], "c"), n("Mul", ["c", "k"], "m"),
             n("Relu", "m", "r"), q("r", "h", "one", "b3", 0), n("Flatten", "h", "f"), *tail]
    path = save(tmp_path / "w.onnx", nodes, [1, 2, 2, 2],
                {"wc": np.eye(2).reshape(2, 2, 1, 1), "k": np.float32([[[[0.25, 2.0]]]]),
                 **consts})
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path)
    assert str(err.value).endswith("a constant of shape [1, 1, 1, 2] is not per channel")


def test_multithreshold_compares_with_its_thresholds_as_given(tmp_path):
    """Thresholds stored as doubles [0.7, 1.5, 2.5] on codes x 0.7f (int4 input at 0.7,
    weight 1): qonnx's executor compares the float32 values with the doubles as they are,
    so one code (0.7f = 0.69999999) stays below 0.7 and the accumulator's thresholds are
    2, 3, 4 (2.1f >= 1.5, 2.8f >= 2.5); rounding the thresholds to float32 first (as the
    import once did) made 0.7 reachable by one code."""
    rng = np.random.default_rng(33)
    tail, consts = head("h", 1, rng)
    nodes = [q("x", "xq", "s7", "b4"), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"),
             mt("a", "UINT2"), *tail]
    path = save(tmp_path / "mt64.onnx", nodes, [1, 1], {"s7": 0.7, "w": [[1]], "t": [[0, 0, 0]],
                                                         **consts})
    model = ModelWrapper(str(path))
    model.set_initializer("t", np.float64([[0.7, 1.5, 2.5]]))
    model.save(str(path))
    g, report = qonnx.load(path)
    assert g.layers[0].activation.thresholds.tolist() == [[2, 3, 4]]
    x = (np.arange(-8, 8, dtype=np.float32) * np.float32(0.7)).reshape(16, 1, 1)
    assert check_against_executor(path, g, report, x) == 16
