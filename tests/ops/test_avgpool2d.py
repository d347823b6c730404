"""avgpool2d: the sum over windows (the 1/(kh*kw) belongs to the next layer), its range and
dtype by hand, the reference and the hardware (Amaranth simulator) against plain loops,
with and without an activation on the sum; its refusals as whole lines."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import extremes, pool, values

CASES = [  # input dtype, kernel, stride, sum range by hand, its dtype
    ("uint2", 2, None, (0, 12), "int5"),         # 4 positions of 0..3
    ("bin", 3, 1, (-9, 9), "int5"),              # 9 positions of -1/+1
    ("int3", (1, 3), (2, 1), (-12, 9), "int5"),  # 3 positions of -4..3
    ("int4", 1, 2, (-8, 7), "int4"),             # one position: the input itself
]


@pytest.mark.parametrize("dtype, kernel, stride, acc, out", CASES)
def test_avgpool_sums_windows_in_reference_and_hardware(dtype, kernel, stride, acc, out):
    shape = (5, 5, 2)
    layer = ops.AvgPool2d("ap", kernel=kernel, stride=stride)
    g = ir.Graph("g", ir.Tensor(shape, DType.parse(dtype)), [layer])
    assert layer.acc_range == acc and g.output.dtype == DType.parse(out)
    assert layer.acc_bits == DType.parse(out).bits
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    meant = layer.stride
    x = np.concatenate([values(dtype, (3, *shape)), extremes(dtype, shape)])
    expected = pool(x, (kh, kw), meant, sum)
    assert expected.max() == acc[1] and expected.min() == acc[0]  # the extremes reach both
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_an_activation_acts_on_the_sum():
    # 2x2 sums of uint2 are 0..12; thresholds 4, 8 and 12 give floor(sum / 4) (uint2)
    t = ir.Threshold("uint2", np.array([[4, 8, 12], [1, 2, 3]]))
    layer = ops.AvgPool2d("ap", kernel=2, activation=t)
    g = ir.Graph("g", ir.Tensor((4, 4, 2), DType.parse("uint2")), [layer])
    assert g.output.dtype == DType.parse("uint2") and layer.acc_range == (0, 12)
    x = np.concatenate([values("uint2", (3, 4, 4, 2)), extremes("uint2", (4, 4, 2))])
    sums = pool(x, (2, 2), (2, 2), sum)
    expected = np.stack([sums[..., 0] // 4, np.minimum(sums[..., 1], 3)], axis=-1)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_avgpool_file_fields(tmp_path):
    t = ir.Threshold("bin", np.array([[0]]))
    g = ir.Graph("g", ir.Tensor((3, 3, 1), DType.parse("int2")),
                 [ops.AvgPool2d("ap", kernel=3, activation=t)])
    doc, _ = g.to_json()
    assert doc["layers"][0] == {"name": "ap", "op": "avgpool2d", "kernel": [3, 3],
                                "stride": [3, 3],
                                "activation": {"op": "threshold", "dtype": "bin",
                                               "thresholds": "ap.t"}}
    g.save(tmp_path / "g")
    back = hwgen.load_graph(tmp_path / "g.json")
    assert back.to_json()[0] == doc and back.output.dtype == DType.parse("bin")
    doc["layers"][0] = {"name": "ap", "op": "avgpool2d", "kernel": 3}
    (tmp_path / "h.json").write_text(json.dumps(doc))
    layer = hwgen.load_graph(tmp_path / "h.json").layers[0]
    assert (layer.kernel, layer.stride, layer.activation) == ((3, 3), (3, 3), None)


@pytest.mark.parametrize("shape, kernel, message", [
    ((2, 2, 1), 3, "layer 'ap' (avgpool2d): kernel (3, 3) larger than the 2x2 input"),
    ((4, 1), 2, "layer 'ap' (avgpool2d): input must be (H, W, C), got [4, 1]"),
    ((4, 4, 1), 0, "layer 'ap' (avgpool2d): kernel must be an integer >= 1 or a pair of "
                   "them, got 0"),
])
def test_avgpool_refusals(shape, kernel, message):
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", ir.Tensor(shape, DType.parse("uint2")),
                 [ops.AvgPool2d("ap", kernel=kernel)])
    assert str(err.value) == message


def test_a_bad_activation_names_the_pool(tmp_path):
    doc = {"format": "hwgen-graph/1", "name": "g", "input": {"shape": [2, 2, 1],
                                                             "dtype": "uint2"},
           "layers": [{"name": "ap", "op": "avgpool2d", "activation": {"op": "relu"}}]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(tmp_path / "g.json")
    assert str(err.value) == ("layer 'ap' (avgpool2d): unknown activation op 'relu'; allowed: "
                              "threshold, requant")
