"""maxpool2d: shapes and dtype by hand, the reference and the hardware (Amaranth simulator)
against plain loops, on every geometry kind: default stride, overlapping and gapped
windows, a single position, and a producer that gives two of four channels a beat."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import extremes, pool, values

CASES = [  # input (H, W, C), kernel, stride given, stride meant, output (OH, OW)
    ((4, 5, 2), 2, None, (2, 2), (2, 2)),
    ((5, 5, 2), (3, 2), (1, 2), (1, 2), (3, 2)),
    ((5, 4, 1), 1, 2, (2, 2), (3, 2)),
    ((3, 3, 2), 3, None, (3, 3), (1, 1)),
]


@pytest.mark.parametrize("shape, kernel, stride, meant, out", CASES)
@pytest.mark.parametrize("dtype", ["int3", "bin"])
def test_maxpool_by_loops_in_reference_and_hardware(shape, kernel, stride, meant, out, dtype):
    layer = ops.MaxPool2d("mp", kernel=kernel, stride=stride)
    g = ir.Graph("g", ir.Tensor(shape, DType.parse(dtype)), [layer])
    assert g.output == ir.Tensor((*out, shape[2]), DType.parse(dtype))
    assert layer.stride == meant
    kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
    x = np.concatenate([values(dtype, (3, *shape)), extremes(dtype, shape)])
    expected = pool(x, (kh, kw), meant, max)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_maxpool_after_a_layer_that_gives_two_channels_a_beat():
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.array([[[[1, 0]]], [[[0, 1]]],
                                                                   [[[-1, 0]]], [[[1, 1]]]]),
                      pe=2, simd=2)
    g = ir.Graph("g", ir.Tensor((4, 4, 2), DType.parse("int3")),
                 [conv, ops.MaxPool2d("mp", kernel=2)])
    x = values("int3", (3, 4, 4, 2), seed=1)
    a, b = x[..., 0], x[..., 1]
    convolved = np.stack([a, b, -a, a + b], axis=-1)  # the 1x1 conv, by hand
    expected = pool(convolved, (2, 2), (2, 2), max)
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def test_maxpool_file_fields(tmp_path):
    g = ir.Graph("g", ir.Tensor((5, 5, 1), DType.parse("uint2")),
                 [ops.MaxPool2d("mp", kernel=(3, 2), stride=(1, 2))])
    doc, _ = g.to_json()
    assert doc["layers"][0] == {"name": "mp", "op": "maxpool2d", "kernel": [3, 2],
                                "stride": [1, 2]}
    g.save(tmp_path / "g")
    layer = hwgen.load_graph(tmp_path / "g.json").layers[0]
    assert (layer.kernel, layer.stride) == ((3, 2), (1, 2))
    # a hand-written file may leave out both: kernel 2, stride the kernel
    doc["layers"][0] = {"name": "mp", "op": "maxpool2d"}
    (tmp_path / "h.json").write_text(json.dumps(doc))
    layer = hwgen.load_graph(tmp_path / "h.json").layers[0]
    assert (layer.kernel, layer.stride) == ((2, 2), (2, 2))
