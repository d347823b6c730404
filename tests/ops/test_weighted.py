"""hwgen.ops.weighted: the codebook's size limit at its boundary (256 entries: 8-bit
indices)."""

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops
from hwgen.core.dtypes import DType


def _dense(book):
    return ops.Dense("fc", weight_dtype="int10", weights=book[None, :2], codebook=book)


def test_a_codebook_of_256_entries_is_taken_and_257_refused():
    x = ir.Tensor((2,), DType.parse("uint2"))
    fc = _dense(np.arange(-128, 128))
    ir.Graph("g", x, [fc])
    assert fc.index_bits == 8
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", x, [_dense(np.arange(-128, 129))])
    assert str(err.value) == ("layer 'fc' (dense): codebook must be a list of 2..256 values, "
                              "got shape [257]")
