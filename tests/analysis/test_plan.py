"""hwgen.analysis.plan: the FIFO in front of the graph input (none when one layer reads it,
the reader's own when several do), and as_plan's timing."""

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops
from hwgen.analysis.plan import as_plan, plan
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.targets import UNPIPELINED, Timing


def _conv(**kw):
    return ops.Conv2d("c", weight_dtype="int2", weights=np.ones((4, 1, 1, 4), int), pe=2,
                      simd=2, activation=ir.Requant("int3", np.ones(4, int), np.full(4, 3)),
                      **kw)


def test_a_single_reader_of_the_input_gets_no_fifo():
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")), [_conv()])
    assert plan(g)["c"].fifo_depths == (0,)


def test_several_readers_of_the_input_each_get_their_fifo():
    # a conv's FIFO holds one row: 2 pixels of 4 channels, 2 a beat: 4 beats
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")),
                 [_conv(inputs=["input"]), ops.Add("a", inputs=["input", "c"], pe=2)])
    p = plan(g)
    assert p["c"].fifo_depths == (4,)
    assert all(d >= 2 for d in p["a"].fifo_depths)
    assert p.input_elems == 2  # the first reader's elements a beat


def test_as_plan_pipelines_a_graph_for_the_timing_and_keeps_a_plan():
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")), [_conv()])
    fast = Timing("ecp5", 400.0)
    assert as_plan(g, fast).timing == fast and as_plan(g).timing == UNPIPELINED
    p = plan(g)
    assert as_plan(p, fast) is p


def test_a_plan_with_a_join_keeps_its_timing():
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")),
                 [_conv(inputs=["input"]), ops.Add("a", inputs=["input", "c"], pe=2)])
    fast = Timing("ecp5", 400.0)
    assert plan(g, fast).timing == fast


def test_a_join_fifo_sized_from_block_ram_into_logic_gives_its_stage_the_logic_depth():
    """The add's first input (the conv's) gets a one-frame FIFO at first: 256 beats of 4
    bits, block RAM on the iCE40 (no LUT RAM). Sized by the beat schedule it holds 3 beats,
    in logic, read without the block RAM's register: the stage's depth must be that of
    the FIFO it ends with, which the latency estimate adds up."""
    from hwgen.analysis.plan import _depth
    from hwgen.targets import fifo_storage

    rng = np.random.default_rng(0)
    g = ir.Graph("g", ir.Tensor((8, 8, 4), DType.parse("uint4")), [
        ops.Conv2d("conv", weight_dtype="int4", weights=rng.integers(-3, 4, (4, 3, 3, 4)),
                   padding=1, activation=ir.Requant("uint4", np.ones(4, int), np.full(4, 6))),
        ops.Add("add", inputs=["conv", "input"])])
    add = plan(g).layers[-1]
    assert add.fifo_depths[0] == 3 and fifo_storage(4, 256, "ice40") == "bram"
    assert fifo_storage(4, 3, "ice40") == "logic"
    assert add.depth == _depth(add, True)


def test_zero_skip_is_refused_in_a_graph_with_a_join(tmp_path):
    """Nothing written: the plan refuses before the build makes its folder."""
    w = np.ones((4, 16), int)
    g = ir.Graph("g", ir.Tensor((16,), DType.parse("uint2")), [
        ops.Dense("fc", weight_dtype="int2", weights=w, simd=4, zero_skip=True),
        ops.Dense("fc2", weight_dtype="int2", weights=w, inputs=["input"]),
        ops.Concat("cat", inputs=["fc", "fc2"])])
    with pytest.raises(hwgen.GraphError) as err:
        build(g, tmp_path / "out")
    assert str(err.value) == (
        "layer 'fc': zero_skip is for graphs without add or concat (a branch that runs ahead "
        "of its schedule can outgrow the join's FIFO); allowed: zero_skip false")
    assert not (tmp_path / "out").exists()
