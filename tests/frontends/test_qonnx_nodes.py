"""QONNX import node by node: tiny QONNX graphs written with onnx.helper, one per handler
and attribute variant. Each accepted model is checked against qonnx's own executor
(:func:`check_against_executor`: every quantized tensor code for code, the logits to
float32 precision), and its layers' names and geometry against values worked out by hand;
each refused one must give its one-line message, which names the node (as qonnx's cleanup
renames it) and what is allowed."""

import sys

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper
from qonnx.core.modelwrapper import ModelWrapper
from qonnx.util.cleanup import cleanup_model

from hwgen.frontends import qonnx
from tests.frontends.test_qonnx import check_against_executor

pytestmark = [pytest.mark.qonnx]

DOM = "qonnx.custom_op.general"
# scales, the zero point and bit widths the models' quantizers share
BASE = {"one": 1.0, "half": 0.5, "quarter": 0.25, "eighth": 0.125, "z": 0.0, "b3": 3,
        "b4": 4, "b8": 8}


def q(src: str, dst: str, scale: str = "one", bits: str = "b3", signed: int = 1):
    """A Quant node: ``src`` to ``bits``-bit codes at ``scale`` (initializer names)."""
    return helper.make_node("Quant", [src, scale, "z", bits], [dst], domain=DOM,
                            signed=signed, narrow=0, rounding_mode="ROUND")


def n(op: str, ins, out: str, **attrs):
    return helper.make_node(op, [ins] if isinstance(ins, str) else list(ins), [out], **attrs)


def xq(scale: str = "half", bits: str = "b4", signed: int = 0):
    """The input quantizer: x to ``xq`` (unsigned 4-bit at 1/2 unless told)."""
    return q("x", "xq", scale, bits, signed)


def head(src: str, features: int, rng, out: str = "y") -> tuple[list, dict]:
    """``src`` (flat codes) into a last MatMul with int3 weights: the logits."""
    return ([q("wo", "woq"), n("MatMul", [src, "woq"], out)],
            {"wo": rng.integers(-4, 4, (features, 3))})


def hidden(src: str, features: int, rng, units: int = 4) -> tuple[list, dict]:
    """MatMul -> Mul by a per-channel constant -> Relu -> Quant uint3 -> :func:`head`."""
    nodes, consts = head("h", units, rng)
    return ([q("w1", "w1q"), n("MatMul", [src, "w1q"], "a1"), n("Mul", ["a1", "m"], "a2"),
             n("Relu", "a2", "r"), q("r", "h", signed=0), *nodes],
            {"w1": rng.integers(-4, 4, (features, units)), "m": rng.uniform(0.05, 0.3, units),
             **consts})


def save(path, nodes: list, shape: list[int], consts: dict | None = None, *, opset: int = 13,
         inputs: list | None = None):
    """A model of ``nodes`` whose input is x of ``shape`` and output the last node's."""
    inits = [numpy_helper.from_array(v if isinstance(v, np.ndarray) and v.dtype == np.int64
                                     else np.asarray(v, np.float32), k)
             for k, v in {**BASE, **(consts or {})}.items()]
    graph = helper.make_graph(
        nodes, "m", inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)], inits)
    path.write_bytes(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
                     .SerializeToString())
    return path


def cleaned(path):
    return cleanup_model(ModelWrapper(str(path)))


def refuses(path, op: str, text: str, k: int = 0, **load):
    """Importing ``path`` raises exactly ``node '<name>' (<op>): <text>`` for the ``k``-th
    ``op`` node of the cleaned model; ``{i0}``, ``{i1}`` in ``text`` are its inputs' names
    (quoted)."""
    node = cleaned(path).get_nodes_by_op_type(op)[k]
    names = {f"i{j}": repr(name) for j, name in enumerate(node.input)}
    want = f"node {node.name!r} ({op}): " + text.format(**names)
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path, **load)
    assert str(err.value) == want


def frames(rng, shape, count: int, top: int = 16, scale: float = 0.5) -> np.ndarray:
    """``count`` inputs of ``shape`` (batch 1) whose values are codes 0..top-1 x scale."""
    return (rng.integers(0, top, (count, *shape)) * scale).astype(np.float32)


def rows(report) -> dict[str, str]:
    """The import report: op type -> what its last node became."""
    return {op: what for _, op, what in report.rows}


# --- pooling --------------------------------------------------------------------------


@pytest.mark.parametrize("kernel,strides,stride,out", [([1, 4], None, None, (6, 1)),
                                                       ([3, 2], [2, 1], (2, 1), (2, 3))])
def test_max_pool_kernel_and_strides(tmp_path, kernel, strides, stride, out):
    """A 3x2 max pool moved by (2, 1) on a 6x4 map: floor((6-3)/2)+1 = 2 rows, 4-2+1 = 3
    columns; a 1x4 pool with no strides (ONNX's default 1; each row's max, one column)."""
    rng = np.random.default_rng(1)
    features = 2 * out[0] * out[1]
    tail, consts = head("f", features, rng)
    nodes = [xq(), n("MaxPool", "xq", "p", kernel_shape=kernel,
                     **({"strides": strides} if strides else {})),
             n("Flatten", "p", "f"), *tail]
    path = save(tmp_path / "mp.onnx", nodes, [1, 2, 6, 4], consts)
    g, report = qonnx.load(path)
    assert [(layer.name, layer.op) for layer in g.layers] == [("pool1", "maxpool2d"),
                                                               ("fc1", "dense")]
    pool = g.layers[0]
    assert pool.kernel == tuple(kernel) and (stride is None or pool.stride == stride)
    assert rows(report)["MaxPool"] == f"pool1: max pool {tuple(kernel)}"
    assert [name for name, _, _ in report.rows] == [node.name for node in cleaned(path).graph.node]
    assert ("pool1", 0.5) in report.codes.values()  # the input's scale: a max keeps it
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 6, 4], 20)) == 20


def test_max_pool_without_strides_moves_by_one_as_onnx_does(tmp_path):
    """ONNX's MaxPool stride defaults to 1 (it once defaulted to the kernel here, which
    refused this graph: its dense weights do not fit 3x2 windows)."""
    rng = np.random.default_rng(1)
    tail, consts = head("f", 2 * 5 * 3, rng)  # 2x2 windows moved by 1 on 6x4: 5x3
    nodes = [xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2]), n("Flatten", "p", "f"), *tail]
    path = save(tmp_path / "mp.onnx", nodes, [1, 2, 6, 4], consts)
    g, report = qonnx.load(path)
    assert g.layers[0].stride == (1, 1)
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 6, 4], 20)) == 20


@pytest.mark.parametrize("op,attrs", [("GlobalAveragePool", {}),
                                      ("AveragePool", {"kernel_shape": [2, 3]}),
                                      ("AveragePool", {"kernel_shape": [2, 3],
                                                       "auto_pad": "VALID"})])
def test_an_average_over_the_whole_map_is_a_global_sum_pool(tmp_path, op, attrs):
    """On a 2x3 map, GlobalAveragePool and an AveragePool whose kernel is the map (padding
    VALID is no padding) both become a global sum pool whose 1/6 goes into the next
    layer's thresholds."""
    rng = np.random.default_rng(2)
    tail, consts = hidden("f", 2, rng)
    nodes = [xq(), n(op, "xq", "p", **attrs), n("Flatten", "p", "f"), *tail]
    path = save(tmp_path / "gap.onnx", nodes, [1, 2, 2, 3], consts)
    g, report = qonnx.load(path)
    assert [(layer.name, layer.op) for layer in g.layers] == [
        ("gsp1", "global_sum_pool"), ("fc1", "dense"), ("fc2", "dense")]
    assert rows(report)[op] == "gsp1: global sum pool (the 1/6 goes into the scale)"
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 2, 3], 30)) == 30


