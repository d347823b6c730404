"""hwgen.ir.layer: the npz array store's size check at its exact boundary, required array
fields, and the order foldings are offered in."""

import json
import zipfile

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops
from hwgen.core.dtypes import DType


def _dense_file(tmp_path, weights, fields=None):
    doc = {"format": "hwgen-graph/1", "name": "g", "input": {"shape": [4], "dtype": "uint2"},
           "layers": [{"name": "fc", "op": "dense", "weight_dtype": "uint8", "weights": "w",
                       **(fields or {})}]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "g.npz", w=weights)
    with zipfile.ZipFile(tmp_path / "g.npz") as z:
        return tmp_path / "g.json", z.getinfo("w.npy").file_size


def test_an_npz_member_is_refused_by_its_size_from_one_byte_past_the_limit(tmp_path,
                                                                          monkeypatch):
    # with a limit of 10 elements a member may hold 8 * 10 + 4096 = 4176 bytes; a uint8
    # array of n elements is its .npy header plus n bytes
    monkeypatch.setattr("hwgen.ir.layer.MAX_ARRAY_ELEMENTS", 10)
    _, size = _dense_file(tmp_path, np.zeros(1, np.uint8))
    header = size - 1
    at_limit = 4176 - header
    path, size = _dense_file(tmp_path, np.zeros((1, at_limit), np.uint8))
    assert size == 4176
    with pytest.raises(hwgen.GraphError) as err:  # read, then refused by its element count
        hwgen.load_graph(path)
    assert str(err.value) == (f"layer 'fc' (dense): weights has {at_limit:,} elements, more "
                              "than the limit of 10")
    path, size = _dense_file(tmp_path, np.zeros((1, at_limit + 1), np.uint8))
    assert size == 4177
    with pytest.raises(hwgen.GraphError) as err:  # never read
        hwgen.load_graph(path)
    assert str(err.value) == ("layer 'fc' (dense): array 'w' in g.npz holds 4,177 bytes, "
                              "more than the limit of 10 elements")


def test_a_missing_required_array_field_is_named(tmp_path):
    path, _ = _dense_file(tmp_path, np.ones((3, 4), np.int64))
    doc = json.loads(path.read_text())
    del doc["layers"][0]["weights"]
    path.write_text(json.dumps(doc))
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(path)
    assert str(err.value) == "layer 'fc' (dense): missing field 'weights'"


def test_foldings_fewest_lanes_first_then_fewest_cycles():
    # 4 units, 6 inputs: pe in 1, 2, 4 and simd in 1, 2, 3, 6, cycles (4/pe) * (6/simd)
    fc = ops.Dense("fc", weight_dtype="bin", weights=np.ones((4, 6), int))
    g = ir.Graph("g", ir.Tensor((6,), DType.parse("uint2")), [fc])
    lanes_order = [(1, 1), (1, 2), (2, 1), (1, 3), (2, 2), (4, 1), (1, 6), (2, 3), (4, 2),
                   (2, 6), (4, 3), (4, 6)]
    assert fc.foldings(*g.layer_io()[0][1:]) == [(24 // (pe * simd), pe, simd)
                                                 for pe, simd in lanes_order]


def test_the_array_element_limit_is_exact(monkeypatch):
    monkeypatch.setattr("hwgen.ir.layer.MAX_ARRAY_ELEMENTS", 12)
    x = ir.Tensor((4,), DType.parse("uint2"))
    assert ir.Graph("g", x, [ops.Dense("fc", weight_dtype="bin",
                                       weights=np.ones((3, 4), int))]).output.shape == (3,)
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", x, [ops.Dense("fc", weight_dtype="bin", weights=np.ones((4, 4), int))])
    assert str(err.value) == ("layer 'fc' (dense): weights has 16 elements, more than the "
                              "limit of 12")


def test_the_frame_size_limit_is_exact(monkeypatch):
    monkeypatch.setattr("hwgen.ir.layer.MAX_TENSOR_ELEMENTS", 8)
    assert ir.Graph("g", ir.Tensor((8,), DType.parse("uint2")),
                    [ops.ArgMax("top")]).input.size == 8
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", ir.Tensor((3, 3), DType.parse("uint2")), [ops.ArgMax("top")])
    assert str(err.value) == ("input: a frame of [3, 3] has 9 elements, more than the limit "
                              "of 8")


def test_binary_weights_out_of_range_say_what_bin_allows():
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", ir.Tensor((2,), DType.parse("uint2")),
                 [ops.Dense("fc", weight_dtype="bin", weights=np.array([[0, 1]]))])
    assert str(err.value) == ("layer 'fc' (dense): weights has values outside bin (allowed -1 "
                              "or +1; found 0..1)")


@pytest.mark.parametrize("simd, depth", [(4, 2), (1, 4)])
def test_a_fifo_holds_one_frame_and_at_least_two_beats(simd, depth):
    from hwgen.analysis.plan import plan

    # d2 reads a frame of 4 elements, simd per beat: 1 beat (held in 2) or 4 beats
    g = ir.Graph("g", ir.Tensor((4,), DType.parse("uint2")), [
        ops.Dense("d1", weight_dtype="bin", weights=np.ones((4, 4), int), pe=4, simd=4),
        ops.Dense("d2", weight_dtype="bin", weights=np.ones((2, 4), int), simd=simd)])
    assert plan(g)["d2"].fifo_depths == (depth,)


def test_a_dtype_error_names_the_field_and_keeps_the_value():
    with pytest.raises(hwgen.GraphError) as err:
        ir.layer.parse_dtype("layer 'fc' (dense)", "dtype4", "weight_dtype")
    assert str(err.value) == ("layer 'fc' (dense): unknown weight_dtype 'dtype4'; allowed: bin, "
                              "tern, intN (N=2..32), uintN (N=1..32)")


def test_foldings_with_equal_lanes_put_the_fewer_cycles_first():
    # a made-up op whose cycles fall with pe and not with simd: 12 // pe + 12 // (2 * simd);
    # at 2 lanes (pe 2, simd 1) takes 6 + 6 = 12 cycles, (pe 1, simd 2) 12 + 3 = 15, so the
    # larger pe comes first among the two
    class Lanes(ir.Layer):
        op = "lanes"

        def fold_candidates(self, xs):
            return [1, 2], [1, 2]

        def cycles_at(self, xs, y, pe, simd):
            return 12 // pe + 12 // (2 * simd)

    x = ir.Tensor((4,), DType.parse("uint2"))
    assert Lanes("l").foldings([x], x) == [(18, 1, 1), (12, 2, 1), (15, 1, 2), (9, 2, 2)]
