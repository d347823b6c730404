"""hwgen.ops.activation: the threshold stage follows the layer's weight storage and the clock
it is pipelined for."""

import numpy as np
import pytest

import hwgen
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


def _requant_sum(m):
    """A sum pool over one int32 value (-2^31..2^31-1) into a requant by m."""
    rq = ir.Requant("int8", np.array([m]), np.array([40]))
    return ir.Graph("g", ir.Tensor((1, 1, 1), DType.parse("int32")),
                    [ops.GlobalSumPool("gp", activation=rq)])


@pytest.mark.parametrize("m, message", [
    # 2^31 * 2^31 = 2^62 is within the first check, but -2^62 needs 63 bits
    (2**31, "requant product acc*m needs more than 62 bits"),
    # the accumulator's magnitude is its most negative value, 2^31: past 2^62
    (2**31 + 1, "requant product acc*m needs more than 62 bits (accumulator up to "
                "2,147,483,648, m up to 2,147,483,649 in magnitude)"),
])
def test_requant_products_past_62_bits_are_refused(m, message):
    with pytest.raises(hwgen.GraphError) as err:
        _requant_sum(m)
    assert str(err.value) == f"layer 'gp' (global_sum_pool): {message}"


def test_a_requant_product_within_62_bits_is_taken():
    # 2^31 * 2^29 = 2^60 and its rounding fit in 62 signed bits
    assert _requant_sum(2**29).output.dtype == DType.parse("int8")
