"""add: the element-wise sum of two inputs' values, its range and dtype by hand; the reference
and the hardware (Amaranth simulator) against numpy, with and without an activation, on
inputs of different dtypes and branch latencies; the file fields."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import extremes, values


def _residual(dtype, act=None, pe=2):
    """x + maxpool1x1(dense-free branch): a 2x2x4 input added to a 1x1 max pool of itself."""
    return ir.Graph("g", ir.Tensor((2, 2, 4), DType.parse(dtype)), [
        ops.MaxPool2d("mp", kernel=1, inputs=["input"]),
        ops.Add("a", inputs=["input", "mp"], pe=pe, activation=act)])


@pytest.mark.parametrize("dtype, acc, out", [
    ("uint2", (0, 6), "int4"), ("bin", (-2, 2), "int3"), ("int3", (-8, 6), "int4")])
@pytest.mark.parametrize("pe", [1, 2, 4])
def test_add_by_hand_in_reference_and_hardware(dtype, acc, out, pe):
    g = _residual(dtype, pe=pe)
    layer = g.layers[1]
    assert layer.acc_range == acc and g.output == ir.Tensor((2, 2, 4), DType.parse(out))
    assert layer.acc_bits == DType.parse(out).bits
    x = np.concatenate([values(dtype, (3, 2, 2, 4)), extremes(dtype, (2, 2, 4))])
    assert np.array_equal(reference.run(g, x), 2 * x)
    assert np.array_equal(run_graph(g, x), 2 * x)


def test_add_of_two_dtypes_and_an_activation():
    # a 1x1 conv gives (-x1, -x0) as int3; uint2 + int3 spans 0 - 4 .. 3 + 3 -> -4..6;
    # a bin threshold at 1 gives +1 where x0 - x1 >= 1 (and x1 - x0 >= 1), else -1
    swap = -np.array([[0, 1], [1, 0]])[:, None, None, :]
    conv = ops.Conv2d("c", weight_dtype="int2", weights=swap,
                      activation=ir.Requant("int3", np.ones(2, int), np.zeros(2, int)))
    act = ir.Threshold("bin", np.array([[1], [1]]))
    g = ir.Graph("g", ir.Tensor((2, 2, 2), DType.parse("uint2")),
                 [conv, ops.Add("a", inputs=["input", "c"], activation=act)])
    assert g.layers[1].acc_range == (-4, 6) and g.output.dtype == DType.parse("bin")
    x = np.concatenate([values("uint2", (5, 2, 2, 2)), extremes("uint2", (2, 2, 2))])
    expected = np.where(x - x[..., ::-1] >= 1, 1, -1)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_add_file_fields(tmp_path):
    g = _residual("int3", act=ir.Threshold("bin", np.zeros((4, 1), int)), pe=4)
    doc, _ = g.to_json()
    assert doc["layers"][1] == {"name": "a", "op": "add", "inputs": ["input", "mp"], "pe": 4,
                                "activation": {"op": "threshold", "dtype": "bin",
                                               "thresholds": "a.t"}}
    g.save(tmp_path / "g")
    assert hwgen.load_graph(tmp_path / "g.json").to_json()[0] == doc


def test_a_hand_written_add_takes_one_channel_a_beat_and_names_a_bad_activation(tmp_path):
    doc, _ = _residual("int3", pe=2).to_json()
    del doc["layers"][1]["pe"]
    (tmp_path / "g.json").write_text(json.dumps(doc))
    assert hwgen.load_graph(tmp_path / "g.json").layers[1].pe == 1
    doc["layers"][1]["activation"] = {"op": "relu"}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(tmp_path / "g.json")
    assert str(err.value) == ("layer 'a' (add): unknown activation op 'relu'; allowed: "
                              "threshold, requant")


def test_add_takes_beat_k_of_each_input_for_output_beat_k():
    from hwgen.analysis.plan import plan

    lp = plan(_residual("int3", pe=2))["a"]  # 2x2x4 at 2 a beat: 8 beats
    assert [c.tolist() for c in lp.layer.consumed(lp)] == [list(range(8))] * 2
    needs, work = lp.layer.needs(lp)
    assert [n.tolist() for n in needs] == [list(range(8))] * 2 and work == 0


def test_an_add_takes_a_cycle_per_output_beat_an_integer():
    from hwgen.analysis.plan import plan

    # 2x2x4 values at PE 2: 16 / 2 = 8 beats, one a cycle; reports print cycles with
    # "{:,}", so an int, not 8.0
    lp = plan(_residual("int3", pe=2))["a"]
    assert lp.cycles == 8 and type(lp.cycles) is int