@pytest.mark.parametrize("attrs", [{}, {"auto_pad": "VALID"}, {"strides": [1, 1]}])
def test_an_average_pool_smaller_than_the_map_sums_each_window(tmp_path, attrs):
    """A 3x2 window on a 3x4 map, moved by 1 (ONNX's default): an avgpool2d with 1x3
    outputs; its 1/6 goes into the codes' scale (1/2 / 6)."""
    rng = np.random.default_rng(3)
    tail, consts = hidden("f", 6, rng)
    nodes = [xq(), n("AveragePool", "xq", "p", kernel_shape=[3, 2], **attrs),
             n("Flatten", "p", "f"), *tail]
    path = save(tmp_path / "avg.onnx", nodes, [1, 2, 3, 4], consts)
    g, report = qonnx.load(path)
    assert [(layer.name, layer.op) for layer in g.layers] == [
        ("avg1", "avgpool2d"), ("fc1", "dense"), ("fc2", "dense")]
    assert g.layers[0].kernel == (3, 2) and g.layers[0].stride == (1, 1)
    assert rows(report)["AveragePool"] == "avg1: window sum (3, 2) (the 1/6 goes into the scale)"
    assert report.codes[cleaned(path).get_nodes_by_op_type("AveragePool")[0].output[0]] == (
        "avg1", pytest.approx(0.5 / 6))
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 3, 4], 30)) == 60


@pytest.mark.parametrize("pool,attrs,scale", [("MaxPool", {"strides": [2, 2]}, 0.5),
                                              ("AveragePool", {"strides": [2, 2]}, 0.125)])
def test_pools_on_two_branches_joined_by_a_concat(tmp_path, pool, attrs, scale):
    """xq -> 1x1 conv -> Relu -> Quant at xq's scale -> pool; xq -> pool; Concat along
    channels -> Flatten -> MatMul. The second pool reads the graph input, not the layer
    before it; the concat joins codes at one scale (a max keeps 1/2, a 2x2 sum makes it
    1/8)."""
    rng = np.random.default_rng(4)
    tail, consts = head("f", 4 * 2 * 2, rng)
    branch = [[q(f"w{k}", f"w{k}q"), n("Conv", ["xq", f"w{k}q"], f"c{k}"),
               n("Relu", f"c{k}", f"r{k}"), q(f"r{k}", f"h{k}", "half", signed=0),
               n(pool, f"h{k}", f"p{k}", kernel_shape=[2, 2], **attrs)] for k in (1, 2)]
    nodes = [xq(bits="b3"), *branch[0], *branch[1], n("Concat", ["p1", "p2"], "cat", axis=1),
             n("Flatten", "cat", "f"), *tail]
    path = save(tmp_path / "cat.onnx", nodes, [1, 2, 4, 4],
                {"w1": rng.integers(-3, 4, (2, 2, 1, 1)), "w2": rng.integers(-3, 4, (2, 2, 1, 1)),
                 **consts})
    g, report = qonnx.load(path)
    kind = "pool" if pool == "MaxPool" else "avg"
    assert {layer.name: layer.inputs for layer in g.layers} == {
        "conv1": ["input"], "conv2": ["input"], f"{kind}1": ["conv1"], f"{kind}2": ["conv2"],
        "cat1": [f"{kind}1", f"{kind}2"], "fc1": ["cat1"]}
    assert [layer.op for layer in g.layers][2:5] == [g.layers[2].op] * 2 + ["concat"]
    assert ("cat1", scale) in report.codes.values()
    assert rows(report)["Concat"] == "cat1: concat along channels"
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 4, 4], 20, 8)) == 20 * 5


# --- weighted layers -----------------------------------------------------------------------


def _conv_model(tmp_path, rng, variant: str):
    """x (1, 2, 5, 4) -> Quant uint4 (1/2) -> conv variant -> Relu -> Quant uint3 ->
    Flatten -> MatMul. Returns (path, the weighted conv's expected fields)."""
    consts = {"wc": rng.integers(-3, 4, (3, 2, 3, 2))}
    if variant == "plain":  # no attributes, a float bias, a per-channel Mul (1, C, 1, 1)
        conv = [q("wc", "wcq"), n("Conv", ["xq", "wcq", "bc"], "c0"),
                n("Mul", ["c0", "mc"], "c")]
        consts |= {"bc": rng.uniform(-2, 2, 3), "mc": np.float32([0.5, 0.25, 1.5]
                                                                 ).reshape(1, 3, 1, 1)}
        want = {"stride": (1, 1), "padding": (0, 0), "groups": 1, "bias": None}
        out = (3, 3, 3)
    elif variant == "strided":  # every attribute given; a bias quantized at 1/2 x 1
        conv = [q("wc", "wcq"), q("bc", "bcq", "half", "b8"),
                n("Conv", ["xq", "wcq", "bcq"], "c", strides=[2, 1], pads=[1, 0, 1, 0],
                  dilations=[1, 1], group=1, kernel_shape=[3, 2])]
        consts["bc"] = np.float32([3, -5, 1]) * 0.5
        want = {"stride": (2, 1), "padding": (1, 0), "groups": 1, "bias": [3, -5, 1]}
        out = (3, 3, 3)  # rows (5 + 2 - 3) // 2 + 1, columns 4 - 2 + 1
    else:  # depthwise after a Quant with a per-channel scale; a bias at another scale
        conv = [q("w0", "w0q"), n("Conv", ["xq", "w0q"], "c1"), n("Relu", "c1", "r1"),
                q("r1", "h1", "sc", signed=0), q("wd", "wdq"), q("bc", "bcq", "eighth", "b8"),
                n("Conv", ["h1", "wdq", "bcq"], "c", group=2)]
        consts = {"w0": rng.integers(-3, 4, (2, 2, 1, 1)), "wd": rng.integers(-3, 4, (2, 1, 3, 3)),
                  "sc": np.float32([0.5, 0.25]).reshape(1, 2, 1, 1),
                  "bc": np.float32([3, -6]) * 0.125}
        want = {"stride": (1, 1), "padding": (0, 0), "groups": 2, "bias": None}
        out = (3, 2, 2)
    tail, more = head("f", int(np.prod(out)), rng)
    nodes = [xq(), *conv, n("Relu", "c", "r"), q("r", "h", signed=0), n("Flatten", "h", "f"),
             *tail]
    return save(tmp_path / f"conv_{variant}.onnx", nodes, [1, 2, 5, 4], consts | more), want


@pytest.mark.parametrize("variant,row", [
    ("plain", "conv1: standard conv 3x2, int3 weights"),
    ("strided", "conv1: standard conv 3x2, int3 weights"),
    ("depthwise", "conv2: depthwise conv 3x3, int3 weights")])
def test_conv_attributes_and_biases(tmp_path, variant, row):
    """A 3x2 conv with no attributes (stride 1, no padding), with strides (2, 1) and
    symmetric padding (1, 0), and a depthwise 3x3 conv (group 2) after per-channel scales;
    its bias a float constant, quantized at the accumulator's scale (then it is the
    layer's integer bias), or quantized at another scale (a float op of the tail)."""
    rng = np.random.default_rng(5)
    path, want = _conv_model(tmp_path, rng, variant)
    g, report = qonnx.load(path)
    conv = g.layers[-2]
    assert conv.op == "conv2d" and conv.name == row.split(":")[0]
    assert [layer.name for layer in g.layers] == (["conv1", "conv2", "fc1"]
                                                  if variant == "depthwise" else
                                                  ["conv1", "fc1"])
    assert conv.stride == want["stride"] and conv.padding == want["padding"]
    assert conv.groups == want["groups"]
    assert (conv.bias is None if want["bias"] is None else conv.bias.tolist() == want["bias"])
    assert [w for _, op, w in report.rows if op == "Conv"][-1] == row
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 5, 4], 25)) == 25 * len(
        report.codes)


