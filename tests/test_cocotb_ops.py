"""Every op against every input dtype in cocotb (Icarus), bit-exact against hwgen.reference
with random stalls on both stream sides, cycles per frame equal to the plan.

One simulator build covers many cases: the weighted ops run every weight dtype x
activation as parallel branches of one graph that reads the input once (a fork)
and joins the branches with ``concat``, so the output holds every branch's values
element by element. Frames 0 and 1 are all-max and all-min inputs; with rows of
max and min weights they reach every accumulator's extremes.
"""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.core.dtypes import DType

from .conftest import FAST, SLOW, activation, draw, extreme_weights, simulate_graph

IN_DTYPES = ["bin", "tern", "uint1", "uint2", "int2", "uint4", "int4", "int8"]
W_DTYPES = ["bin", "tern", "int2", "int4", "int8"]
ACTS = ["none", "threshold", "requant"]
# threshold outputs by weight dtype: 1 to 8 bits, so both threshold forms are built
THRESHOLD_OUT = {"bin": "bin", "tern": "uint2", "int2": "tern", "int4": "int4", "int8": "uint8"}
TIMINGS = {"flat": SLOW, "pipelined": FAST}

CONVS = {  # shape, kernel, stride, padding, out channels ("dw": depthwise), pe, simd
    "standard": ((5, 5, 2), 3, 1, 0, 4, 2, 1),
    "depthwise": ((5, 5, 2), 3, 1, 1, "dw", 2, 1),
    "1x1": ((3, 4, 4), 1, 1, 0, 2, 1, 4),
    "strided": ((6, 5, 2), 3, 2, 0, 2, 2, 2),
    "padded": ((4, 4, 2), (2, 3), 1, (1, 2), 2, 1, 2),
}


def _seed(*parts: str) -> int:
    return sum((k + 1) * ord(c) for k, c in enumerate("/".join(parts)))


def _joined(name: str, x: ir.Tensor, branches: list[ir.Layer], pe: int) -> ir.Graph:
    """Branches that each read the graph input, joined pairwise by concat."""
    layers, last = list(branches), branches[0].name
    for k, b in enumerate(branches[1:]):
        layers.append(ops.Concat(f"cat{k}", inputs=[last, b.name], pe=pe))
        last = f"cat{k}"
    return ir.Graph(name, x, layers)


def _weighted_branches(make, x: ir.Tensor, rng) -> list[ir.Layer]:
    """``make(name, weight dtype)`` for every weight dtype x activation, each reading the
    graph input; activations span the layer's own accumulator range."""
    branches = []
    for w_name in W_DTYPES:
        for act in ACTS:
            layer = make(f"{w_name}_{act}", DType.parse(w_name))
            layer.inputs = ["input"]
            layer.infer([x])  # the accumulator bounds
            out = THRESHOLD_OUT[w_name]
            layer.activation = activation(act, layer.channels, layer.bounds.out, rng, out)
            branches.append(layer)
    return branches


@pytest.mark.parametrize("timing", list(TIMINGS))
@pytest.mark.parametrize("in_name", IN_DTYPES)
def test_dense_every_weight_and_activation(tmp_path, in_name, timing):
    rng = np.random.default_rng(_seed("dense", in_name))
    in_dt = DType.parse(in_name)

    def make(name, w_dt):
        return ops.Dense(name, weight_dtype=w_dt, weights=extreme_weights(w_dt, (4, 6), rng),
                        bias=rng.integers(-3, 4, 4), pe=2, simd=3)
    x = ir.Tensor((6,), in_dt)
    graph = _joined("dense", x, _weighted_branches(make, x, rng), 2)
    simulate_graph(graph, tmp_path, board=TIMINGS[timing])


@pytest.mark.parametrize("timing", list(TIMINGS))
@pytest.mark.parametrize("in_name", IN_DTYPES)
@pytest.mark.parametrize("variant", list(CONVS))
def test_conv_every_weight_and_activation(tmp_path, variant, in_name, timing):
    shape, k, s, p, oc, pe, simd = CONVS[variant]
    rng = np.random.default_rng(_seed(variant, in_name))
    in_dt = DType.parse(in_name)
    k = (k, k) if isinstance(k, int) else k
    groups = shape[2] if oc == "dw" else 1
    oc = shape[2] if oc == "dw" else oc
    pad = int(draw(in_dt, 1, rng)[0])

    def make(name, w_dt):
        return ops.Conv2d(name, weight_dtype=w_dt,
                         weights=extreme_weights(w_dt, (oc, *k, shape[2] // groups), rng),
                         bias=rng.integers(-3, 4, oc), stride=s, padding=p, pad_value=pad,
                         groups=groups, pe=pe, simd=simd)
    x = ir.Tensor(shape, in_dt)
    graph = _joined("conv", x, _weighted_branches(make, x, rng), pe)
    simulate_graph(graph, tmp_path, board=TIMINGS[timing])


@pytest.mark.parametrize("timing", list(TIMINGS))
@pytest.mark.parametrize("in_name", IN_DTYPES)
def test_pools_add_concat_argmax(tmp_path, in_name, timing):
    """maxpool2d and global_sum_pool on the input (the sum also under each activation); add
    of the input with itself under each activation; concat of the input with a branch of
    another dtype; argmax on its own."""
    rng = np.random.default_rng(_seed("misc", in_name))
    in_dt = DType.parse(in_name)
    x = ir.Tensor((4, 4, 2), in_dt)
    pool = ir.Graph("pool", x, [ops.MaxPool2d("mp", kernel=2, stride=1)])
    gsp = ir.Graph("gsp", x, [ops.GlobalSumPool("gsp")])
    n = 16  # positions summed
    gsp_act = _joined("gsp_act", x, [ops.GlobalSumPool(
        f"gsp_{a}", inputs=["input"], activation=activation(a, 2, (n * in_dt.min, n * in_dt.max),
                                                            rng)) for a in ACTS], 1)
    acc = (2 * in_dt.min, 2 * in_dt.max)
    adds = [ops.Add(f"add_{a}", inputs=["input", "input"], pe=2,
                   activation=activation(a, 2, acc, rng)) for a in ACTS]
    add = _joined("add", x, adds, 1)
    cat = ir.Graph("cat", x, [ops.MaxPool2d("mp", kernel=1, stride=1, inputs=["input"]),
                              ops.Add("twice", inputs=["input", "input"], pe=1),
                              ops.Concat("cat", inputs=["mp", "twice"], pe=2)])
    arg = ir.Graph("arg", ir.Tensor((7,), in_dt), [ops.ArgMax("top")])
    for k, graph in enumerate([pool, gsp, gsp_act, add, cat, arg]):
        simulate_graph(graph, tmp_path / str(k), frames=6, board=TIMINGS[timing])
