"""hwgen.ir.graph: what a person reads (repr, summary), what a file holds (to_json, the text
of NAME.json), the digest a build folder records, and where save writes. Expected values
are worked out by hand in the comments."""

import json
from pathlib import Path

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.ir.graph import graph_paths


def _mlp():
    """6 uint2 inputs -> dense of 4 units, weights all 1 (int2), pe=2 simd=3 -> argmax."""
    return ir.Graph("g", ir.Tensor((6,), DType.parse("uint2")), [
        ops.Dense("fc", weight_dtype="int2", weights=np.ones((4, 6), int), pe=2, simd=3),
        ops.ArgMax("top")])


def _chain(n):
    """n 1x1 max pools one after the other on a 1x1x1 input."""
    return ir.Graph("c", ir.Tensor((1, 1, 1), DType.parse("int4")),
                    [ops.MaxPool2d(f"p{k}", kernel=1) for k in range(n)])


def test_repr_names_eight_layers_and_counts_the_rest():
    assert repr(_chain(8)) == ("<Graph 'c': [1, 1, 1] int4 -> [1, 1, 1] int4; layers p0, p1, "
                               "p2, p3, p4, p5, p6, p7>")
    assert repr(_chain(9)) == ("<Graph 'c': [1, 1, 1] int4 -> [1, 1, 1] int4; layers p0, p1, "
                               "p2, p3, p4, p5, p6, p7, ... (9 in all)>")


def test_summary_is_a_left_aligned_table():
    # fc: a row of six 1s times inputs 0..3 -> 0..18 -> int6; argmax of 4 -> 0..3 -> uint2.
    # Columns are as wide as their widest cell (5, 6, 5, 9, 9, 11), two spaces apart.
    assert _mlp().summary().splitlines() == [
        "g: input [6] uint2",
        "  layer  op      reads  out        pe x simd  weights",
        "  fc     dense   input  [4] int6   2x3        [4, 6] int2",
        "  top    argmax  fc     [1] uint2  -          -",
    ]


def test_a_join_reading_the_previous_layer_twice_keeps_its_inputs_in_the_file(tmp_path):
    g = ir.Graph("j", ir.Tensor((1, 1, 2), DType.parse("uint2")), [
        ops.MaxPool2d("m", kernel=1), ops.Add("a", inputs=["m", "m"])])
    doc, _ = g.to_json()
    assert doc["layers"][1]["inputs"] == ["m", "m"]
    assert "inputs" not in doc["layers"][0]
    g.save(tmp_path / "j")
    assert hwgen.load_graph(tmp_path / "j.json").sources == {"m": ["input"], "a": ["m", "m"]}


def test_digest_follows_content_not_key_order():
    base = _mlp()
    assert base.digest() == _mlp().digest()
    # meta is content; the order its keys were written in is not
    a, b = _mlp(), _mlp()
    a.meta, b.meta = {"x": 1, "y": 2}, {"y": 2, "x": 1}
    assert a.digest() == b.digest() != base.digest()
    # a field outside the arrays, and one array value, each change it
    folded = _mlp()
    folded.layers[0].pe = 4
    folded.validate()
    assert folded.digest() != base.digest()
    weights = np.ones((4, 6), int)
    weights[3, 5] = 0
    changed = _mlp()
    changed.layers[0].weights = weights
    changed.validate()
    assert changed.digest() != base.digest()


def test_save_makes_missing_folders(tmp_path):
    path = _mlp().save(tmp_path / "a" / "b" / "g")
    assert path == tmp_path / "a" / "b" / "g.json"
    assert (tmp_path / "a" / "b" / "g.npz").exists()
    assert hwgen.load_graph(path).to_json()[0] == _mlp().to_json()[0]


def test_the_file_has_one_key_a_line_and_short_lists_on_one(tmp_path):
    g = ir.Graph("t", ir.Tensor((2, 3), DType.parse("uint2")), [ops.ArgMax("top")])
    text = g.save(tmp_path / "t").read_text()
    assert text == (
        '{\n'
        ' "format": "hwgen-graph/1",\n'
        ' "name": "t",\n'
        ' "input": {\n'
        '  "shape": [2, 3],\n'
        '  "dtype": "uint2"\n'
        ' },\n'
        ' "layers": [\n'
        '  {\n'
        '   "name": "top",\n'
        '   "op": "argmax"\n'
        '  }\n'
        ' ]\n'
        '}\n')
    assert json.loads(text) == g.to_json()[0]