def _gemm_model(tmp_path, rng, variant: str):
    """x (1, 4) -> Quant int4 (1/2) -> Gemm (5 units) -> Relu -> Quant uint3 -> Gemm
    (3 units): the logits, whose float tail is scale x acc + bias."""
    w1, w2 = rng.integers(-4, 4, (4, 5)), rng.integers(-4, 4, (5, 3))
    b1, b2 = rng.integers(-6, 7, 5).astype(np.float32), rng.integers(-6, 7, 3).astype(np.float32)
    consts = {"w1": w1, "w2": w2}
    if variant == "transB":  # (out, in) weights, per-unit scales (5, 1), float biases
        consts |= {"w1": w1.T, "w2": w2.T, "s1": np.float32([1, 0.5, 0.25, 1, 2]).reshape(5, 1),
                   "b1": b1 * 0.3, "b2": b2 * 0.3}
        g1 = [q("w1", "w1q", "s1"), n("Gemm", ["xq", "w1q", "b1"], "a", transB=1)]
        g2 = [q("w2", "w2q"), n("Gemm", ["h", "w2q", "b2"], "y", transB=1)]
        offset = b2 * np.float32(0.3)
    elif variant == "int_bias":  # biases quantized at the accumulators' scales, (1, 5), (3,);
        # then a Mul by a constant with two negative units: those channels fall
        consts |= {"b1": (b1 * 0.5).reshape(1, 5), "b2": b2, "neg": [1, -1, 0.5, -0.5, 1]}
        g1 = [q("w1", "w1q"), q("b1", "b1q", "half", "b8"),
              n("Gemm", ["xq", "w1q", "b1q"], "a0", transA=0, alpha=1.0),
              n("Mul", ["a0", "neg"], "a")]
        g2 = [q("w2", "w2q"), q("b2", "b2q", "one", "b8"), n("Gemm", ["h", "w2q", "b2q"], "y")]
        offset = np.zeros(3)
    elif variant == "beta":  # beta 1/2: on a float bias, and on one quantized at the scale
        consts |= {"b1": b1 * 0.3, "b2": b2}
        g1 = [q("w1", "w1q"), n("Gemm", ["xq", "w1q", "b1"], "a", beta=0.5)]
        g2 = [q("w2", "w2q"), q("b2", "b2q", "one", "b8"),
              n("Gemm", ["h", "w2q", "b2q"], "y", beta=0.5)]
        offset = b2 * 0.5
    else:  # "other_scale": biases quantized at 1/4 and 1/8, not the accumulators' 1/2, 1
        consts |= {"b1": b1 * 0.25, "b2": b2 * 0.125}
        g1 = [q("w1", "w1q"), q("b1", "b1q", "quarter", "b8"), n("Gemm", ["xq", "w1q", "b1q"], "a")]
        g2 = [q("w2", "w2q"), q("b2", "b2q", "eighth", "b8"), n("Gemm", ["h", "w2q", "b2q"], "y")]
        offset = b2 * 0.125
    nodes = [xq(signed=1), *g1, n("Relu", "a", "r"), q("r", "h", signed=0), *g2]
    return save(tmp_path / f"gemm_{variant}.onnx", nodes, [1, 4], consts), offset, w1


@pytest.mark.parametrize("variant", ["transB", "int_bias", "beta", "other_scale"])
def test_gemm_attributes_and_biases(tmp_path, variant):
    """Gemm with transB (weights (out, in), per-unit weight scales), with biases quantized
    at the accumulator's scale (then the layer's integer bias), with beta 1/2, and with
    biases quantized at another scale; the last Gemm's scale and bias are the logits'
    affine output (the float32 values the model adds)."""
    rng = np.random.default_rng(6)
    path, offset, w1 = _gemm_model(tmp_path, rng, variant)
    g, report = qonnx.load(path)
    assert [(layer.name, layer.op) for layer in g.layers] == [("fc1", "dense"), ("fc2", "dense")]
    assert g.layers[0].weights.shape == (5, 4)
    out = g.meta["output"]
    assert np.allclose(out["offset"], offset, rtol=1e-6)
    assert np.allclose(out["scale"], 1.0, rtol=1e-6)
    if variant == "int_bias":  # the integer bias, negated on the falling channels
        codes = np.rint(np.asarray(ModelWrapper(str(path)).get_initializer("b1")) / 0.5)
        assert g.layers[0].bias.tolist() == (codes.ravel() * [1, -1, 1, -1, 1]).tolist()
        assert g.layers[0].weights.tolist() == (w1.T * np.array([1, -1, 1, -1, 1])[:, None]
                                                ).tolist()
    else:
        assert g.layers[1].bias is None
    assert rows(report)["Gemm"] == "fc2: dense 3x5, int3 weights"
    x = (np.random.default_rng(7).integers(-8, 8, (30, 1, 4)) * 0.5).astype(np.float32)
    assert check_against_executor(path, g, report, x) == 30


def test_the_float_ops_run_in_float32_as_the_exporter_runs_them(tmp_path):
    """Scales of 1/10 and biases of 2 x 1/20 (both 0.1f): an accumulator of 4 gives
    4 x 0.1f + 0.1f = 0.5 exactly in float32, which rounds (half to even) to 0, where
    float64 (0.50000000745) would round to 1. A 1x1 conv of the input at 1/10 with that
    bias, into a Quant at 1; then a Gemm with weights 2 x 1/10 and that bias, into a Quant
    at 1: both layers reach level 1 from an accumulator of 5, not 4."""
    nodes = [q("x", "xq", "tenth", "b4", signed=0), q("wc", "wcq"),
             q("bias", "bcq", "twentieth", "b8"), n("Conv", ["xq", "wcq", "bcq"], "c"),
             q("c", "h", "one", "b3", signed=0), n("Flatten", "h", "f"),
             q("wd", "wdq", "tenth", "b3"), q("bias", "bdq", "twentieth", "b8"),
             n("Gemm", ["f", "wdq", "bdq"], "d"), q("d", "y", "one", "b3", signed=0)]
    path = save(tmp_path / "f32.onnx", nodes, [1, 1, 1, 2],
                {"tenth": 0.1, "twentieth": 0.05, "wc": np.ones((1, 1, 1, 1)),
                 "wd": np.float32([[0.2], [0.2]]), "bias": np.float32([0.1])})
    g, report = qonnx.load(path)
    assert [layer.activation.thresholds[0][0] for layer in g.layers] == [5, 5]
    codes = np.arange(16, dtype=np.float32)  # pixel codes c and 15 - c: dense sums 0..8
    x = np.stack([codes, codes[::-1]], 1).reshape(16, 1, 1, 1, 2) * np.float32(0.1)
    assert check_against_executor(path, g, report, x) == 16 * 2  # h and y


# --- element-wise ops on an accumulator -------------------------------------------------

W_TAIL = [[3, -2, 1], [1, 3, -3]]  # a 2-input, 3-unit MatMul: accumulators -21..28


