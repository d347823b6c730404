"""hwgen.ir.codec: every refusal of a malformed graph file is one whole line naming the place;
the defaults a hand-written file may rely on; the file-level limits at their boundary."""

import json

import numpy as np
import pytest

import hwgen
from hwgen.ir.codec import graph_from_json

# every op hwgen registers, written out by hand
KNOWN_OPS = ["add", "argmax", "avgpool2d", "concat", "conv2d", "dense", "global_sum_pool",
             "maxpool2d"]


def _doc(**changes):
    """A 2x2x2 uint2 input through a 1x1 max pool and an argmax."""
    doc = {"format": "hwgen-graph/1", "name": "g",
           "input": {"shape": [2, 2, 2], "dtype": "uint2"},
           "layers": [{"name": "mp", "op": "maxpool2d", "kernel": 1},
                      {"name": "top", "op": "argmax"}]}
    for key, value in changes.items():
        if value is None:
            del doc[key]
        else:
            doc[key] = value
    return doc


def _load(tmp_path, doc):
    (tmp_path / "g.json").write_text(json.dumps(doc))
    return hwgen.load_graph(tmp_path / "g.json")


def _refusal(tmp_path, doc):
    with pytest.raises(hwgen.GraphError) as err:
        _load(tmp_path, doc)
    return str(err.value)


def _layers(*specs):
    return [*specs, {"name": "top", "op": "argmax"}]


