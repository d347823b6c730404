"""concat: channels of the first input then the second's, in the narrowest dtype holding both
(by hand); the reference and the hardware (Amaranth simulator) against numpy, on mixed
dtypes and every legal pe; the file fields."""

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
