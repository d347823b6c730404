"""hwgen.ir.activations: what threshold and requant give, by hand."""

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.ir.activations import Threshold


def test_threshold_counts_levels_as_int64():
    # uint2: three thresholds a channel; out = #{k : acc >= t[k]}
    t = Threshold(DType.parse("uint2"), np.array([[-1, 0, 5], [0, 0, 0]]))
    out = t.apply(np.array([[-2, 0], [0, -1], [5, 1]]))
    assert out.dtype == np.int64
    assert out.tolist() == [[0, 3], [2, 0], [3, 3]]
    # bin: 2c - 1
    b = Threshold(DType.parse("bin"), np.array([[3]]))
    assert b.apply(np.array([[2], [3]])).tolist() == [[-1], [1]]
