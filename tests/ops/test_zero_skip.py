"""Zero-activation skipping (issue 25 item 4): the matrix unit's replays skip the input
slices that were all zero. Bit-exact under stalls on both sides; a frame takes
sf + (nf - 1) x (slices holding a non-zero, and the last) cycles, worked out here by hand
for frames of each kind; the all-zero and the no-zero frame among them."""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.sim.runner import simulate
from tests.helpers import FAST, SLOW

U2 = DType.parse("uint2")
RNG = np.random.default_rng(11)
W = RNG.integers(-2, 2, (4, 16))  # 4 rows at PE 1: nf = 4; 16 inputs at SIMD 4: sf = 4


def dense(**kw):
    return ops.Dense("fc", weight_dtype="int2", weights=W, pe=1, simd=4, zero_skip=True,
                     bias=RNG.integers(-3, 4, 4), **kw)


def frame(nonzero_slices):
    x = np.zeros(16, int)
    for s in nonzero_slices:
        x[4 * s + RNG.integers(0, 4)] = RNG.integers(1, 4)
    return x


# slices holding a non-zero -> the slices the 3 replays take (the last always): cycles
CASES = [((), 4 + 3 * 1), ((0, 1, 2, 3), 4 + 3 * 4), ((0, 2), 4 + 3 * 3), ((1,), 4 + 3 * 2),
         ((3,), 4 + 3 * 1), ((0, 1, 2), 4 + 3 * 4)]


@pytest.mark.parametrize("board", [SLOW, FAST], ids=["flat", "pipelined"])
def test_each_frame_takes_the_cycles_of_the_slices_it_holds_and_is_bit_exact(tmp_path,
                                                                             board):
    g = ir.Graph("g", ir.Tensor((16,), U2), [dense()])
    assert estimate(g, board).cycles == 16  # the formula: the worst case
    build(g, tmp_path / "out", board)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "| 16 at most (zero skip) **(bottleneck)** |" in report
    assert "`hwgen sim` measures the mean over the inputs it is given" in report
    for k, (slices, cycles) in enumerate(CASES):
        x = np.stack([frame(slices) for _ in range(4)])
        got = simulate(tmp_path / "out", x, seed=k)
        assert got.mismatches == 0, got.first_mismatch
        assert got.cycles_per_frame == cycles, (slices, got.cycles_per_frame)


@pytest.mark.parametrize("in_name, w_name", [("uint2", "int2"), ("tern", "bin"),
                                             ("int4", "tern"), ("uint8", "int8")])
def test_a_mix_of_frames_is_bit_exact_and_measured_between_its_extremes(tmp_path, in_name,
                                                                         w_name):
    """Every input dtype that holds 0 and every weight kind: random frames with 0 to 4
    slices holding a non-zero, the all-max, all-min and all-zero frames among them."""
    dt, w_dt = DType.parse(in_name), DType.parse(w_name)
    w = RNG.choice([-1, 1], W.shape) if w_dt.kind == "bin" else RNG.integers(
        w_dt.min, w_dt.max + 1, W.shape)
    g = ir.Graph("g", ir.Tensor((16,), dt), [
        ops.Dense("fc", weight_dtype=w_dt, weights=w, pe=1, simd=4, zero_skip=True)])
    build(g, tmp_path / "out", SLOW)
    frames = []
    for _ in range(12):
        x = RNG.integers(dt.min, dt.max + 1, 16)
        x.reshape(4, 4)[RNG.random(4) < 0.5] = 0
        frames.append(x)
    x = np.stack([*frames, np.full(16, dt.max), np.full(16, dt.min), np.zeros(16, int)])
    got = simulate(tmp_path / "out", x, seed=3)
    assert got.mismatches == 0, got.first_mismatch
    assert 7 <= got.cycles_per_frame < 16


def test_a_conv_skips_the_zero_slices_of_its_windows_bit_exact(tmp_path):
    """3x3 conv, 8 channels at SIMD 4 over a 4x4x8 image, 4 rows at PE 1: each window's 18
    slices are read once and replayed 3 times; an image that is zero but for one pixel
    leaves most slices zero, and padding zeros too."""
    w = RNG.integers(-8, 8, (4, 3, 3, 8))
    conv = ops.Conv2d("conv", weight_dtype="int4", weights=w, padding=1, pe=1, simd=4,
                      zero_skip=True)
    g = ir.Graph("g", ir.Tensor((4, 4, 8), DType.parse("uint4")), [conv])
    build(g, tmp_path / "out", SLOW)
    x = np.zeros((6, 4, 4, 8), int)
    x[:, 1, 2] = RNG.integers(0, 16, (6, 8))
    x[5] = RNG.integers(0, 16, (4, 4, 8))  # and one image with no zero slice
    got = simulate(tmp_path / "out", x, seed=5)
    assert got.mismatches == 0, got.first_mismatch
    assert got.cycles_per_frame < estimate(g, SLOW).cycles
