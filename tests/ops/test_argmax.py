"""argmax: the index of the largest element, ties to the lowest; the label's dtype by hand;
the reference and the hardware (Amaranth simulator) against a loop, whole frames a beat
and a few elements a beat."""

import numpy as np
import pytest

from hwgen import ir, ops, reference
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.hw import silenced
from hwgen.targets import Timing
from tests.ops.amaranth_graph import run_graph
from tests.ops.loops import values


def _first_max(frame):
    best = 0
    for k, v in enumerate(frame):
        if v > frame[best]:
            best = k
    return best


@pytest.mark.parametrize("size, label", [(2, "uint1"), (7, "uint3"), (8, "uint3"),
                                         (9, "uint4")])
def test_label_dtype(size, label):
    g = ir.Graph("g", ir.Tensor((size,), DType.parse("int4")), [ops.ArgMax("top")])
    assert g.output == ir.Tensor((1,), DType.parse(label))


@pytest.mark.parametrize("pe", [None, 1, 3])
def test_argmax_by_loop_in_reference_and_hardware(pe):
    # None: the graph input, a whole frame a beat; else a dense giving pe elements a beat
    layers = [ops.ArgMax("top")]
    dtype = "int2"
    if pe:
        layers.insert(0, ops.Dense("fc", weight_dtype="int2", weights=np.eye(6, dtype=int),
                                   pe=pe, simd=6,
                                   activation=ir.Requant("int2", np.ones(6, int),
                                                         np.zeros(6, int))))
    g = ir.Graph("g", ir.Tensor((6,), DType.parse(dtype)), layers)
    x = values(dtype, (12, 6), seed=5)  # int2 over 6 elements: many ties
    x[0] = [1, -2, 1, 0, 1, 1]
    x[1] = [-2, -2, -2, -2, -2, 1]
    expected = np.array([[_first_max(list(frame))] for frame in x])
    assert expected[:2].tolist() == [[0], [5]]
    assert np.array_equal(reference.run(g, x), expected)
    assert np.array_equal(run_graph(g, x), expected)


def _label_select(g, timing):
    lp = plan(g, timing)["top"]
    (block,) = silenced(lp.layer.blocks(lp))
    return block


def test_argmax_takes_its_producers_beats_and_is_pipelined_for_a_fast_clock():
    fc = ops.Dense("fc", weight_dtype="int2", weights=np.eye(16, dtype=int), pe=4, simd=16,
                   activation=ir.Requant("int8", np.ones(16, int), np.zeros(16, int)))
    g = ir.Graph("g", ir.Tensor((16,), DType.parse("int8")), [fc, ops.ArgMax("top")])
    assert plan(g)["top"].elems == (4,)
    fast = Timing("ecp5", 400.0)
    # the comparator tree gets registers at 400 MHz
    assert _label_select(g, fast).latency > _label_select(g, None).latency
    x = values("int8", (6, 16), seed=9)
    expected = np.array([[_first_max(list(frame))] for frame in x])
    assert np.array_equal(run_graph(g, x, timing=fast), expected)


def test_the_reference_labels_are_int64_as_onnx_argmax_gives():
    """The reference's labels are int64 indices (ONNX ArgMax's output type), not floats."""
    x = np.array([[3, -1, 7, 7], [0, 2, -5, 1]])
    got = ops.ArgMax("top").reference([x])
    assert got.dtype == np.int64
    assert got.tolist() == [[2], [1]]
