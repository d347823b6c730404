"""hwgen.reference against hand-computed values and plain Python loops."""

import numpy as np
import pytest

from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType

rng = np.random.default_rng(1)


def graph(in_dtype, shape, *layers):
    return ir.Graph("g", ir.Tensor(shape, DType.parse(in_dtype)), list(layers))


def test_binary_dot_is_xnor_popcount():
    # a = [+1,-1,+1,+1], w = [+1,+1,-1,+1]: agreements at 0 and 3 -> 2*2 - 4 = 0
    g = graph("bin", (4,), ops.Dense("fc", weight_dtype="bin", weights=np.array([[1, 1, -1, 1]])))
    assert reference.run(g, np.array([1, -1, 1, 1])).tolist() == [[0]]
    # all agree -> +4, none agree -> -4
    assert reference.run(g, np.array([1, 1, -1, 1])).tolist() == [[4]]
    assert reference.run(g, np.array([-1, -1, 1, -1])).tolist() == [[-4]]


def test_dense_with_bias_by_hand():
    w = np.array([[1, -2, 3], [0, 1, -1]])
    g = graph("int4", (3,), ops.Dense("fc", weight_dtype="int3", weights=w, bias=np.array([5, -1])))
    # [1*2 - 2*(-3) + 3*1 + 5, 0 - 3 - 1 - 1] = [16, -5]
    assert reference.run(g, np.array([2, -3, 1])).tolist() == [[16, -5]]


def test_threshold_levels_by_hand():
    t = np.array([[-1, 0, 2], [0, 0, 0]])
    dense = ops.Dense("fc", weight_dtype="int8", weights=np.eye(2, dtype=int),
                     activation=ir.Threshold("uint2", t))
    g = graph("int8", (2,), dense)
    # acc 0: channel 0 passes -1 and 0 -> 2; channel 1 passes all three -> 3
    assert reference.run(g, np.array([0, 0])).tolist() == [[2, 3]]
    assert reference.run(g, np.array([2, -1])).tolist() == [[3, 0]]
    dense.activation = ir.Threshold("int2", t)  # out = count - 2
    g.validate()
    assert reference.run(g, np.array([0, 0])).tolist() == [[0, 1]]
    dense.activation = ir.Threshold("bin", np.array([[1], [-3]]))
    g.validate()
    assert reference.run(g, np.array([0, -3])).tolist() == [[-1, 1]]


def test_requant_round_half_up_and_clamp():
    dense = ops.Dense("fc", weight_dtype="int8", weights=np.eye(4, dtype=int),
                     activation=ir.Requant("int4", np.array([3, 3, 1, 1]), np.array([2, 2, 0, 1])))
    g = graph("int8", (4,), dense)
    # (acc*m + 2) >> 2 for acc = 1 -> (3+2)>>2 = 1; acc = -3 -> (-9+2)>>2 = -7>>2 = -2;
    # s=0: y = acc clamped -> 100 -> 7; s=1: (-5 + 1) >> 1 = -2
    assert reference.run(g, np.array([1, -3, 100, -5])).tolist() == [[1, -2, 7, -2]]
    # half-way cases round up: (2*1 + 1) >> 1 = 1 (1.0 -> 1), (-1 + 1) >> 1 = 0 (-0.5 -> 0)
    assert reference.run(g, np.array([0, 0, -100, -1])).tolist() == [[0, 0, -8, 0]]


def test_argmax_ties_lowest_index():
    g = graph("int4", (5,), ops.ArgMax("top"))
    x = np.array([[1, 7, 3, 7, 7], [-8, -8, -8, -8, -8], [0, 0, 0, 0, 5]])
    assert reference.run(g, x).tolist() == [[1], [0], [4]]


