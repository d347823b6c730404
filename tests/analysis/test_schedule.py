"""hwgen.analysis.schedule and plan against the hardware itself: small graphs run in the
Amaranth simulator (tests/ops/amaranth_graph.py) give the cycles per frame the plan states,
the latency the beat schedule estimates (exactly, for layers whose schedule is exact;
within a few percent for sliding windows), and join FIFOs deep enough never to stall."""

import numpy as np
import pytest

from hwgen import estimate, ir, ops, reference
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from tests.ops.amaranth_graph import run_graph_timed
from tests.ops.loops import values

rng = np.random.default_rng(7)


def _rq(n):
    return ir.Requant("int3", np.ones(n, int), np.zeros(n, int))


def _graphs():
    return {
        "argmax": ir.Graph("a", ir.Tensor((6,), DType.parse("int3")), [ops.ArgMax("top")]),
        "dense": ir.Graph("d", ir.Tensor((6,), DType.parse("uint2")), [
            ops.Dense("fc", weight_dtype="int2", weights=rng.integers(-2, 2, (4, 6)), pe=2,
                      simd=3),
            ops.ArgMax("top")]),
        "two dense": ir.Graph("d2", ir.Tensor((8,), DType.parse("uint2")), [
            ops.Dense("f1", weight_dtype="int2", weights=rng.integers(-2, 2, (4, 8)), simd=2,
                      activation=_rq(4)),
            ops.Dense("f2", weight_dtype="bin", weights=rng.choice([-1, 1], (6, 4)), pe=3)]),
        "sum pool": ir.Graph("g", ir.Tensor((2, 2, 2), DType.parse("int3")),
                             [ops.GlobalSumPool("gp")]),
        "add": ir.Graph("r", ir.Tensor((2, 2, 4), DType.parse("int3")), [
            ops.Conv2d("c", weight_dtype="int2", weights=rng.integers(-2, 2, (4, 1, 1, 4)),
                       pe=2, simd=2, activation=_rq(4)),
            ops.Add("a", inputs=["input", "c"], pe=2)]),
        "concat": ir.Graph("k", ir.Tensor((2, 2, 4), DType.parse("int3")), [
            ops.Conv2d("c", weight_dtype="int2", weights=rng.integers(-2, 2, (2, 1, 1, 4)),
                       simd=4, activation=_rq(2)),
            ops.Concat("k", inputs=["input", "c"], pe=2)]),
    }


WINDOWS = {
    "maxpool": ir.Graph("m", ir.Tensor((4, 4, 2), DType.parse("int3")),
                        [ops.MaxPool2d("mp", kernel=2)]),
    "avgpool": ir.Graph("v", ir.Tensor((4, 4, 2), DType.parse("int3")),
                        [ops.AvgPool2d("ap", kernel=2)]),
    "residual 3x3": ir.Graph("res", ir.Tensor((4, 4, 2), DType.parse("int3")), [
        ops.Conv2d("c", weight_dtype="int2", weights=np.ones((2, 3, 3, 2), int), padding=1,
                   pe=2, simd=2, activation=_rq(2)),
        ops.Add("a", inputs=["input", "c"])]),
}


def _run(g):
    x = values(g.input.dtype, (5, *g.input.shape), seed=2)
    y, latency, period = run_graph_timed(g, x)
    assert np.array_equal(y, reference.run(g, x))
    return latency, period


@pytest.mark.parametrize("name", list(_graphs()))
def test_an_exact_schedule_is_the_simulated_latency(name):
    g = _graphs()[name]
    assert all(layer.exact_schedule for layer in g.layers)
    latency, period = _run(g)
    assert period == plan(g).cycles
    assert estimate(g, "icebreaker").latency == latency


@pytest.mark.parametrize("name", list(WINDOWS))
def test_a_window_schedule_is_close_and_joins_never_stall(name):
    g = WINDOWS[name]
    latency, period = _run(g)
    assert period == plan(g).cycles  # a join FIFO too shallow would stall the input
    est = estimate(g, "icebreaker").latency
    assert abs(est - latency) <= 0.1 * latency


