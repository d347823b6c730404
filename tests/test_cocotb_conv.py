"""Convolution and pooling in cocotb (Icarus): bit-exact against hwgen.reference with stalls,
and measured steady-state cycles per frame equal to the slowest layer's formula."""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.sim.runner import simulate


def values(dt: DType, shape, rng):
    return (rng.choice([-1, 1], shape) if dt.kind == "bin"
            else rng.integers(dt.min, dt.max + 1, shape))


def run(graph, tmp_path, frames=6, **kwargs):
    build(graph, tmp_path / "out")
    result = simulate(tmp_path / "out", frames=frames, stall=0.3, **kwargs)
    assert result.mismatches == 0, result.first_mismatch
    assert result.cycles_per_frame == plan(graph).cycles
    assert estimate(graph, load_board("asic")).cycles == result.cycles_per_frame
    return result


CONVS = {  # shape, kernel, stride, padding, pad value, in, weights, out ch, pe, simd, act
    "3x3-pad-minus1-bin": ((6, 6, 2), 3, 1, 1, -1, "bin", "bin", 4, 2, 2, "threshold"),
    "3x3-stride2-uint4": ((7, 5, 3), 3, 2, 0, 0, "uint4", "bin", 4, 1, 1, "none"),
    "3x3-int4-tern-full-simd": ((5, 5, 4), 3, 1, 1, 0, "int4", "tern", 6, 6, 4, "requant"),
    "1x1-no-window": ((4, 6, 2), 1, 1, 0, 0, "int8", "int4", 4, 4, 2, "threshold"),
    "2x3-mixed-stride": ((5, 6, 2), (2, 3), (1, 2), (1, 0), 3, "uint8", "int8", 3, 3, 2,
                         "none"),
    "1x1-stride2-window": ((5, 4, 3), 1, 2, 0, 1, "bin", "bin", 2, 1, 3, "none"),
    "depthwise-bin-pad-plus1": ((5, 6, 4), 3, 1, 1, 1, "bin", "bin", "dw", 2, 1, "threshold"),
    "depthwise-int4-stride2": ((7, 6, 6), 3, 2, 1, 0, "int4", "int3", "dw", 3, 1, "requant"),
    "depthwise-tern-pe1": ((4, 5, 2), 3, 1, 0, 0, "uint2", "tern", "dw", 1, 1, "none"),
}


@pytest.mark.parametrize("case", list(CONVS))
def test_conv_layer(tmp_path, case):
    shape, k, s, p, pad, in_name, w_name, oc, pe, simd, act = CONVS[case]
    rng = np.random.default_rng(len(case))
    in_dt, w_dt = DType.parse(in_name), DType.parse(w_name)
    k = (k, k) if isinstance(k, int) else k
    groups = shape[2] if oc == "dw" else 1
    oc = shape[2] if oc == "dw" else oc
    w = values(w_dt, (oc, *k, shape[2] // groups), rng)
    w[0], w[1] = w_dt.max, w_dt.min
    conv = ops.Conv2d("conv", weight_dtype=w_dt, weights=w, stride=s, padding=p, pad_value=pad,
                     groups=groups, pe=pe, simd=simd, bias=rng.integers(-3, 4, oc))
    graph = ir.Graph("conv", ir.Tensor(shape, in_dt), [conv])
    lo, hi = conv.bounds.out
    if act == "threshold":
        conv.activation = ir.Threshold(DType.parse("uint2"),
                                       np.sort(rng.integers(lo, hi + 1, (oc, 3)), axis=1))
    elif act == "requant":
        conv.activation = ir.Requant(DType.parse("int4"), rng.integers(-5, 6, oc),
                                     rng.integers(0, 4, oc))
    graph.validate()
    run(graph, tmp_path)


@pytest.mark.parametrize("kernel,stride,elems_from_pe", [(2, 2, 2), (3, 1, 4), (3, 2, 1)])
def test_maxpool(tmp_path, kernel, stride, elems_from_pe):
    rng = np.random.default_rng(kernel * 10 + stride)
    graph = ir.Graph("pool", ir.Tensor((6, 7, 4), DType.parse("int4")), [
        ops.Conv2d("c", weight_dtype="int2", weights=rng.integers(-2, 2, (4, 1, 1, 4)),
                  pe=elems_from_pe, simd=4, activation=ir.Requant(
                      DType.parse("int3"), np.ones(4, int), np.full(4, 2))),
        ops.MaxPool2d("pool", kernel=kernel, stride=stride)])
    run(graph, tmp_path)


def test_binary_maxpool_and_global_sum(tmp_path):
    rng = np.random.default_rng(9)
    graph = ir.Graph("gp", ir.Tensor((6, 6, 3), DType.parse("uint4")), [
        ops.Conv2d("c", weight_dtype="bin", weights=rng.choice([-1, 1], (4, 3, 3, 3)),
                  padding=1, pe=2, simd=3, activation=ir.Threshold(
                      "bin", rng.integers(-30, 30, (4, 1)))),
        ops.MaxPool2d("pool", kernel=2),
        ops.GlobalSumPool("gsp"),
        ops.Dense("fc", weight_dtype="int3", weights=rng.integers(-4, 4, (5, 4)), pe=5, simd=2),
        ops.ArgMax("top")])
    run(graph, tmp_path, frames=8)


def cnn(rng):
    """VGG-style conv, pool; a MobileNet-style depthwise + pointwise block doubling channels;
    pool, dense; binary weights, 1- and 2-bit activations."""
    return ir.Graph("cnn", ir.Tensor((8, 8, 1), DType.parse("uint4")), [
        ops.Conv2d("c1", weight_dtype="bin", weights=rng.choice([-1, 1], (8, 3, 3, 1)),
                  padding=1, pe=2, simd=1, activation=ir.Threshold(
                      "uint2", np.sort(rng.integers(-40, 40, (8, 3)), axis=1))),
        ops.MaxPool2d("p1", kernel=2),
        ops.Conv2d("dw", weight_dtype="bin", weights=rng.choice([-1, 1], (8, 3, 3, 1)),
                  groups=8, padding=1, pe=4, simd=1, activation=ir.Threshold(
                      "uint2", np.sort(rng.integers(-9, 9, (8, 3)), axis=1))),
        ops.Conv2d("pw", weight_dtype="bin", weights=rng.choice([-1, 1], (16, 1, 1, 8)),
                  pe=4, simd=8, activation=ir.Threshold("bin", rng.integers(-9, 9, (16, 1)))),
        ops.MaxPool2d("p2", kernel=2),
        ops.Dense("fc", weight_dtype="bin", weights=rng.choice([-1, 1], (10, 64)), pe=2,
                 simd=16),
        ops.ArgMax("top")])


def test_cnn_network(tmp_path):
    result = run(cnn(np.random.default_rng(1)), tmp_path, frames=6)
    assert result.frames == 6


@pytest.mark.verilator
@pytest.mark.slow
def test_cnn_network_on_verilator(tmp_path):
    run(cnn(np.random.default_rng(2)), tmp_path, frames=30, simulator="verilator")