@pytest.mark.parametrize("ops,consts", [
    ([n("Add", ["a", "c3"], "t")], {"c3": [0.75, -1.5, 2.25]}),
    ([n("Add", ["c3", "a"], "t")], {"c3": [0.75, -1.5, 2.25]}),
    ([n("Sub", ["a", "c3"], "t")], {"c3": np.float32([[1.25, -0.5, 3]])}),
    # falling: c - acc; unit 0 (accumulators 0..28, the layer's -21..28) reaches level 1
    # on all of them, down to the corrected -28, below the layer's lowest accumulator
    ([n("Sub", ["c3", "a"], "t")], {"c3": [20.0, 3.0, 8.5]}),
    ([n("Mul", ["a", "m3"], "a2"), n("Add", ["a2", "c3"], "t")],
     {"m3": [0.5, -0.75, 0.3], "c3": [1.0, 6.0, 0.5]}),  # the middle channel falls
    ([n("Mul", ["m3", "a"], "t")], {"m3": [0.5, -0.75, 0.3]}),
    ([n("Div", ["a", "d3"], "t")], {"d3": [2.0, 0.5, 3.0]}),
    ([n("Div", ["a", "d1"], "t")], {"d1": 0.4}),
    ([n("BatchNormalization", ["a", "g", "b", "mu", "v"], "t")],
     {"g": [1.0, -0.5, 0.25], "b": [0.5, 3.0, 1.0], "mu": [2.0, -1.0, 0.5],
      "v": [0.01, 0.04, 0.02]}),
    ([n("BatchNormalization", ["a", "g", "b", "mu", "v"], "t", epsilon=0.3)],
     {"g": [1.0, -0.5, 0.25], "b": [0.5, 3.0, 1.0], "mu": [2.0, -1.0, 0.5],
      "v": [0.01, 0.04, 0.02]}),
], ids=["add", "add-first", "sub", "sub-first", "mul-add", "mul-first", "div", "div-scalar",
        "bn", "bn-epsilon"])
def test_constant_ops_join_the_accumulators_float_tail(tmp_path, ops, consts):
    """MatMul -> the ops -> Relu -> Quant uint3 -> MatMul, on every one of the 64 inputs
    (two uint3 features at 1/2): the thresholds equal the executor's float ops exactly,
    with the constant second or first (c - acc, c x acc), per channel or one number,
    falling channels included, and batch-norm with its epsilon or ONNX's 1e-5."""
    rng = np.random.default_rng(9)
    tail, more = head("h", 3, rng)
    nodes = [xq(bits="b3"), q("w", "wq"), n("MatMul", ["xq", "wq"], "a"), *ops,
             n("Relu", "t", "r"), q("r", "h", signed=0), *tail]
    path = save(tmp_path / "tail.onnx", nodes, [1, 2], {"w": W_TAIL, **consts, **more})
    g, report = qonnx.load(path)
    assert [layer.name for layer in g.layers] == ["fc1", "fc2"]
    op = ops[-1].op_type
    assert rows(report)[op] == (
        "fc1: batch-norm, folded into thresholds" if op == "BatchNormalization" else
        f"fc1: {op.lower()} by a constant, folded")
    grid = np.stack(np.meshgrid(np.arange(8), np.arange(8)), -1).reshape(64, 1, 2)
    assert check_against_executor(path, g, report, (grid * 0.5).astype(np.float32)) == 64


def test_a_residual_add_of_two_branches_at_one_scale(tmp_path):
    """xq -> MatMul -> Relu -> Quant int4 (1/2); xq -> MatMul -> Quant int4 (1/2); their Add
    is an add layer reading both, whose accumulator x 1/2 then Relu and Quant uint3."""
    rng = np.random.default_rng(10)
    tail, consts = head("h", 3, rng)
    nodes = [xq(signed=1), q("w1", "w1q"), n("MatMul", ["xq", "w1q"], "a1"), n("Relu", "a1", "r1"),
             q("r1", "h1", "half", "b4"), q("w2", "w2q"), n("MatMul", ["xq", "w2q"], "a2"),
             q("a2", "h2", "half", "b4"), n("Add", ["h1", "h2"], "s"), n("Relu", "s", "r"),
             q("r", "h", signed=0), *tail]
    path = save(tmp_path / "res.onnx", nodes, [1, 3], {"w1": rng.integers(-2, 3, (3, 3)),
                                                      "w2": rng.integers(-2, 3, (3, 3)), **consts})
    g, report = qonnx.load(path)
    assert {layer.name: (layer.op, layer.inputs) for layer in g.layers} == {
        "fc1": ("dense", ["input"]), "fc2": ("dense", ["input"]),
        "add1": ("add", ["fc1", "fc2"]), "fc3": ("dense", ["add1"])}
    assert rows(report)["Add"] == "add1: residual add"
    x = (rng.integers(-8, 8, (40, 1, 3)) * 0.5).astype(np.float32)
    assert check_against_executor(path, g, report, x) == 40 * 3


def test_ops_before_the_input_quantizer_are_the_hosts_preprocessing(tmp_path):
    """x (1, 2, 2) -> Sub 0.5 -> Mul 2 (constant first) -> Div 4 -> Add 1 -> Flatten ->
    Quant: no layers for them, each named in the report."""
    rng = np.random.default_rng(11)
    tail, consts = head("xq", 4, rng)
    nodes = [n("Sub", ["x", "half"], "p1"), n("Mul", ["two", "p1"], "p2"),
             n("Div", ["p2", "four"], "p3"), n("Add", ["p3", "one"], "p4"),
             n("Flatten", "p4", "p5"), q("p5", "xq", "half", "b4", signed=0), *tail]
    path = save(tmp_path / "pre.onnx", nodes, [1, 2, 2], {"two": 2.0, "four": 4.0, **consts})
    g, report = qonnx.load(path)
    assert report.preprocessing == ["sub 0.5", "mul 2", "div 4", "add 1"]
    assert [what for _, op, what in report.rows if op in ("Sub", "Mul", "Div", "Add")] == [
        "preprocessing (before the input quantizer)"] * 4
    assert rows(report)["Flatten"] == "preprocessing reshape"
    assert g.input.shape == (4,)
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 2], 10)) == 0  # logits


# --- shapes --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape,via", [([1, 2, 3, 2], "Transpose"), ([1, 2, 3, 2], "Flatten"),
                                       ([1, 2, 3, 2], "Reshape"), ([1, 2, 2, 1], "Flatten"),
                                       ([1, 2, 1, 2], "Flatten")])
def test_flattening_orders_the_dense_weights_like_the_model(tmp_path, shape, via):
    """An NCHW map flattened (Flatten or Reshape to (1, -1): columns in C, H, W order,
    reordered to hwgen's H, W, C; maps of 2x1 and 1x2 too) or transposed to NHWC first
    (H, W, C already), through an Identity, into a MatMul."""
    rng = np.random.default_rng(12)
    size = int(np.prod(shape))
    flat = {"Transpose": [n("Transpose", "xq", "t", perm=[0, 2, 3, 1]), n("Flatten", "t", "f")],
            "Flatten": [n("Flatten", "xq", "f")],
            "Reshape": [n("Reshape", ["xq", "flat"], "f")]}[via]
    tail, consts = head("i", size, rng)
    nodes = [xq(), *flat, n("Identity", "f", "i"), *tail]
    path = save(tmp_path / "flat.onnx", nodes, shape,
                {"flat": np.array([1, -1], np.int64), **consts})
    g, report = qonnx.load(path)
    assert [layer.op for layer in g.layers] == ["dense"]
    got = rows(report)
    assert got["Identity"] == "identity"
    assert got.get("Flatten", got.get("Reshape")) == "flatten"
    if via == "Transpose":
        assert got["Transpose"] == "NCHW to NHWC (hwgen's own order)"
    assert check_against_executor(path, g, report, frames(rng, shape, 20)) == 0  # logits