def test_join_fifo_depth_by_hand():
    # add(input, input), 2 channels a beat: the source sends a beat a cycle (cycles per
    # frame / input beats = 8 / 8), the add takes beat k of both inputs one cycle after it
    # arrives; when it takes beat k, beats 0..k+1 have arrived and k were taken before:
    # 2 waiting, plus the margin of 2
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")),
                 [ops.Add("a", inputs=["input", "input"], pe=2)])
    assert plan(g)["a"].fifo_depths == (4, 4)
    _, period = _run(g)
    assert period == plan(g).cycles == 8


def test_join_fifos_are_sized_over_several_frames(monkeypatch):
    """A residual whose skip FIFO is fullest after the first frame (input -> two 3x3 convs,
    8 channels, PE 2, SIMD 1 -> add with the input). Without the margin, the depth the
    schedule gives never stalls the input, and two beats fewer (what a schedule of one
    frame gives) does: the schedule must run past the first frame."""
    import dataclasses

    from hwgen.analysis import schedule
    from tests.ops import amaranth_graph

    monkeypatch.setattr(schedule, "FIFO_MARGIN", 0)
    w = np.random.default_rng(0).integers(-2, 2, (2, 8, 3, 3, 8))
    g = ir.Graph("res", ir.Tensor((4, 4, 8), DType.parse("int3")), [
        ops.Conv2d("c1", weight_dtype="int2", weights=w[0], padding=1, pe=2, simd=1,
                   activation=_rq(8)),
        ops.Conv2d("c2", weight_dtype="int2", weights=w[1], padding=1, pe=2, simd=1,
                   activation=_rq(8)),
        ops.Add("a", inputs=["input", "c2"])])
    p = plan(g)
    skip, other = p["a"].fifo_depths
    periods = []
    for depth in (skip, skip - 2):
        shallow = dataclasses.replace(p, layers=[
            dataclasses.replace(lp, fifo_depths=(depth, other)) if lp.layer.name == "a" else lp
            for lp in p.layers])
        monkeypatch.setattr(amaranth_graph, "plan", lambda graph, timing, q=shallow: q)
        x = values(g.input.dtype, (5, *g.input.shape), seed=2)
        y, _, period = amaranth_graph.run_graph_timed(g, x, max_cycles=40_000)
        assert np.array_equal(y, reference.run(g, x))
        periods.append(period)
    assert periods[0] == p.cycles < periods[1]


def test_a_join_fifo_holds_at_least_two_beats(monkeypatch):
    """input -> 1x1 conv (4 -> 4 channels, PE 2, SIMD 2) -> add with the input, PE 2. The
    conv takes 2 x 2 = 4 cycles a pixel for its 2 output beats: one beat every 2 cycles.
    The add takes each conv beat one cycle after it arrives, before the next arrives: 1
    beat waiting, plus the margin of 2. Without the margin the FIFO still holds 2 beats
    (one would halve the rate), not the 1 the schedule predicts."""
    from hwgen.analysis import schedule

    g = ir.Graph("r", ir.Tensor((2, 2, 4), DType.parse("int3")), [
        ops.Conv2d("c", weight_dtype="int2", weights=np.ones((4, 1, 1, 4), int), pe=2,
                   simd=2, activation=_rq(4)),
        ops.Add("a", inputs=["input", "c"], pe=2)])
    assert plan(g)["a"].fifo_depths[1] == 1 + 2
    monkeypatch.setattr(schedule, "FIFO_MARGIN", 0)
    assert plan(g)["a"].fifo_depths[1] == 2


def test_a_pool_whose_beats_are_split_keeps_its_rate():
    """Every block at full duty: a matrix unit, a max pool whose 4-element output beats a
    width converter splits for a dense layer taking one input a cycle. The pool holds its
    output while the converter splits it; with the FIFO behind the converter that stalled
    its reads too, and the digits CNN folded to 144 cycles/frame took 212."""
    g = ir.Graph("split", ir.Tensor((4, 4, 8), DType.parse("uint2")), [
        ops.Conv2d("c", weight_dtype="int2", weights=rng.integers(-2, 2, (8, 1, 1, 8)), pe=4,
                   simd=8, activation=_rq(8)),
        ops.MaxPool2d("mp", kernel=2),
        ops.Dense("fc", weight_dtype="int2", weights=rng.integers(-2, 2, (2, 32)), pe=2)])
    assert [lp.cycles for lp in plan(g).layers] == [32, 32, 32]
    _, period = _run(g)
    assert period == 32
