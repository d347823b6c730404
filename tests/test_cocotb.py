"""Generated Verilog in cocotb (Icarus by default): bit-exact against hwgen.reference with
random tvalid gaps and tready stalls, and measured cycles per frame equal to the formula."""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.boards import load_board
from hwgen.core.dtypes import DType
from hwgen.core.formulas import mvu_cycles
from hwgen.flows.build import build
from hwgen.sim.runner import simulate

MH, MW = 6, 9  # odd sizes
FOLDINGS = {"pe1-simd1": (1, 1), "partial": (3, 3), "full": (MH, MW)}
DTYPES = [("bin", "bin"), ("uint4", "bin"), ("int4", "tern"), ("int8", "int4"),
          ("uint8", "int8")]


def weights_for(w_dt: DType, rng) -> np.ndarray:
    w = (rng.choice([-1, 1], (MH, MW)) if w_dt.kind == "bin"
         else rng.integers(w_dt.min, w_dt.max + 1, (MH, MW)))
    w[0], w[1] = w_dt.max, w_dt.min  # rows that reach the accumulator's extremes
    return w


def activation(kind: str, in_dt: DType, w_dt: DType, w: np.ndarray, rng):
    if kind == "none":
        return None
    g = ir.Graph("probe", ir.Tensor((MW,), in_dt), [ops.Dense("d", weight_dtype=w_dt, weights=w)])
    lo, hi = g.layers[0].bounds.out
    if kind == "threshold":
        out = DType.parse("bin" if in_dt.kind == "bin" else "int3")
        t = rng.integers(lo - 2, hi + 3, (MH, ir.Threshold.count(out)))
        return ir.Threshold(out, np.sort(t, axis=1))
    return ir.Requant(DType.parse("uint4"), rng.integers(-9, 10, MH), rng.integers(0, 5, MH))


def run(graph, tmp_path, **kwargs):
    build(graph, tmp_path / "out")
    return simulate(tmp_path / "out", **kwargs)


@pytest.mark.parametrize("folding", list(FOLDINGS))
@pytest.mark.parametrize("act", ["none", "threshold", "requant"])
@pytest.mark.parametrize("in_name,w_name", DTYPES)
def test_dense_layer(tmp_path, in_name, w_name, act, folding):
    rng = np.random.default_rng([DTYPES.index((in_name, w_name)), ["none", "threshold",
                                 "requant"].index(act), list(FOLDINGS).index(folding)])
    in_dt, w_dt = DType.parse(in_name), DType.parse(w_name)
    pe, simd = FOLDINGS[folding]
    w = weights_for(w_dt, rng)
    layer = ops.Dense("d", weight_dtype=w_dt, weights=w, bias=rng.integers(-4, 5, MH), pe=pe,
                     simd=simd, activation=activation(act, in_dt, w_dt, w, rng))
    graph = ir.Graph("layer", ir.Tensor((MW,), in_dt), [layer])
    result = run(graph, tmp_path, frames=12, seed=1, stall=0.3)
    assert result.mismatches == 0, result.first_mismatch
    assert result.cycles_per_frame == mvu_cycles(MH, MW, pe, simd)


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


@pytest.mark.parametrize("pe_simd", [
    [(8, 16), (4, 8), (2, 6)],  # every boundary needs a width converter
    [(4, 8), (8, 4), (5, 8)],  # PE == next SIMD, then 8 -> 8
    [(32, 64), (24, 32), (10, 24)],  # fully unrolled: one frame per cycle
])
def test_network(tmp_path, pe_simd):
    graph = mlp(np.random.default_rng(11), pe_simd)
    result = run(graph, tmp_path, frames=16, seed=2, stall=0.3)
    assert result.mismatches == 0, result.first_mismatch
    slowest = max(mvu_cycles(d.units, t[0].size, d.pe, d.simd)
                  for d, t, _ in graph.layer_io() if isinstance(d, ops.Dense))
    assert result.cycles_per_frame == slowest
    assert estimate(graph, load_board("asic")).cycles == result.cycles_per_frame


@pytest.mark.verilator
def test_network_on_verilator(tmp_path):
    graph = mlp(np.random.default_rng(12), [(8, 16), (4, 8), (2, 6)])
    result = run(graph, tmp_path, frames=16, seed=3, simulator="verilator")
    assert result.mismatches == 0, result.first_mismatch
    # fc1 (32/8)*(64/16) = 16, fc2 (24/4)*(32/8) = 24, fc3 (10/2)*(24/6) = 20
    assert result.cycles_per_frame == 24


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
    result = run(graph, tmp_path, frames=40, seed=5, simulator="verilator")
    assert result.mismatches == 0, result.first_mismatch
    assert result.cycles_per_frame == 64
