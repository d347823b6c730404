"""The lowering both front ends share: thresholds and channel negation, checked against a
brute force over every integer accumulator through the float tail (no binary search)."""

import numpy as np
import pytest

from hwgen.core.dtypes import DType
from hwgen.frontends import lowering
from hwgen.ops import Conv2d, Dense

LO, HI = -6, 6
# per channel (scale, offset): rising; rising, never reaching level 1; falling (the only
# negative scale, in the middle); every level already at LO; the top level only at HI
TAIL = [(0.5, 0.0), (1.0, -100.0), (-0.25, 0.5), (1.0, 100.0), (1.0, -3.0)]


def relu2(acc: int, channel: int) -> int:
    """The tail of one channel on one accumulator, in float32, to a uint2 code (round half
    to even, as ONNX and numpy round)."""
    scale, offset = TAIL[channel]
    v = np.float32(acc) * np.float32(scale) + np.float32(offset)
    return int(min(max(np.rint(v), 0), 3))


def code(a: np.ndarray) -> np.ndarray:
    return np.vectorize(relu2)(a, np.arange(a.shape[1]))


def brute(first: int, last: int, falling: bool, channel: int, level: int) -> int:
    """The least corrected accumulator in first..last whose output reaches ``level``."""
    return next((a for a in range(first, last + 1)
                 if relu2(-a if falling else a, channel) >= level), last + 1)


def test_levels_are_every_value_but_the_lowest():
    assert lowering.levels(DType.parse("bin")) == [1]
    assert lowering.levels(DType.parse("tern")) == [0, 1]
    assert lowering.levels(DType.parse("uint2")) == [1, 2, 3]
    assert lowering.levels(DType.parse("int3")) == [-3, -2, -1, 0, 1, 2, 3]


def test_thresholds_equal_the_brute_force_on_each_channels_own_range():
    falling, t = lowering.thresholds(code, [1, 2, 3], len(TAIL), LO, HI)
    assert falling.tolist() == [False, False, True, False, False]
    for c in range(len(TAIL)):
        first, last = (-HI, -LO) if falling[c] else (LO, HI)
        assert t[c].tolist() == [brute(first, last, falling[c], c, k) for k in (1, 2, 3)], c
    # the boundaries, by hand: ties round to even (acc 1 -> 0.5 -> 0, acc 3 -> 1.5 -> 2,
    # acc 5 -> 2.5 -> 2); never reached: HI + 1; reached everywhere: LO; the top level
    # first at HI
    assert t[0].tolist() == [2, 3, HI]
    assert t[1].tolist() == [HI + 1] * 3
    assert t[3].tolist() == [LO] * 3
    assert t[4].tolist() == [4, 5, HI]
    # the layer's view: on every accumulator, the count of thresholds passed by the
    # (negated where falling) accumulator is the tail's code
    for acc in range(LO, HI + 1):
        corrected = np.where(falling, -acc, acc)
        assert ((corrected[:, None] >= t).sum(1)).tolist() == [relu2(acc, c) for c in
                                                               range(len(TAIL))], acc


def test_a_wider_span_searches_past_the_range():
    """The PyTorch exporter's span, min(lo, -hi)..max(hi, -lo): an asymmetric range, so a
    level never reached inside it gets the first accumulator past it that reaches it."""
    lo, hi = -2, 9
    falling, t = lowering.thresholds(code, [1, 2, 3], len(TAIL), lo, hi, span=(-9, 9))
    for c in range(len(TAIL)):
        assert t[c].tolist() == [brute(-9, 9, falling[c], c, k) for k in (1, 2, 3)], c
    # falling: 0.25 * (-acc) + 0.5 reaches 1, 2, 3 at -acc = 1, 4, 9; its own corrected
    # range ends at -lo = 2, where the default search stops
    assert t[2].tolist() == [1, 4, 9]
    assert t[3].tolist() == [-9] * 3
    _, own = lowering.thresholds(code, [1, 2, 3], len(TAIL), lo, hi)
    assert own[2].tolist() == [1, 3, 3] and own[3].tolist() == [lo] * 3


def test_bipolar_thresholds_with_one_falling_middle_channel():
    scales = np.float32([1.0, -1.0, 2.0])

    def sign(a: np.ndarray) -> np.ndarray:
        return np.where(a.astype(np.float32) * scales - np.float32(0.5) >= 0, 1, -1)

    falling, t = lowering.thresholds(sign, [1], 3, -4, 4)
    assert falling.tolist() == [False, True, False]
    # channel 0: a - 0.5 >= 0 from a = 1; channel 1: -a - 0.5 >= 0 for a <= -1, so on the
    # corrected accumulator -a from 1; channel 2: 2a - 0.5 >= 0 from a = 1
    assert t.tolist() == [[1], [1], [1]]


@pytest.mark.parametrize("op", ["dense", "conv2d"])
def test_negate_flips_only_the_falling_channels(op):
    rng = np.random.default_rng(4)
    falling = np.array([False, False, True, False])  # one middle channel
    if op == "dense":
        w = rng.integers(-3, 4, (4, 5))
        layer = Dense("fc", weight_dtype=DType.parse("int3"), weights=w.copy(),
                      bias=np.array([1, -2, 3, -4]))
    else:
        w = rng.integers(-3, 4, (4, 3, 3, 2))
        layer = Conv2d("c", weight_dtype=DType.parse("int3"), weights=w.copy(),
                       bias=np.array([1, -2, 3, -4]))
    lowering.negate(layer, falling)
    want = w.copy()
    want[2] = -w[2]
    assert np.array_equal(layer.weights, want)
    assert layer.bias.tolist() == [1, -2, -3, -4]


def test_negate_without_a_bias_keeps_none():
    layer = Dense("fc", weight_dtype=DType.parse("bin"), weights=np.array([[1, -1], [1, 1]]))
    lowering.negate(layer, np.array([False, True]))
    assert layer.weights.tolist() == [[1, -1], [-1, -1]]
    assert layer.bias is None
