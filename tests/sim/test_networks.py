"""Whole networks in cocotb, where the op matrix (``tests/ops/test_op_matrix.py``) tests one
op at a time: an MLP at three foldings (width converters at every boundary, PE equal to the
next SIMD, one frame a cycle), a CNN with a depthwise-separable block, a binary conv into
max and global-sum pools, and the TFC topology at FINN's folding. Each is bit-exact against
hwgen.reference with stalls, its cycles per frame the slowest layer's formula."""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.core.formulas import mvu_cycles
from tests.helpers import simulate_graph


def mlp(rng, pe_simd):
    (p1, s1), (p2, s2), (p3, s3) = pe_simd
    return ir.Graph("mlp", ir.Tensor((64,), DType.parse("uint4")), [
        ops.Dense("fc1", weight_dtype="bin", weights=rng.choice([-1, 1], (32, 64)), pe=p1,
                  simd=s1, activation=ir.Threshold("bin", rng.integers(-40, 40, (32, 1)))),
        ops.Dense("fc2", weight_dtype="tern", weights=rng.integers(-1, 2, (24, 32)), pe=p2,
                  simd=s2, activation=ir.Threshold("uint2", np.sort(
                      rng.integers(-12, 12, (24, 3)), axis=1))),
        ops.Dense("fc3", weight_dtype="int3", weights=rng.integers(-4, 4, (10, 24)),
                  bias=rng.integers(-8, 8, 10), pe=p3, simd=s3),
        ops.ArgMax("top")])


def slowest_dense(graph: ir.Graph) -> int:
    """The slowest dense layer's cycles per frame, from the formula."""
    return max(mvu_cycles(d.units, t[0].size, d.pe, d.simd)
               for d, t, _ in graph.layer_io() if isinstance(d, ops.Dense))


@pytest.mark.parametrize("pe_simd", [
    [(8, 16), (4, 8), (2, 6)],  # every boundary needs a width converter
    [(4, 8), (8, 4), (5, 8)],  # PE == next SIMD, then 8 -> 8
    [(32, 64), (24, 32), (10, 24)],  # fully unrolled: one frame per cycle
])
def test_mlp(tmp_path, pe_simd):
    graph = mlp(np.random.default_rng(11), pe_simd)
    result = simulate_graph(graph, tmp_path, frames=16, seed=2)
    assert result.cycles_per_frame == slowest_dense(graph)


@pytest.mark.verilator
def test_mlp_on_verilator(tmp_path):
    graph = mlp(np.random.default_rng(12), [(8, 16), (4, 8), (2, 6)])
    result = simulate_graph(graph, tmp_path, frames=16, seed=3, simulator="verilator")
    # fc1 (32/8)*(64/16) = 16, fc2 (24/4)*(32/8) = 24, fc3 (10/2)*(24/6) = 20
    assert result.cycles_per_frame == 24


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


def test_cnn(tmp_path):
    assert simulate_graph(cnn(np.random.default_rng(1)), tmp_path, frames=6).frames == 6


@pytest.mark.verilator
@pytest.mark.slow
def test_cnn_on_verilator(tmp_path):
    simulate_graph(cnn(np.random.default_rng(2)), tmp_path, frames=30, simulator="verilator")


def test_binary_conv_into_max_and_global_sum_pools(tmp_path):
    rng = np.random.default_rng(9)
    graph = ir.Graph("gp", ir.Tensor((6, 6, 3), DType.parse("uint4")), [
        ops.Conv2d("c", weight_dtype="bin", weights=rng.choice([-1, 1], (4, 3, 3, 3)),
                   padding=1, pe=2, simd=3, activation=ir.Threshold(
                       "bin", rng.integers(-30, 30, (4, 1)))),
        ops.MaxPool2d("pool", kernel=2),
        ops.GlobalSumPool("gsp"),
        ops.Dense("fc", weight_dtype="int3", weights=rng.integers(-4, 4, (5, 4)), pe=5, simd=2),
        ops.ArgMax("top")])
    simulate_graph(graph, tmp_path, frames=8)


@pytest.mark.verilator
@pytest.mark.slow
def test_tfc_topology_on_verilator(tmp_path):
    """FINN's TFC-w1a1 shape and folding (784-64-64-64-10, PE/SIMD 16/49, 8/8, 8/8, 10/8):
    64 cycles per frame."""
    rng = np.random.default_rng(4)
    layers = []
    sizes, folds = [784, 64, 64, 64, 10], [(16, 49), (8, 8), (8, 8), (10, 8)]
    for k, (pe, simd) in enumerate(folds):
        w = rng.choice([-1, 1], (sizes[k + 1], sizes[k]))
        act = (ir.Threshold("bin", rng.integers(-20, 20, (sizes[k + 1], 1)))
               if k < 3 else None)
        layers.append(ops.Dense(f"fc{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                                activation=act))
    graph = ir.Graph("tfc", ir.Tensor((784,), DType.parse("bin")), [*layers, ops.ArgMax("top")])
    result = simulate_graph(graph, tmp_path, frames=40, seed=5, simulator="verilator")
    assert result.cycles_per_frame == 64