def test_a_flat_tensor_reshaped_to_one_pixel_and_back(tmp_path):
    """Flat codes reshaped to (N, C, 1, 1), then flattened again: no layer, same order."""
    rng = np.random.default_rng(13)
    tail, consts = head("f", 4, rng)
    nodes = [xq(), n("Reshape", ["xq", "pix"], "p"), n("Flatten", "p", "f"), *tail]
    path = save(tmp_path / "pix.onnx", nodes, [1, 4],
                {"pix": np.array([1, 4, 1, 1], np.int64), **consts})
    g, report = qonnx.load(path)
    assert [layer.op for layer in g.layers] == ["dense"]
    assert [w for _, op, w in report.rows if op in ("Reshape", "Flatten")] == ["flatten"] * 2
    assert check_against_executor(path, g, report, frames(rng, [1, 4], 10)) == 0  # logits


def test_a_flattened_nhwc_map_is_flat_codes_that_reshape_to_one_pixel_and_back(tmp_path):
    """x (1, 2, 3, 2) -> Transpose to NHWC -> Flatten: the codes in hwgen's own (H, W, C)
    order, i.e. flat; so they may be reshaped to (1, 12, 1, 1) and flattened again (only a
    flat tensor may take that reshape) into the MatMul, no layer in between."""
    rng = np.random.default_rng(15)
    tail, consts = head("g", 12, rng)
    nodes = [xq(), n("Transpose", "xq", "t", perm=[0, 2, 3, 1]), n("Flatten", "t", "f"),
             n("Reshape", ["f", "pix"], "p"), n("Flatten", "p", "g"), *tail]
    path = save(tmp_path / "nhwc-pix.onnx", nodes, [1, 2, 3, 2],
                {"pix": np.array([1, 12, 1, 1], np.int64), **consts})
    g, report = qonnx.load(path)
    assert [layer.op for layer in g.layers] == ["dense"]
    assert [w for _, op, w in report.rows if op in ("Reshape", "Flatten")] == ["flatten"] * 3
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 3, 2], 10)) == 0


def test_one_pixel_flattens_to_the_same_order_from_nchw_or_nhwc(tmp_path):
    """A 2x2 max pool to one pixel, flattened as NCHW and (through a Transpose) as NHWC:
    both are plain channel vectors, so a Concat of the two is allowed; and a one-pixel
    NHWC map feeds a MatMul directly."""
    rng = np.random.default_rng(14)
    tail, consts = head("cat", 4, rng, out="y1")
    nodes = [xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2]), n("Flatten", "p", "fa"),
             n("Transpose", "p", "t", perm=[0, 2, 3, 1]), n("Flatten", "t", "fb"),
             n("Concat", ["fa", "fb"], "cat", axis=1), *tail]
    path = save(tmp_path / "pixel.onnx", nodes, [1, 2, 2, 2], consts)
    g, report = qonnx.load(path)
    assert [layer.op for layer in g.layers] == ["maxpool2d", "concat", "dense"]
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 2, 2], 10)) == 20

    tail, consts = head("t", 2, rng)
    nodes = [xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2]),
             n("Transpose", "p", "t", perm=[0, 2, 3, 1]), *tail]
    path = save(tmp_path / "pixel2.onnx", nodes, [1, 2, 2, 2], consts)
    g, report = qonnx.load(path)
    assert [layer.op for layer in g.layers] == ["maxpool2d", "dense"]
    assert check_against_executor(path, g, report, frames(rng, [1, 2, 2, 2], 10)) == 10


# --- refusals: one line naming the node -----------------------------------------------------

SUPPORTED = ("Add, AveragePool, BatchNormalization, BipolarQuant, Concat, Conv, Div, Flatten, "
             "Gemm, GlobalAveragePool, Identity, MatMul, MaxPool, Mul, MultiThreshold, Quant, "
             "Relu, Reshape, Sub, Transpose, Trunc")
ACC_IN = "its input {i0} is an accumulator not yet quantized; hwgen needs quantized codes"
CODES_IN = "its input {i0} is quantized codes; hwgen needs an accumulator"
DENSE = [xq(), q("w", "wq"), n("MatMul", ["xq", "wq"], "a")]  # x (1, 4): an accumulator a
CONV = [xq(), q("wc", "wcq"), n("Conv", ["xq", "wcq"], "c")]  # x (1, 2, 4, 4): a 4-D one, c
NHWC = [xq(), n("Transpose", "xq", "t", perm=[0, 2, 3, 1])]  # x (1, 2, 2, 2): t
# xq under other names, xi and xi2 (qonnx's cleanup renames one use of a tensor read twice)
TWICE = [xq(), n("Identity", "xq", "xi"), n("Identity", "xq", "xi2")]
SQUARE = [1, 2, 2, 2]
ONE_BY_ONE = {"wc": np.ones((2, 2, 1, 1))}
BN = {"g": [1.0] * 4, "b": [0.0] * 4, "mu": [0.0] * 4, "v": [1.0] * 4}
NOT_POOL = "only an unpadded, undilated average pool is supported"

