"""hwgen.ir.activations: what threshold and requant give, by hand."""

import numpy as np
import pytest

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
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


@pytest.mark.parametrize("dtype, message", [
    ("uint9", "threshold output uint9 has too many levels; allowed: bin, tern, intK/uintK "
              "with K <= 8 (use requant for wider)"),
    ("int33", "unknown threshold dtype 'int33'; intN needs N = 2..32"),
])
def test_threshold_dtype_refusals(dtype, message):
    t = Threshold(dtype, np.zeros((1, 1), int))
    with pytest.raises(GraphError) as err:
        t.check("layer 'fc' (dense)", 1)
    assert str(err.value) == f"layer 'fc' (dense): {message}"