def loop_conv(x, w, stride, pad, pad_value, groups):
    n, h, wd, c = x.shape
    oc, kh, kw, cg = w.shape
    xp = np.full((n, h + 2 * pad[0], wd + 2 * pad[1], c), pad_value, dtype=np.int64)
    xp[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    oh, ow = (h + 2 * pad[0] - kh) // stride[0] + 1, (wd + 2 * pad[1] - kw) // stride[1] + 1
    out = np.zeros((n, oh, ow, oc), dtype=np.int64)
    per_group = oc // groups
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                for o in range(oc):
                    g0 = (o // per_group) * cg
                    total = 0
                    for di in range(kh):
                        for dj in range(kw):
                            for ci in range(cg):
                                total += (xp[b, i * stride[0] + di, j * stride[1] + dj, g0 + ci]
                                          * w[o, di, dj, ci])
                    out[b, i, j, o] = total
    return out


@pytest.mark.parametrize("shape,k,stride,pad,groups", [
    ((5, 7, 3), (3, 3), (1, 1), (0, 0), 1), ((6, 6, 2), (3, 3), (2, 2), (1, 1), 1),
    ((7, 5, 4), (3, 2), (2, 1), (1, 0), 4), ((4, 4, 3), (1, 1), (1, 1), (0, 0), 1),
])
def test_conv_against_loops(shape, k, stride, pad, groups):
    c = shape[2]
    oc = c if groups > 1 else 5
    w = rng.integers(-3, 4, (oc, *k, c // groups))
    conv = ops.Conv2d("c", weight_dtype="int3", weights=w, stride=stride, padding=pad,
                     pad_value=-2, groups=groups)
    g = graph("int4", shape, conv)
    x = rng.integers(-8, 8, (3, *shape))
    assert np.array_equal(reference.run(g, x), loop_conv(x, w, stride, pad, -2, groups))


def test_pools_against_loops():
    x = rng.integers(-8, 8, (2, 5, 7, 3))
    g = graph("int4", (5, 7, 3), ops.MaxPool2d("p", kernel=(2, 3), stride=(2, 2)))
    out = reference.run(g, x)
    assert out.shape == (2, 2, 3, 3)
    for b in range(2):
        for i in range(2):
            for j in range(3):
                for c in range(3):
                    assert out[b, i, j, c] == x[b, 2 * i:2 * i + 2, 2 * j:2 * j + 3, c].max()
    g = graph("int4", (5, 7, 3), ops.GlobalSumPool("gp"))
    assert np.array_equal(reference.run(g, x), x.sum(axis=(1, 2)))
    assert g.output.dtype.name == "int10"  # 35 * [-8, 7] = [-280, 245]
    g = graph("int4", (5, 7, 3), ops.AvgPool2d("a", kernel=(3, 2), stride=(1, 3)))
    out = reference.run(g, x)
    assert out.shape == (2, 3, 2, 3) and g.output.dtype.name == "int7"  # 6 * [-8, 7]
    for b, i, j, c in np.ndindex(out.shape):
        assert out[b, i, j, c] == x[b, i:i + 3, 3 * j:3 * j + 2, c].sum()
    g = graph("bin", (2, 2, 1), ops.AvgPool2d("a", kernel=2))  # values -1/+1
    assert reference.run(g, np.array([[[[-1], [1]], [[1], [1]]]])).tolist() == [[[[2]]]]


def test_inputs_are_checked():
    g = graph("uint4", (3,), ops.ArgMax("top"))
    with pytest.raises(ir.GraphError, match="values outside uint4"):
        reference.run(g, np.array([0, 16, 1]))
    with pytest.raises(ir.GraphError, match="must be integers"):
        reference.run(g, np.array([0.5, 1, 1]))
    with pytest.raises(ir.GraphError, match="expected shape"):
        reference.run(g, np.zeros((2, 4), int))


def test_add_and_concat_by_hand():
    x = np.array([[[[1, -1], [-1, -1]]]])  # (1, 1, 2, 2) bin values
    g = graph("bin", (1, 2, 2),
              ops.MaxPool2d("p", kernel=1, inputs=["input"]),
              ops.Add("sum", inputs=["p", "input"], pe=1),
              ops.Concat("cat", inputs=["sum", "input"], pe=2))
    # values add: +1 + +1 = 2, -1 + -1 = -2; concat keeps each pixel's channels together
    assert reference.run(g, x).tolist() == [[[[2, -2, 1, -1], [-2, -2, -1, -1]]]]
    assert g.output.dtype.name == "int3"  # -2..2 and -1..1 share int3


def test_add_activation_applies_to_the_sum():
    g = graph("uint2", (3,),
              ops.Dense("d", weight_dtype="int2", weights=np.eye(3, dtype=int),
                       inputs=["input"]),
              ops.Add("a", inputs=["d", "input"],
                     activation=ir.Threshold("bin", np.array([[3], [0], [6]]))))
    # sums [2*1, 2*0, 2*3] = [2, 0, 6] against thresholds [3, 0, 6]
    assert reference.run(g, np.array([1, 0, 3])).tolist() == [[-1, 1, 1]]


def test_global_sum_pool_activation_floor_divides():
    """Thresholds at multiples of 4 on a sum make floor(sum / 4), clamped to uint2."""
    t = np.tile(np.array([4, 8, 12]), (2, 1))
    g = graph("uint2", (2, 2, 2), ops.GlobalSumPool("gsp", activation=ir.Threshold("uint2", t)))
    x = np.array([[[[3, 0], [3, 1]], [[3, 2], [0, 3]]]])  # sums 9 and 6
    assert reference.run(g, x).tolist() == [[2, 1]]


def test_input_checked_before_any_cast():
    g = graph("int8", (2,), ops.ArgMax("top"))
    with pytest.raises(ir.GraphError, match="values outside int8"):
        reference.run(g, np.array([200, 1], dtype=np.uint64))
    with pytest.raises(ir.GraphError, match="values outside int8"):
        reference.run(g, np.array([2**64 - 1, 1], dtype=np.uint64))