def test_graph_paths_keep_a_dot_inside_the_name(tmp_path):
    # "lenet-0.5" and "lenet-0.25" are two graphs; both used to be written as lenet-0.json
    for given in ("lenet-0.5", "lenet-0.5.json", "lenet-0.5.npz"):
        assert graph_paths(tmp_path / given) == (tmp_path / "lenet-0.5.json",
                                                    tmp_path / "lenet-0.5.npz")
    assert graph_paths("g") == (Path("g.json"), Path("g.npz"))
    assert _mlp().save(tmp_path / "lenet-0.5") == tmp_path / "lenet-0.5.json"
    _chain(2).save(tmp_path / "lenet-0.25.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "lenet-0.25.json", "lenet-0.25.npz", "lenet-0.5.json", "lenet-0.5.npz"]
    assert hwgen.load_graph(tmp_path / "lenet-0.5.json").name == "g"
    assert hwgen.load_graph(tmp_path / "lenet-0.25").name == "c"


@pytest.mark.parametrize("inputs", ["mp", [1]])
def test_inputs_that_are_not_a_list_of_names_are_refused(inputs):
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("j", ir.Tensor((1, 1, 2), DType.parse("uint2")), [
            ops.MaxPool2d("mp", kernel=1), ops.Add("a", inputs=inputs)])
    assert str(err.value) == (f"layer 'a' (add): inputs must be a list of layer names, got "
                              f"{inputs!r}")


def _graph(name="g", shape=(2,), dtype="uint2", layers=None):
    return ir.Graph(name, ir.Tensor(shape, dtype),
                    [ops.ArgMax("top")] if layers is None else layers)


@pytest.mark.parametrize("kw, message", [
    (dict(shape=()), "input: shape must be a non-empty list of positive sizes, got []"),
    (dict(shape=(2, 0)), "input: shape must be a non-empty list of positive sizes, got [2, 0]"),
    (dict(dtype="int33"), "input: unknown dtype 'int33'; intN needs N = 2..32"),
    (dict(name=5), "graph: name must be a string of at most 128 characters"),
    (dict(name="n" * 129), "graph: name must be a string of at most 128 characters"),
    (dict(layers=[]), "graph: needs at least one layer"),
])
def test_graph_refusals_are_the_whole_line(kw, message):
    with pytest.raises(hwgen.GraphError) as err:
        _graph(**kw)
    assert str(err.value) == message


def test_graph_limits_are_exact(monkeypatch):
    assert _graph(name="n" * 128).name == "n" * 128
    monkeypatch.setattr("hwgen.ir.graph.MAX_LAYERS", 2)
    assert len(_chain(2).layers) == 2
    with pytest.raises(hwgen.GraphError) as err:
        _chain(3)
    assert str(err.value) == "graph: 3 layers, more than the limit of 2"


@pytest.mark.parametrize("name, shown", [("", "'...'"), ("n" * 129, repr("n" * 40 + "...")),
                                         (5, "5")])
def test_a_bad_layer_name_is_shown_cut_short(name, shown):
    with pytest.raises(hwgen.GraphError) as err:
        _graph(layers=[ops.ArgMax(name)])
    assert str(err.value) == (f"layer {shown}: name must be a non-empty string of at most 128 "
                              "characters")


def test_repeated_layer_names_are_listed():
    with pytest.raises(hwgen.GraphError) as err:
        _chain(1).__class__("c", ir.Tensor((1, 1, 1), DType.parse("int4")), [
            ops.MaxPool2d("b", kernel=1), ops.MaxPool2d("a", kernel=1),
            ops.MaxPool2d("b", kernel=1), ops.MaxPool2d("a", kernel=1)])
    assert str(err.value) == "graph: layer names must be unique; repeated: ['a', 'b']"


def test_summary_lists_every_input_of_a_join():
    g = ir.Graph("j", ir.Tensor((1, 1, 2), DType.parse("uint2")), [
        ops.MaxPool2d("mp", kernel=1), ops.Add("a", inputs=["input", "mp"])])
    # columns 5, 9, 9, 15, 9 and 7 wide; uint2 + uint2 is 0..6, int4
    assert g.summary().splitlines()[-1] == (
        "  a      add        input, mp  [1, 1, 2] int4   1          -")


def test_a_layer_output_past_the_frame_limit_is_named(monkeypatch):
    monkeypatch.setattr("hwgen.ir.layer.MAX_TENSOR_ELEMENTS", 8)
    with pytest.raises(hwgen.GraphError) as err:
        _graph(shape=(4,), layers=[ops.Dense("fc", weight_dtype="bin",
                                             weights=np.ones((9, 4), int))])
    assert str(err.value) == ("layer 'fc' (dense): a frame of [9] has 9 elements, more than "
                              "the limit of 8")


def test_an_unread_output_before_the_last_layer_is_named():
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", ir.Tensor((1, 1, 2), DType.parse("uint2")), [
            ops.MaxPool2d("mp1", kernel=1), ops.MaxPool2d("mp2", kernel=1, inputs=["input"]),
            ops.Add("a", inputs=["mp1", "mp1"])])
    assert str(err.value) == ("graph: the output of 'mp2' is never read; every tensor but the "
                              "last layer's must feed a layer")