# id: (nodes, input shape, constants, refused op, its index, message after the node)
MAXPOOL = "only unpadded, undilated NCHW max pooling is supported"
REFUSALS = {
    "maxpool-pads": ([xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2], pads=[1, 1, 1, 1])],
                     [1, 2, 4, 4], {}, "MaxPool", 0,
                     MAXPOOL),
    "maxpool-ceil": ([xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2], strides=[2, 2],
                              ceil_mode=1)], [1, 2, 5, 5], {}, "MaxPool", 0,
                     MAXPOOL),
    "maxpool-same": ([xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2], auto_pad="SAME_UPPER")],
                     [1, 2, 4, 4], {}, "MaxPool", 0, MAXPOOL),
    "maxpool-dilated": ([xq(), n("MaxPool", "xq", "p", kernel_shape=[2, 2], dilations=[2, 2])],
                        [1, 2, 5, 5], {}, "MaxPool", 0, MAXPOOL),
    "maxpool-nhwc": ([*NHWC, n("MaxPool", "t", "p", kernel_shape=[2, 2])], SQUARE, {},
                     "MaxPool", 0, MAXPOOL),
    "maxpool-acc": ([*CONV, n("MaxPool", "c", "p", kernel_shape=[2, 2])], [1, 2, 4, 4],
                    ONE_BY_ONE, "MaxPool", 0, ACC_IN),
    "gap-acc": ([*CONV, n("GlobalAveragePool", "c", "p")], [1, 2, 4, 4], ONE_BY_ONE,
                "GlobalAveragePool", 0, ACC_IN),
    "gap-nhwc": ([*NHWC, n("GlobalAveragePool", "t", "p")], SQUARE, {}, "GlobalAveragePool",
                 0, "needs a 4-D NCHW input"),
    "avg-acc": ([*CONV, n("AveragePool", "c", "p", kernel_shape=[2, 2])], [1, 2, 4, 4],
                ONE_BY_ONE, "AveragePool", 0, ACC_IN),
    "avg-nhwc": ([*NHWC, n("AveragePool", "t", "p", kernel_shape=[2, 2])], SQUARE, {},
                 "AveragePool", 0, "needs a 4-D NCHW input"),
    "avg-same": ([xq(), n("AveragePool", "xq", "p", kernel_shape=[2, 2], auto_pad="SAME_UPPER")],
                 [1, 2, 4, 4], {}, "AveragePool", 0, NOT_POOL),
    "avg-ceil": ([xq(), n("AveragePool", "xq", "p", kernel_shape=[2, 2], strides=[2, 2],
                          ceil_mode=1)], [1, 2, 5, 5], {}, "AveragePool", 0, NOT_POOL),
    "avg-dilated": ([xq(), n("AveragePool", "xq", "p", kernel_shape=[2, 2], dilations=[2, 2])],
                    [1, 2, 4, 4], {"opset": 19}, "AveragePool", 0, NOT_POOL),
    "bn-codes": ([xq(), n("BatchNormalization", ["xq", "g", "b", "mu", "v"], "t")], [1, 4], BN,
                 "BatchNormalization", 0, CODES_IN),
    "relu-codes": ([xq(), n("Relu", "xq", "t")], [1, 4], {}, "Relu", 0, CODES_IN),
    **{f"{op.lower()}-codes": ([xq(), n(op, ["xq", "two"], "t")], [1, 4], {"two": 2.0}, op, 0,
                               CODES_IN) for op in ("Add", "Sub", "Mul", "Div")},
    "sub-first-codes": ([xq(), n("Sub", ["two", "xq"], "t")], [1, 4], {"two": 2.0}, "Sub", 0,
                        CODES_IN.replace("i0", "i1")),  # (qonnx moves Mul's constant last)
    **{f"{op.lower()}-two": ([*DENSE, n(op, ["a", "a"], "t")], [1, 4], {"w": np.ones((4, 3))},
                             op, 0, f"{op.lower()} of two computed tensors is not supported")
       for op in ("Sub", "Mul", "Div")},
    "mul-not-per-channel": ([*CONV, n("Mul", ["c", "k"], "t")], [1, 2, 3, 3],
                            {"wc": np.ones((3, 2, 1, 1)), "k": np.ones((1, 1, 3, 1))}, "Mul", 0,
                            "a constant of shape [1, 1, 3, 1] is not per channel"),
    "add-acc": ([*DENSE, n("Add", ["xq", "a"], "t")], [1, 4], {"w": np.ones((4, 4))}, "Add", 0,
                ACC_IN.replace("i0", "i1")),
    "add-shapes": ([*DENSE, q("a", "h", "half", "b4"), n("Add", ["xq", "h"], "t")], [1, 4],
                   {"w": np.ones((4, 1))}, "Add", 0,
                   "Add of tensors of different shapes or layouts"),
    "add-layouts": ([*NHWC, n("Add", ["xq", "t"], "s")], SQUARE, {}, "Add", 0,
                    "Add of tensors of different shapes or layouts"),
    "add-scales": ([*DENSE, q("a", "h", "quarter", "b4"), n("Add", ["xq", "h"], "t")], [1, 4],
                   {"w": np.ones((4, 4))}, "Add", 0,
                   "Add of tensors with different scales (0.5 vs 0.25) is not exact in integers"),
    "add-scales-close": ([q("x", "xq", "one", "b4", 0), q("w", "wq"),
                          n("MatMul", ["xq", "wq"], "a"), q("a", "h", "near", "b4"),
                          n("Add", ["xq", "h"], "t")], [1, 4],
                         {"w": np.ones((4, 4)), "near": 1.000005}, "Add", 0,
                         "Add of tensors with different scales (1 vs 1) is not exact in integers"),
    "flatten-acc": ([*CONV, n("Flatten", "c", "f")], [1, 2, 4, 4], ONE_BY_ONE, "Flatten", 0,
                    ACC_IN),
    "reshape-flat-3d": ([xq(), n("Reshape", ["xq", "to"], "r")], [1, 4],
                        {"to": np.array([1, 2, 2], np.int64)}, "Reshape", 0,
                        "reshape to [1, 2, 2] is not supported (only flattening)"),
    "reshape-nchw-4d": ([xq(), n("Reshape", ["xq", "to"], "r")], SQUARE,
                        {"to": np.array([1, 2, 4, 1], np.int64)}, "Reshape", 0,
                        "reshape to [1, 2, 4, 1] is not supported (only flattening)"),
    "reshape-nchw-pixel": ([xq(), n("Reshape", ["xq", "to"], "r")], [1, 2, 2, 1],
                           {"to": np.array([1, 4, 1, 1], np.int64)}, "Reshape", 0,
                           "reshape to [1, 4, 1, 1] is not supported (only flattening)"),
    "transpose-perm": ([xq(), n("Transpose", "xq", "t", perm=[0, 3, 2, 1])], SQUARE, {},
                       "Transpose", 0, "transpose [0, 3, 2, 1] is not supported"),
    "transpose-default": ([xq(), n("Transpose", "xq", "t")], SQUARE, {}, "Transpose", 0,
                          "transpose [] is not supported"),
    "transpose-twice": ([*NHWC, n("Transpose", "t", "t2", perm=[0, 2, 3, 1])], SQUARE, {},
                        "Transpose", 1, "transpose [0, 2, 3, 1] is not supported"),
    "transpose-acc": ([*CONV, n("Transpose", "c", "t", perm=[0, 2, 3, 1])], [1, 2, 4, 4],
                      ONE_BY_ONE, "Transpose", 0, ACC_IN),
    "concat-axis": ([*TWICE, n("Concat", ["xq", "xi"], "k", axis=2)], SQUARE, {}, "Concat", 0,
                    "only a Concat of two tensors along channels is supported"),
    "concat-three": ([*TWICE, n("Concat", ["xq", "xi", "xi2"], "k", axis=1)], SQUARE, {},
                     "Concat", 0, "only a Concat of two tensors along channels is supported"),
    "concat-layouts": ([*NHWC, n("Concat", ["xq", "t"], "k", axis=1)], SQUARE, {}, "Concat", 0,
                       "only a Concat of two tensors along channels is supported"),
    "concat-scales": ([*DENSE, q("a", "h", "quarter", "b4"), n("Concat", ["xq", "h"], "k",
                                                               axis=1)],
                      [1, 4], {"w": np.ones((4, 4))}, "Concat", 0,
                      "Concat of tensors with different scales"),
    "concat-scales-close": ([q("x", "xq", "one", "b4", 0), q("w", "wq"),
                             n("MatMul", ["xq", "wq"], "a"), q("a", "h", "near", "b4"),
                             n("Concat", ["xq", "h"], "k", axis=1)], [1, 4],
                            {"w": np.ones((4, 4)), "near": 1.000005}, "Concat", 0,
                            "Concat of tensors with different scales"),
    "concat-per-channel": ([q("x", "xq", "sc", "b4", 0), *TWICE[1:],
                            n("Concat", ["xq", "xi"], "k", axis=1)],
                           SQUARE, {"sc": np.float32([0.5, 0.25]).reshape(1, 2, 1, 1)},
                           "Concat", 0, "Concat of tensors with different scales"),
    "concat-acc": ([*CONV, n("Concat", ["xq", "c"], "k", axis=1)], [1, 2, 4, 4], ONE_BY_ONE,
                   "Concat", 0, ACC_IN.replace("i0", "i1")),
    "concat-one": ([xq(), n("Concat", ["xq"], "k", axis=1)], SQUARE, {}, "Concat", 0,
                   "cannot be imported (ValueError: not enough values to unpack (expected 2, "
                   "got 1))"),
    "gemm-transA": ([xq(), q("w", "wq"), n("Gemm", ["xq", "wq"], "a", transA=1)], [1, 4],
                    {"w": np.ones((1, 3))}, "Gemm", 0,
                    "only Gemm with transA=0 and alpha=1 is supported"),
    "gemm-alpha": ([xq(), q("w", "wq"), n("Gemm", ["xq", "wq"], "a", alpha=2.0)], [1, 4],
                   {"w": np.ones((4, 3))}, "Gemm", 0,
                   "only Gemm with transA=0 and alpha=1 is supported"),
    **{f"{op.lower()}-float-weights": (
        [xq(), n(op, ["xq", "w"], "a")], [1, 4] if op != "Conv" else [1, 2, 4, 4],
        {"w": np.ones((4, 3) if op != "Conv" else (2, 2, 1, 1))}, op, 0,
        "weights must come from a Quant or BipolarQuant of a constant")
       for op in ("Gemm", "MatMul", "Conv")},
    "matmul-acc": ([*DENSE, n("MatMul", ["a", "wq"], "a2")], [1, 4], {"w": np.ones((4, 4))},
                   "MatMul", 1, ACC_IN),
    "conv-acc": ([*CONV, n("Conv", ["c", "wcq"], "c2")], [1, 2, 4, 4], ONE_BY_ONE, "Conv", 1,
                 ACC_IN),
    "conv-nhwc": ([*NHWC, q("wc", "wcq"), n("Conv", ["t", "wcq"], "c")], SQUARE, ONE_BY_ONE,
                  "Conv", 0, "a convolution needs a 4-D NCHW input"),
    "conv-asymmetric": ([*CONV[:2], n("Conv", ["xq", "wcq"], "c", pads=[1, 0, 0, 0])],
                        [1, 2, 4, 4], ONE_BY_ONE, "Conv", 0,
                        "asymmetric padding [1, 0, 0, 0] is not supported"),
    "conv-bipolar-pad": ([helper.make_node("BipolarQuant", ["x", "one"], ["xq"], domain=DOM),
                          *CONV[1:2], n("Conv", ["xq", "wcq"], "c", pads=[1, 1, 1, 1])],
                         [1, 2, 4, 4], ONE_BY_ONE, "Conv", 0,
                         "zero padding of a bipolar input cannot be exact (0 is not a bin "
                         "value); pad with a quantized constant or drop padding"),
    "conv-dilated": ([*CONV[:2], n("Conv", ["xq", "wcq"], "c", dilations=[2, 2])],
                     [1, 2, 5, 5], {"wc": np.ones((2, 2, 2, 2))}, "Conv", 0,
                     "dilated convolutions are not supported"),
    "conv-per-channel": ([*CONV, n("Relu", "c", "r"), q("r", "h", "sc", signed=0),
                          n("Conv", ["h", "wcq"], "c2")], [1, 2, 4, 4],
                         {**ONE_BY_ONE, "sc": np.float32([0.5, 0.25]).reshape(1, 2, 1, 1)},
                         "Conv", 1, "a per-channel input scale into a standard conv"),
    "conv-bias-computed": ([n("Reshape", ["x", "flat"], "bx"), *CONV[:2],
                            n("Conv", ["xq", "wcq", "bx"], "c")], [1, 2, 4, 4],
                           {"wc": np.ones((32, 2, 1, 1)), "flat": np.array([-1], np.int64)},
                           "Conv", 0, "the bias must be a constant or a quantized one"),
    "matmul-nchw": ([xq(), q("w", "wq"), n("MatMul", ["xq", "wq"], "a")], SQUARE,
                    {"w": np.ones((2, 3))}, "MatMul", 0,
                    "a dense layer needs a flattened input"),
    "matmul-per-channel": ([q("x", "xq", "s2", "b4", 0), q("w", "wq"),
                            n("MatMul", ["xq", "wq"], "a")], [1, 2],
                           {"w": np.ones((2, 3)), "s2": np.float32([[0.5, 0.25]])}, "MatMul", 0,
                           "a per-channel input scale into a dense layer"),
    "gemm-bias-computed": ([xq(), q("w", "wq"), n("Gemm", ["xq", "wq", "x"], "a")], [1, 3],
                           {"w": np.ones((3, 3))}, "Gemm", 0,
                           "the bias must be a constant or a quantized one"),
    "unsupported": ([*DENSE, n("Tanh", "a", "t")], [1, 4], {"w": np.ones((4, 3))}, "Tanh", 0,
                    f"op Tanh is not supported; supported: {SUPPORTED}"),
    "softmax-inside": ([*DENSE, n("Softmax", "a", "s", axis=1), q("s", "y", signed=0)], [1, 4],
                       {"w": np.ones((4, 3))}, "Softmax", 0,
                       "not supported; Softmax keeps the order of its inputs, so the class is "
                       "the argmax of the logits before it: export the model without it (hwgen's "
                       "graph then ends in the logits; add an argmax layer for the label)"),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_unsupported_nodes_are_refused_in_one_line_naming_the_node(tmp_path, case):
    nodes, shape, consts, op, k, text = REFUSALS[case]
    consts = dict(consts)
    opset = consts.pop("opset", 13)
    path = save(tmp_path / f"{case}.onnx", nodes, shape, consts, opset=opset)
    refuses(path, op, text, k)


