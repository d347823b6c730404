"""hwgen.ops.weighted: the codebook's size limit at its boundary (256 entries: 8-bit
indices)."""

import json

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


def _file(tmp_path, **fields):
    layer = {"name": "fc", "op": "dense", "weight_dtype": "bin", "weights": "w", **fields}
    layer = {k: v for k, v in layer.items() if v is not None}
    doc = {"format": "hwgen-graph/1", "name": "g", "input": {"shape": [2], "dtype": "uint2"},
           "layers": [layer]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "g.npz", w=np.ones((2, 2), int))
    return tmp_path / "g.json"


@pytest.mark.parametrize("fields, message", [
    (dict(weight_dtype=None), "missing weight_dtype"),
    (dict(weight_dtype="int1"), "unknown weight_dtype 'int1'; intN needs N = 2..32"),
    (dict(bias="b"), "bias refers to array 'b', which g.npz does not hold"),
    (dict(codebook="cb"), "codebook refers to array 'cb', which g.npz does not hold"),
])
def test_file_refusals_name_the_layer_and_field(tmp_path, fields, message):
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(_file(tmp_path, **fields))
    assert str(err.value) == f"layer 'fc' (dense): {message}"


@pytest.mark.parametrize("storage", ["bram", "logic", "auto"])
def test_weight_storage_survives_the_file(tmp_path, storage):
    g = hwgen.load_graph(_file(tmp_path, weight_storage=storage))
    g.save(tmp_path / "copy")
    assert hwgen.load_graph(tmp_path / "copy.json").layers[0].weight_storage == storage