LONG_OP = "y" * 50
REFUSED = {
    "not an object": ([1, 2], "graph: the file must hold a JSON object"),
    "no format": (_doc(format=None), "graph: format must be 'hwgen-graph/1', got None"),
    "no input": (_doc(input=None), 'input: must be {"shape": [...], "dtype": "..."}'),
    "input without dtype": (_doc(input={"shape": [2]}),
                            'input: must be {"shape": [...], "dtype": "..."}'),
    "input a list": (_doc(input=["shape", "dtype"]),
                     'input: must be {"shape": [...], "dtype": "..."}'),
    "five axes": (_doc(input={"shape": [1, 1, 1, 1, 2], "dtype": "uint2"}),
                  "input: shape must be a list of 1 to 4 integers, got [1, 1, 1, 1, 2]"),
    "shape a number": (_doc(input={"shape": 4, "dtype": "uint2"}),
                       "input: shape must be a list of 1 to 4 integers, got 4"),
    "shape of strings": (_doc(input={"shape": ["2"], "dtype": "uint2"}),
                         "input: shape must be a list of 1 to 4 integers, got ['2']"),
    "shape of booleans": (_doc(input={"shape": [True], "dtype": "uint2"}),
                          "input: shape must be a list of 1 to 4 integers, got [True]"),
    "input extra": (_doc(input={"shape": [2], "dtype": "uint2", "colour": 1, "size": 2}),
                    "input: unknown field(s) colour, size"),
    "meta a list": (_doc(meta=[1]), "graph: 'meta' must be an object"),
    "no layers": (_doc(layers=None), "graph: 'layers' must be a list"),
    "graph extra": (_doc(colour="red"), "graph: unknown field(s) colour"),
    "layer a number": (_doc(layers=[{"name": "a", "op": "argmax"}, 5]),
                       "layer #1: must be an object, got int"),
    "empty name": (_doc(layers=_layers({"name": "", "op": "maxpool2d"})),
                   "layer #0: name must be a non-empty string of at most 128 characters"),
    "name a number": (_doc(layers=_layers({"name": 5, "op": "maxpool2d"})),
                      "layer #0: name must be a non-empty string of at most 128 characters"),
    "name too long": (_doc(layers=_layers({"name": "n" * 129, "op": "maxpool2d"})),
                      "layer #0: name must be a non-empty string of at most 128 characters"),
    "layer extra": (_doc(layers=_layers({"name": "mp", "op": "maxpool2d", "b": 1, "a": 2})),
                    "layer 'mp' (maxpool2d): unknown field(s) a, b"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refusals_are_the_whole_line(tmp_path, case):
    doc, message = REFUSED[case]
    assert _refusal(tmp_path, doc) == message


@pytest.mark.parametrize("op, shown", [(None, "None"), (["dense"], "['dense']"),
                                       (LONG_OP, "y" * 40)])
def test_an_unknown_op_is_named_with_the_allowed_ones(tmp_path, op, shown):
    spec = {"name": "mp"} if op is None else {"name": "mp", "op": op}
    message = _refusal(tmp_path, _doc(layers=_layers(spec)))
    head, allowed = message.split("; allowed: ")
    assert head == f"layer 'mp' ({shown}): unknown op {op!r}"
    assert sorted(allowed.split(", ")) == KNOWN_OPS


def test_what_a_hand_written_file_may_leave_out(tmp_path):
    doc = _doc(name=None, layers=[{"op": "maxpool2d", "kernel": 1}, {"op": "argmax"}])
    g = _load(tmp_path, doc)
    assert g.name == "graph"
    assert [layer.name for layer in g.layers] == ["layer0", "layer1"]
    assert g.sources == {"layer0": ["input"], "layer1": ["layer0"]}


def test_a_name_of_128_characters_and_four_axes_are_taken(tmp_path):
    doc = _doc(input={"shape": [1, 1, 1, 2], "dtype": "uint2"},
               layers=[{"name": "n" * 128, "op": "argmax"}])
    g = _load(tmp_path, doc)
    assert g.layers[0].name == "n" * 128 and g.input.shape == (1, 1, 1, 2)


def test_meta_is_kept(tmp_path):
    assert _load(tmp_path, _doc(meta={"scale": [0.5, 2], "by": "hand"})).meta == {
        "scale": [0.5, 2], "by": "hand"}


def test_the_layer_limit_is_exact(tmp_path, monkeypatch):
    monkeypatch.setattr("hwgen.ir.codec.MAX_LAYERS", 3)
    monkeypatch.setattr("hwgen.ir.graph.MAX_LAYERS", 3)
    three = _layers({"name": "a", "op": "maxpool2d", "kernel": 1},
                    {"name": "b", "op": "maxpool2d", "kernel": 1})
    assert len(_load(tmp_path, _doc(layers=three)).layers) == 3
    four = [{"name": "z", "op": "maxpool2d", "kernel": 1}, *three]
    assert _refusal(tmp_path, _doc(layers=four)) == (
        "graph: 4 layers, more than the limit of 3")


def test_graph_from_json_names_its_array_source(tmp_path):
    doc = _doc(input={"shape": [4], "dtype": "uint2"},
               layers=_layers({"name": "fc", "op": "dense", "weight_dtype": "bin",
                               "weights": "w"}))
    with pytest.raises(hwgen.GraphError) as err:
        graph_from_json(doc, {})
    assert str(err.value) == ("layer 'fc' (dense): weights refers to array 'w', which npz does "
                              "not hold")
    # a file without its npz: the npz it looked for is named
    assert _refusal(tmp_path, doc) == ("layer 'fc' (dense): weights refers to array 'w', "
                                       "which g.npz does not hold")
    # a graph without arrays needs no npz
    assert _load(tmp_path, _doc()).output.shape == (1,)


def test_the_file_size_limit_is_exact(tmp_path, monkeypatch):
    path = tmp_path / "g.json"
    path.write_text(json.dumps(_doc()))
    size = path.stat().st_size
    monkeypatch.setattr("hwgen.ir.codec.MAX_JSON_BYTES", size)
    assert hwgen.load_graph(path).name == "g"
    monkeypatch.setattr("hwgen.ir.codec.MAX_JSON_BYTES", size - 1)
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(path)
    assert str(err.value) == f"{path}: larger than the limit of {size - 1:,} bytes"


def test_unreadable_files_say_why(tmp_path):
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(deep)
    assert str(err.value) == f"{deep}: nested too deeply to be a graph"
    folder = tmp_path / "dir.json"
    folder.mkdir()
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(folder)
    assert str(err.value) == f"{folder}: cannot read (Is a directory)"


def test_an_npy_file_in_place_of_the_npz_is_refused(tmp_path):
    (tmp_path / "g.json").write_text(json.dumps(_doc()))
    with open(tmp_path / "g.npz", "wb") as f:
        np.save(f, np.zeros(3))
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(tmp_path / "g.json")
    assert str(err.value) == f"{tmp_path / 'g.npz'}: an .npy array, not an npz archive"