@pytest.mark.parametrize("c,affine", [(-10.0, False), (100.0, True)])
def test_a_float_tail_after_the_last_layer_must_be_affine(tmp_path, c, affine):
    """Relu(acc + c), acc in 0..60 (four uint4 codes, weights 1): at c = -10 it clips the
    accumulators below 10, refused; at c = 100 it never clips one, kept as the offset."""
    path = save(tmp_path / "relu.onnx", [*DENSE, n("Add", ["a", "c"], "b"), n("Relu", "b", "y")],
                [1, 4], {"w": np.ones((4, 3)), "c": c})
    if affine:
        g, report = qonnx.load(path)
        assert g.meta["output"] == {"scale": 0.5, "offset": 100.0}
        # no quantized tensor after the input: the logits are what is compared, frame by frame
        check_against_executor(path, g, report, frames(np.random.default_rng(5), [1, 4], 20))
        return
    name = cleaned(path).graph.output[0].name
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path)
    assert str(err.value) == (f"graph output {name!r}: the float ops after the last layer "
                              "are not affine (a Relu or a clip there? end the model in the "
                              "logits)")


def test_an_output_computed_before_any_quantizer_is_refused(tmp_path):
    path = save(tmp_path / "pre.onnx", [q("w", "wq"), n("Flatten", "x", "y")], [1, 2, 2],
                {"w": np.ones((2, 2))})
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path)
    assert str(err.value) == "graph output: computed before any quantizer; nothing to import"


def test_a_branch_whose_output_no_one_reads_is_refused_by_the_graph(tmp_path):
    """xq -> MatMul -> y; xq -> MatMul -> Quant (read by nothing): hwgen's graph checks
    that every layer's output is read."""
    nodes = [xq(), q("w", "wq"), n("MatMul", ["xq", "wq"], "a2"), q("a2", "h2"),
             n("MatMul", ["xq", "wq"], "y")]
    path = save(tmp_path / "dangling.onnx", nodes, [1, 4], {"w": np.ones((4, 3))})
    with pytest.raises(qonnx.QonnxError, match=r"^graph: the output of 'fc\d' is never read"):
        qonnx.load(path)


def test_a_float_model_is_told_every_step_of_what_to_do(tmp_path):
    path = save(tmp_path / "float.onnx", [n("MatMul", ["x", "w"], "y")], [1, 4],
                {"w": np.ones((4, 3))})
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path)
    assert str(err.value) == (
        "graph: the model has no quantizer (Quant, BipolarQuant, MultiThreshold): it is a "
        "float model, and hwgen builds integer hardware; quantize its weights and activations "
        "(Brevitas QuantLinear, QuantConv2d, QuantReLU...) and export with "
        "brevitas.export.export_qonnx")


