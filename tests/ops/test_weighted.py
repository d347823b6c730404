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


def _fc(x_dtype, n_in, weights, **kw):
    return ir.Graph("g", ir.Tensor((n_in,), DType.parse(x_dtype)),
                    [ops.Dense("fc", weights=np.array(weights), **kw)])


@pytest.mark.parametrize("kw, message", [
    (dict(weight_dtype="int1"), "unknown weight_dtype 'int1'; intN needs N = 2..32"),
    (dict(weight_dtype="bin", weight_storage="rom"),
     "weight_storage 'rom' unknown; allowed: auto, logic, bram"),
    (dict(weight_dtype="bin", bias=np.zeros(3, int)), "bias must have shape [2], got [3]"),
])
def test_python_refusals_name_the_layer_and_field(kw, message):
    with pytest.raises(hwgen.GraphError) as err:
        _fc("uint2", 2, [[1, 1], [1, -1]], **kw)
    assert str(err.value) == f"layer 'fc' (dense): {message}"


def test_the_accumulator_limit_counts_the_inputs_most_negative_value_and_each_row():
    # int32 inputs reach -2^31: one weight of -2^31 makes a product of 2^62, past 62 bits
    with pytest.raises(hwgen.GraphError) as err:
        _fc("int32", 1, [[-2**31]], weight_dtype="int32")
    assert str(err.value) == (
        "layer 'fc' (dense): accumulator range needs more than 62 bits (weights up to "
        "2,147,483,648 in a row times inputs up to 2,147,483,648, bias up to 0 in magnitude)")
    # four rows of 2^29 each stay within 2^60 a row (their total, 2^31, would not)
    rq = ir.Requant("int8", np.ones(4, int), np.full(4, 40))
    g = _fc("int32", 1, [[-2**29]] * 4, weight_dtype="int32", activation=rq)
    assert g.layers[0].acc_range == (-2**60 + 2**29, 2**60)


def test_a_raw_output_may_be_int32_not_int33():
    # int16 inputs times -32768: -32768 * 32767 .. 2^30, int32; two of them reach 2^31
    assert _fc("int16", 1, [[-32768]], weight_dtype="int16").output.dtype == DType.parse(
        "int32")
    with pytest.raises(hwgen.GraphError) as err:
        _fc("int16", 2, [[-32768, -32768]], weight_dtype="int16")
    assert str(err.value) == ("layer 'fc' (dense): raw accumulator output needs 33 bits, more "
                              "than int32; add a threshold or requant activation")
