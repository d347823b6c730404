"""concat: channels of the first input then the second's, in the narrowest dtype holding both
(by hand); the reference and the hardware (Amaranth simulator) against numpy, on mixed
dtypes and every legal pe; the file fields."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from hwgen.ops.concat import common_dtype
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import extremes, values


@pytest.mark.parametrize("a, b, both", [
    ("uint2", "uint2", "uint2"), ("uint2", "int3", "int3"), ("uint2", "uint3", "uint3"),
    ("bin", "uint2", "int3"), ("bin", "bin", "bin"), ("tern", "bin", "int2"),
    ("int4", "uint4", "int5"), ("uint1", "bin", "int2")])
def test_common_dtype_by_hand(a, b, both):
    assert common_dtype(DType.parse(a), DType.parse(b)) == DType.parse(both)
    assert common_dtype(DType.parse(b), DType.parse(a)) == DType.parse(both)


@pytest.mark.parametrize("pe", [1, 2])
@pytest.mark.parametrize("dtype", ["uint2", "bin"])
def test_concat_by_hand_in_reference_and_hardware(dtype, pe):
    # the input (4 channels) beside a 1x1 conv of it that negates channels 0 and 1 (int3)
    neg = -np.eye(4, dtype=int)[:2, None, None, :]
    conv = ops.Conv2d("c", weight_dtype="int2", weights=neg, inputs=["input"],
                      activation=ir.Requant("int3", np.ones(2, int), np.zeros(2, int)))
    g = ir.Graph("g", ir.Tensor((2, 3, 4), DType.parse(dtype)),
                 [conv, ops.Concat("cat", inputs=["input", "c"], pe=pe)])
    assert g.output == ir.Tensor((2, 3, 6), DType.parse("int3"))
    x = np.concatenate([values(dtype, (3, 2, 3, 4)), extremes(dtype, (2, 3, 4))])
    expected = np.concatenate([x, -x[..., :2]], axis=-1)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_concat_file_fields(tmp_path):
    g = ir.Graph("g", ir.Tensor((2, 2), DType.parse("int3")), [
        ops.Concat("cat", inputs=["input", "input"], pe=2), ops.ArgMax("top")])
    doc, _ = g.to_json()
    assert doc["layers"][0] == {"name": "cat", "op": "concat", "inputs": ["input", "input"],
                                "pe": 2}
    g.save(tmp_path / "g")
    assert hwgen.load_graph(tmp_path / "g.json").to_json()[0] == doc


def test_a_hand_written_concat_takes_one_channel_a_beat(tmp_path):
    g = ir.Graph("g", ir.Tensor((2, 2), DType.parse("int3")), [
        ops.Concat("cat", inputs=["input", "input"], pe=2), ops.ArgMax("top")])
    doc, _ = g.to_json()
    del doc["layers"][0]["pe"]
    (tmp_path / "g.json").write_text(json.dumps(doc))
    assert hwgen.load_graph(tmp_path / "g.json").layers[0].pe == 1


def test_concat_takes_each_pixel_of_the_first_input_then_the_second():
    from hwgen.analysis.plan import plan

    # (2, 2, 4) beside (2, 2, 2), 2 channels a beat: per pixel 2 beats of the first
    # input, then 1 of the second; output beats 3 a pixel, 12 a frame
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((2, 1, 1, 4), int),
                      inputs=["input"], simd=4, pe=2, activation=ir.Requant(
                          "int3", np.ones(2, int), np.full(2, 2)))
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")),
                 [conv, ops.Concat("cat", inputs=["input", "c"], pe=2)])
    lp = plan(g)["cat"]
    first, second = lp.layer.consumed(lp)
    assert first.tolist() == [0, 1, 3, 4, 6, 7, 9, 10]
    assert second.tolist() == [2, 5, 8, 11]
    needs, work = lp.layer.needs(lp)
    # output beat k needs the last beat of each input taken at or before it
    assert needs[0].tolist() == [0, 1, 1, 2, 3, 3, 4, 5, 5, 6, 7, 7]
    assert needs[1].tolist() == [-1, -1, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3]
    assert work == 0


def test_concat_of_two_beats_a_pixel_from_each():
    from hwgen.analysis.plan import plan

    # (2, 2, 4) beside (2, 2, 4), 2 channels a beat: per pixel beats 0-1 from the first
    # input, 2-3 from the second
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((4, 1, 1, 4), int),
                      inputs=["input"], simd=4, pe=2, activation=ir.Requant(
                          "int3", np.ones(4, int), np.full(4, 2)))
    g = ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse("int3")),
                 [conv, ops.Concat("cat", inputs=["input", "c"], pe=2)])
    lp = plan(g)["cat"]
    first, second = lp.layer.consumed(lp)
    assert first.tolist() == [0, 1, 4, 5, 8, 9, 12, 13]
    assert second.tolist() == [2, 3, 6, 7, 10, 11, 14, 15]
    needs, _ = lp.layer.needs(lp)
    assert needs[0].tolist() == [0, 1, 1, 1, 2, 3, 3, 3, 4, 5, 5, 5, 6, 7, 7, 7]
    assert needs[1].tolist() == [-1, -1, 0, 1, 1, 1, 2, 3, 3, 3, 4, 5, 5, 5, 6, 7]