def test_load_refuses_files_it_cannot_take(tmp_path, monkeypatch):
    """Two inputs; an unknown input_dtype; bytes that are not ONNX (the reader's own error
    type and first line); no qonnx installed."""
    from hwgen.core.dtypes import DType

    two = [helper.make_tensor_value_info(k, TensorProto.FLOAT, [1, 4]) for k in ("x", "x2")]
    path = save(tmp_path / "two.onnx", [*DENSE, n("Add", ["a", "x2"], "y")], [1, 4],
                {"w": np.ones((4, 4))}, inputs=two)
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path)
    assert str(err.value) == f"{path}: hwgen takes models with one input and one output"

    ok = save(tmp_path / "ok.onnx", DENSE, [1, 4], {"w": np.ones((4, 3))})
    with pytest.raises(ValueError) as parse:
        DType.parse("uint99")
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(ok, input_dtype="uint99")
    assert str(err.value) == f"input_dtype: {parse.value}"

    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not onnx\nat all")
    with pytest.raises(Exception) as read:  # what the reader itself says
        ModelWrapper(str(bad))
    first = str(read.value).splitlines()[0] if str(read.value) else ""
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(bad)
    assert str(err.value) == (f"{bad}: not a readable ONNX model "
                              f"({type(read.value).__name__}: {first})")

    monkeypatch.setitem(sys.modules, "qonnx.util.cleanup", None)  # import fails
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(ok)
    assert str(err.value) == "QONNX import needs the qonnx extra: pip install 'hwgen[qonnx]'"


def test_the_graph_is_named_after_the_file_or_as_told(tmp_path):
    path = save(tmp_path / "my-tiny-net.onnx", DENSE, [1, 4], {"w": np.ones((4, 3))})
    assert qonnx.load(path)[0].name == "my_tiny_net"
    assert qonnx.load(path, name="other")[0].name == "other"


class _Probe:
    """Enough of an import state for :func:`_finish_output`: the layer's raw output."""

    def __init__(self):
        self.meta = {}

    @staticmethod
    def infer(layer, xs):
        return layer.infer(xs)


@pytest.mark.parametrize("tail,affine", [
    (lambda v: v * np.float32(2) + np.float32(3), True),
    (lambda v: v * np.float32(0.1) - np.float32(1000), True),
    # off the line through 0 and 1 by 0.01 above 5, around 1005 (1e-5): within 1e-4; 0.5: not
    (lambda v: v + np.where(v > 5, np.float32(0.01), 0) + np.float32(1000), True),
    (lambda v: v + np.where(v > 5, np.float32(0.5), 0) + np.float32(1000), False),
    # 0.05 off around 1007 (5e-5 relative): within 1e-4, though not within 1e-5
    (lambda v: v + np.where(v > 5, np.float32(0.05), 0) + np.float32(1000), True),
    # near 0: 5e-5 absolute passes, 1e-3 does not
    (lambda v: np.where(v > 5, np.float32(5e-5), np.float32(0)), True),
    (lambda v: np.where(v > 5, np.float32(1e-3), np.float32(0)), False),
    # kinks the old probe (0, 1, 1000) missed: a Relu (negative side), a clip at 10
    (lambda v: np.maximum(v, np.float32(0)) * np.float32(3), False),
    (lambda v: np.minimum(v, np.float32(10)), False),
    (lambda v: np.where(v < -10, np.float32(-10), v), False),
])
def test_the_output_tail_is_kept_as_scale_and_offset_when_affine(tail, affine):
    """The accumulator is int5 (3 uint2 inputs, int2 weights all 1): the tail is probed at
    -16, -8, -3, -1, 0, 1, 2, 7 and 15; scale = f(1) - f(0), offset = f(0), and every f(a)
    must be offset + a x scale within 1e-4 (relative or absolute)."""
    from hwgen.core.dtypes import DType
    from hwgen.frontends.qonnx.state import Acc
    from hwgen.frontends.qonnx.walk import _finish_output
    from hwgen.ir.layer import Tensor
    from hwgen.ops import Dense

    layer = Dense("fc1", weight_dtype="int2", weights=np.ones((2, 3), int))
    state = _Probe()
    acc = Acc(layer, [Tensor((3,), DType.parse("uint2"))], [tail])
    if not affine:
        with pytest.raises(qonnx.QonnxError) as err:
            _finish_output(state, acc, "here")
        assert str(err.value) == ("here: the float ops after the last layer are not affine "
                                  "(a Relu or a clip there? end the model in the logits)")
        return
    _finish_output(state, acc, "here")
    f0, f1 = (np.float64(tail(np.float32(a))) for a in (0, 1))
    assert state.meta["output"] == {"scale": pytest.approx(f1 - f0), "offset": f0}


def test_a_relu_after_the_last_layer_is_refused(tmp_path):
    """MatMul -> Relu as the output: the model's logits are never negative, which a raw
    accumulator with a scale and an offset cannot say (it was once dropped silently)."""
    w = np.float32([[1, -1, 2], [1, 1, -2], [0, 1, 1], [1, 0, -1]])
    path = save(tmp_path / "relu_out.onnx", [xq(signed=1), q("w", "wq"),
                                             n("MatMul", ["xq", "wq"], "a"), n("Relu", "a", "y")],
                [1, 4], {"w": w})
    name = cleaned(path).graph.output[0].name
    with pytest.raises(qonnx.QonnxError) as err:
        qonnx.load(path)
    assert str(err.value).startswith(f"graph output {name!r}: the float ops after the last "
                                      "layer are not affine")


def test_a_conv_weight_scale_varying_along_its_inputs_is_refused_naming_the_node(tmp_path):
    """Weights (3, 2, 1, 1) at a scale of 1 for input channel 0 and 2 for input channel 1:
    no one scale per output channel, so the Conv is refused (as a MatMul would be)."""
    path = save(tmp_path / "conv-scale.onnx",
                [xq(), q("wc", "wcq", "s_in"), n("Conv", ["xq", "wcq"], "c")], [1, 2, 4, 4],
                {"wc": np.ones((3, 2, 1, 1)), "s_in": np.float32([1, 2]).reshape(1, 2, 1, 1)})
    refuses(path, "Conv", "a weight scale of shape [1, 2, 1, 1] varies along the inputs of "
            "weights [3, 2, 1, 1]; hwgen needs one scale per output channel")


def test_a_concat_without_axis_joins_channels_as_concat_1_defaults():
    """ONNX's Concat-1 (opsets 1 to 3) made axis optional, default 1 (channels): two 2x2
    maps of 3 and 1 channels at one scale join into one of 4, and its codes keep the
    scale."""
    from hwgen.core.dtypes import DType
    from hwgen.frontends.qonnx.shape import concat
    from hwgen.frontends.qonnx.state import Codes, ImportState
    from hwgen.ir.layer import Tensor

    state = ImportState(None, "g")
    u3 = DType.parse("uint3")
    state.values["a"] = Codes("input", Tensor((2, 2, 3), u3), np.float32(0.5), "nchw")
    state.values["b"] = Codes("input", Tensor((2, 2, 1), u3), np.float32(0.5), "nchw")
    assert concat(state, helper.make_node("Concat", ["a", "b"], ["k"]), "here") == (
        "cat1: concat along channels")
    k = state.values["k"]
    assert (k.src, k.tensor.shape, k.tensor.dtype, float(k.scale)) == ("cat1", (2, 2, 4), u3, 0.5)
