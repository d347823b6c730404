"""global_sum_pool: (H, W, C) -> (C,), the per-channel sum of the input values, its range and
dtype by hand; the reference and the hardware (Amaranth simulator) against loops, with and
without an activation; the file fields and refusals."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import extremes, values


@pytest.mark.parametrize("dtype, shape, acc, out", [
    ("uint2", (2, 3, 2), (0, 18), "int6"),    # 6 values of 0..3
    ("bin", (3, 3, 2), (-9, 9), "int5"),      # 9 values of -1/+1
    ("int4", (2, 2, 4), (-32, 28), "int6"),   # 4 values of -8..7; int6 is -32..31
])
def test_sum_by_loops_in_reference_and_hardware(dtype, shape, acc, out):
    layer = ops.GlobalSumPool("gp")
    g = ir.Graph("g", ir.Tensor(shape, DType.parse(dtype)), [layer])
    assert g.output == ir.Tensor((shape[2],), DType.parse(out))
    assert layer.acc_range == acc and layer.acc_bits == DType.parse(out).bits
    x = np.concatenate([values(dtype, (3, *shape)), extremes(dtype, shape)])
    expected = np.array([[sum(int(v) for v in frame[..., c].ravel()) for c in range(shape[2])]
                         for frame in x])
    assert expected.max() == acc[1] and expected.min() == acc[0]
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_a_requant_acts_on_the_sum():
    # sums of 2x2 int3 values are -16..12; m=1, s=2: (sum + 2) >> 2, clamped to int3
    rq = ir.Requant("int3", np.array([1, 3]), np.array([2, 2]))
    layer = ops.GlobalSumPool("gp", activation=rq)
    g = ir.Graph("g", ir.Tensor((2, 2, 2), DType.parse("int3")), [layer])
    assert g.output.dtype == DType.parse("int3")
    x = np.concatenate([values("int3", (4, 2, 2, 2), seed=3), extremes("int3", (2, 2, 2))])
    sums = x.sum(axis=(1, 2))
    expected = np.clip((sums * np.array([1, 3]) + 2) // 4, -4, 3)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_file_fields_and_refusal(tmp_path):
    rq = ir.Requant("int3", np.array([1]), np.array([2]))
    g = ir.Graph("g", ir.Tensor((2, 2, 1), DType.parse("int3")),
                 [ops.GlobalSumPool("gp", activation=rq)])
    doc, _ = g.to_json()
    assert doc["layers"][0] == {"name": "gp", "op": "global_sum_pool",
                                "activation": {"op": "requant", "dtype": "int3", "m": "gp.m",
                                               "s": "gp.s"}}
    g.save(tmp_path / "g")
    assert hwgen.load_graph(tmp_path / "g.json").to_json()[0] == doc
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", ir.Tensor((4, 2), DType.parse("int3")), [ops.GlobalSumPool("gp")])
    assert str(err.value) == "layer 'gp' (global_sum_pool): input must be (H, W, C), got [4, 2]"


def test_a_threshold_acts_on_the_sum_after_a_layer_of_two_channels_a_beat():
    # a 1x1 conv passes 4 channels on, 2 a beat (pe=2): the pool takes the same 2 a beat,
    # so a frame of 2x3 pixels is 2 * 3 * 4 / 2 = 12 cycles. Sums of 6 int3 values are
    # -24..18; thresholds at 0 (bin) give +1 where the sum is >= 0.
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.eye(4, dtype=int)[:, None, None],
                      pe=2, simd=4, activation=ir.Requant("int3", np.ones(4, int),
                                                           np.zeros(4, int)))
    gp = ops.GlobalSumPool("gp", activation=ir.Threshold("bin", np.zeros((4, 1), int)))
    g = ir.Graph("g", ir.Tensor((2, 3, 4), DType.parse("int3")), [conv, gp])
    from hwgen.analysis.plan import plan

    lp = plan(g)["gp"]
    assert (lp.elems, lp.out_elems, lp.cycles) == ((2,), 2, 12)
    assert type(lp.cycles) is int
    x = np.concatenate([values("int3", (4, 2, 3, 4), seed=4), extremes("int3", (2, 3, 4))])
    expected = np.where(x.sum(axis=(1, 2)) >= 0, 1, -1)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_a_bad_activation_names_the_pool(tmp_path):
    doc = {"format": "hwgen-graph/1", "name": "g",
           "input": {"shape": [2, 2, 1], "dtype": "uint2"},
           "layers": [{"name": "gp", "op": "global_sum_pool", "activation": {"op": "relu"}}]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(tmp_path / "g.json")
    assert str(err.value) == ("layer 'gp' (global_sum_pool): unknown activation op 'relu'; "
                              "allowed: threshold, requant")
