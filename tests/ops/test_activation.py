"""hwgen.ops.activation: the threshold stage follows the layer's weight storage and the clock
it is pipelined for."""

import numpy as np

from hwgen import ir, ops
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.hw import silenced
from hwgen.hw.blocks.threshold import ThresholdUnit
from hwgen.targets import Timing
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import values


def _dense(storage):
    t = ir.Threshold("uint4", np.tile(np.arange(-7, 8), (4, 1)))
    return ir.Graph("g", ir.Tensor((8,), DType.parse("int4")), [
        ops.Dense("fc", weight_dtype="int2", weights=np.ones((4, 8), int), pe=2, simd=8,
                  weight_storage=storage, activation=t)])


def test_thresholds_live_where_the_weights_do():
    for storage, style in (("bram", "block"), ("logic", "logic")):
        lp = plan(_dense(storage))["fc"]
        unit = [b for b in silenced(lp.layer.blocks(lp)) if isinstance(b, ThresholdUnit)]
        assert len(unit) == 1 and unit[0].attrs["rom_style"] == style


def _unit(g, timing=None):
    lp = plan(g, timing)["fc"]
    return next(b for b in silenced(lp.layer.blocks(lp)) if isinstance(b, ThresholdUnit))


def test_thresholds_are_pipelined_for_a_fast_clock():
    g = _dense("logic")
    fast = Timing("ecp5", 400.0)
    assert _unit(g, fast).latency > _unit(g).latency
    # a row of eight 1s: the sum of the inputs, -64..56; thresholds -7..7 count it
    x = values("int4", (6, 8), seed=3)
    sums = x.sum(axis=1, keepdims=True)
    expected = np.repeat(np.clip(sums + 8, 0, 15), 4, axis=1)
    assert np.array_equal(run_graph(g, x, timing=fast), expected)
