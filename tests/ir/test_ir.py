"""Graph files and validation: every malformed graph is a one-line error naming the place."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.hw import silenced
from hwgen.hw.blocks.swg import SlidingWindow

rng = np.random.default_rng(0)


def issue_example(tmp_path):
    """The graph of the core issue, hand-written as JSON + npz."""
    doc = {"format": "hwgen-graph/1", "name": "mlp",
           "input": {"shape": [64], "dtype": "uint4"},
           "layers": [
               {"name": "fc1", "op": "dense", "units": 64, "weight_dtype": "bin",
                "weights": "fc1.w", "pe": 8, "simd": 16,
                "activation": {"op": "threshold", "dtype": "bin", "thresholds": "fc1.t"}},
               {"name": "fc2", "op": "dense", "units": 10, "weight_dtype": "bin",
                "weights": "fc2.w", "bias": "fc2.b", "pe": 2, "simd": 16},
               {"name": "top", "op": "argmax"}]}
    arrays = {"fc1.w": rng.choice([-1, 1], (64, 64)),
              "fc1.t": np.sort(rng.integers(-100, 100, (64, 1)), axis=1),
              "fc2.w": rng.choice([-1, 1], (10, 64)), "fc2.b": rng.integers(-5, 5, 10)}
    (tmp_path / "mlp.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "mlp.npz", **arrays)
    return doc, arrays


def test_issue_example_loads_and_infers(tmp_path):
    issue_example(tmp_path)
    g = hwgen.load_graph(tmp_path / "mlp.json")
    assert [t.shape for t in g.tensors.values()] == [(64,), (64,), (10,), (1,)]
    # fc2: 64 binary products (|dot| <= 64) plus a bias in -5..4 -> -69..68 -> int8
    assert [t.dtype.name for t in g.tensors.values()] == ["uint4", "bin", "int8", "uint4"]


def test_save_load_roundtrip(tmp_path):
    issue_example(tmp_path)
    g = hwgen.load_graph(tmp_path / "mlp.json")
    g.save(tmp_path / "copy")
    g2 = hwgen.load_graph(tmp_path / "copy.json")
    x = rng.integers(0, 16, (7, 64))
    assert np.array_equal(hwgen.reference.run(g, x), hwgen.reference.run(g2, x))
    assert g2.to_json()[0] == g.to_json()[0]


def test_room_for_conv_pool(tmp_path):
    g = ir.Graph("cnn", ir.Tensor((8, 8, 3), DType.parse("int4")), [
        ops.Conv2d("c1", weight_dtype="tern", weights=rng.integers(-1, 2, (4, 3, 3, 3)),
                  padding=1, pad_value=-1, pe=2, simd=3),
        ops.MaxPool2d("p1", kernel=2),
        ops.Conv2d("dw", weight_dtype="bin", weights=rng.choice([-1, 1], (4, 3, 3, 1)),
                  groups=4, stride=2),
        ops.GlobalSumPool("gp"),
        ops.Dense("fc", weight_dtype="int2", weights=rng.integers(-2, 2, (3, 4))),
        ops.ArgMax("top")])
    assert [t.shape for t in g.tensors.values()] == [
        (8, 8, 3), (8, 8, 4), (4, 4, 4), (1, 1, 4), (4,), (3,), (1,)]
    g.save(tmp_path / "cnn")
    assert hwgen.load_graph(tmp_path / "cnn.json").to_json()[0] == g.to_json()[0]


def _doc_with(mutate, tmp_path):
    doc, arrays = issue_example(tmp_path)
    mutate(doc, arrays)
    (tmp_path / "bad.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "bad.npz", **arrays)
    return tmp_path / "bad.json"


def _set(path, value):
    def mutate(doc, arrays):
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return mutate


def _array(key, value):
    def mutate(doc, arrays):
        arrays[key] = value
    return mutate


BAD = {
    "format": (_set(["format"], "onnx"), "format must be 'hwgen-graph/1'"),
    "unknown op": (_set(["layers", 1, "op"], "lstm"), "layer 'fc2' (lstm): unknown op 'lstm'"),
    "unknown dtype": (_set(["input", "dtype"], "float16"), "input: unknown dtype 'float16'"),
    "weight dtype": (_set(["layers", 0, "weight_dtype"], "int1"), "layer 'fc1' (dense): unknown"),
    "pe": (_set(["layers", 0, "pe"], 5), "layer 'fc1' (dense): pe=5 must divide the 64 output"),
    "simd": (_set(["layers", 1, "simd"], 3), "layer 'fc2' (dense): simd=3 must divide the 64 in"),
    "pe zero": (_set(["layers", 0, "pe"], 0), "pe must be a positive integer"),
    "weights out of range": (_array("fc1.w", np.full((64, 64), 2)),
                             "weights has values outside bin"),
    "float weights": (_array("fc2.w", np.ones((10, 64))), "weights must be an integer array"),
    "weight shape": (_array("fc2.w", np.ones((10, 63), int)), "weights must have shape [10, 64]"),
    "units": (_set(["layers", 1, "units"], 11), "units=11 but weights have 10 rows"),
    "threshold count": (_array("fc1.t", np.zeros((64, 3), int)),
                        "thresholds must have shape [64, 1]"),
    "missing array": (_set(["layers", 0, "weights"], "nope"), "refers to array 'nope'"),
    "extra field": (_set(["layers", 0, "colour"], "red"), "unknown field(s) colour"),
    "activation dtype": (_set(["layers", 0, "activation", "dtype"], "uint9"),
                         "layer 'fc1' (dense): threshold output uint9 has too many levels"),
    "activation op": (_set(["layers", 0, "activation", "op"], "relu"), "unknown activation op"),
    "input shape": (_set(["input", "shape"], [63]), "weights must have shape [64, 63]"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_validation_errors(tmp_path, case):
    mutate, message = BAD[case]
    path = _doc_with(mutate, tmp_path)
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(path)
    assert message in str(err.value)
    assert "\n" not in str(err.value)


def test_unsorted_thresholds():
    with pytest.raises(hwgen.GraphError, match=r"sorted ascending per channel \(channel 1"):
        ir.Graph("g", ir.Tensor((4,), DType.parse("bin")), [
            ops.Dense("fc", weight_dtype="bin", weights=np.ones((2, 4), int),
                     activation=ir.Threshold("uint2", np.array([[0, 1, 2], [2, 1, 3]])))])


def test_requant_errors():
    w = np.ones((2, 4), int)
    with pytest.raises(hwgen.GraphError, match="requant output must be intN or uintN"):
        ir.Graph("g", ir.Tensor((4,), DType.parse("bin")), [
            ops.Dense("fc", weight_dtype="bin", weights=w,
                     activation=ir.Requant("bin", np.ones(2, int), np.ones(2, int)))])
    with pytest.raises(hwgen.GraphError, match=r"requant s must be in 0\.\.62"):
        ir.Graph("g", ir.Tensor((4,), DType.parse("bin")), [
            ops.Dense("fc", weight_dtype="bin", weights=w,
                     activation=ir.Requant("int8", np.ones(2, int), np.array([1, -1])))])


def test_conv_errors():
    x = ir.Tensor((5, 5, 4), DType.parse("uint2"))
    conv = ops.Conv2d("c", weight_dtype="bin", weights=np.ones((4, 3, 3, 2), int), groups=2)
    with pytest.raises(hwgen.GraphError, match="groups=2 not supported"):
        conv.infer([x])
    conv = ops.Conv2d("c", weight_dtype="bin", weights=np.ones((4, 3, 3, 4), int), pad_value=-1,
                     padding=1)
    with pytest.raises(hwgen.GraphError, match="pad_value -1 is not a value of the input dtype"):
        conv.infer([x])
    # without padding too: a value outside the dtype is a mistake, 0 (the default) means none
    with pytest.raises(hwgen.GraphError, match="pad_value -1 is not a value of the input dtype"):
        ops.Conv2d("c", weight_dtype="bin", weights=np.ones((4, 3, 3, 4), int),
                  pad_value=-1).infer([x])
    ops.Conv2d("c", weight_dtype="bin", weights=np.ones((4, 3, 3, 4), int)).infer(
        [ir.Tensor((5, 5, 4), DType.parse("bin"))])
    conv = ops.Conv2d("c", weight_dtype="bin", weights=np.ones((4, 7, 7, 4), int))
    with pytest.raises(hwgen.GraphError, match="does not fit"):
        conv.infer([x])


def test_wide_raw_output_needs_activation():
    # 64 * (-2**15) * (-2**23) = 2**44 needs 46 signed bits
    with pytest.raises(hwgen.GraphError, match="raw accumulator output needs 46 bits"):
        ir.Graph("g", ir.Tensor((64,), DType.parse("int16")), [
            ops.Dense("fc", weight_dtype="int24", weights=np.full((2, 64), -(2**23)))])


def test_malformed_files(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(hwgen.GraphError, match="not valid JSON"):
        hwgen.load_graph(tmp_path / "a.json")
    with pytest.raises(hwgen.GraphError, match="no such graph file"):
        hwgen.load_graph(tmp_path / "missing.json")
    issue_example(tmp_path)
    (tmp_path / "mlp.npz").write_bytes(b"garbage")
    with pytest.raises(hwgen.GraphError, match="not a readable npz"):
        hwgen.load_graph(tmp_path / "mlp.json")


def test_pickled_arrays_are_refused(tmp_path):
    _, arrays = issue_example(tmp_path)
    arrays["fc1.w"] = np.array([object()] * 4, dtype=object)
    np.savez(tmp_path / "mlp.npz", **arrays)
    with pytest.raises(hwgen.GraphError, match=r"unreadable \(Object arrays cannot be loaded"):
        hwgen.load_graph(tmp_path / "mlp.json")


def _branchy(**overrides):
    """input -> c1 -> add(c1, input) -> cat(add, c1) -> gsp, as layer specs."""
    rng2 = np.random.default_rng(5)
    layers = {
        "c1": ops.Conv2d("c1", weight_dtype="bin", weights=rng2.choice([-1, 1], (2, 3, 3, 2)),
                        padding=1, pad_value=1, pe=2, simd=2,
                        activation=ir.Threshold("uint2", np.sort(
                            rng2.integers(-9, 9, (2, 3)), axis=1))),
        "add": ops.Add("add", inputs=["c1", "input"], pe=2),
        "cat": ops.Concat("cat", inputs=["add", "c1"], pe=2),
        "gsp": ops.GlobalSumPool("gsp"),
    }
    layers.update(overrides)
    return ir.Graph("branchy", ir.Tensor((4, 4, 2), DType.parse("uint2")),
                    [v for v in layers.values() if v is not None])


def test_avgpool2d_round_trips_and_refuses_a_kernel_larger_than_its_input(tmp_path):
    x = ir.Tensor((4, 5, 2), DType.parse("uint2"))
    act = ir.Threshold("bin", np.zeros((2, 1), int))
    g = ir.Graph("a", x, [ops.AvgPool2d("avg", kernel=(2, 3), stride=(2, 1), activation=act)])
    assert g.output.shape == (2, 3, 2) and g.layers[0].acc_range == (0, 18)
    g.save(tmp_path / "a")
    back = hwgen.load_graph(tmp_path / "a.json")
    assert (back.layers[0].kernel, back.layers[0].stride) == ((2, 3), (2, 1))
    assert back.layers[0].activation.dtype.name == "bin"
    with pytest.raises(ir.GraphError, match=r"layer 'avg' \(avgpool2d\): kernel \(5, 1\) "
                                            "larger than the 4x5 input"):
        ir.Graph("a", x, [ops.AvgPool2d("avg", kernel=(5, 1))])


def test_dag_inputs_shapes_and_roundtrip(tmp_path):
    g = _branchy()
    assert g.sources == {"c1": ["input"], "add": ["c1", "input"], "cat": ["add", "c1"],
                         "gsp": ["cat"]}
    assert g.tensors["add"].dtype.name == "int4"  # 0..3 + 0..3 = 0..6
    assert g.tensors["cat"].shape == (4, 4, 4) and g.tensors["cat"].dtype.name == "int4"
    assert g.consumers("c1") == [("add", 0), ("cat", 1)]
    g.save(tmp_path / "b")
    doc = json.loads((tmp_path / "b.json").read_text())
    assert [layer.get("inputs") for layer in doc["layers"]] == [
        None, ["c1", "input"], ["add", "c1"], None]
    g2 = hwgen.load_graph(tmp_path / "b.json")
    x = rng.integers(0, 4, (5, 4, 4, 2))
    assert np.array_equal(hwgen.reference.run(g, x), hwgen.reference.run(g2, x))


@pytest.mark.parametrize("overrides,message", [
    ({"add": ops.Add("add", inputs=["c1"], pe=2)}, "takes 2 input(s), got 1"),
    ({"add": ops.Add("add", pe=2)}, 'takes 2 inputs; name them in "inputs"'),
    ({"add": ops.Add("add", inputs=["c1", "cat"], pe=2)}, "input 'cat' is not the graph input "
                                                         "or an earlier layer"),
    ({"add": ops.Add("add", inputs=["c1", "c1"], pe=3)}, "pe=3 must divide the 2 channels"),
    ({"add": ops.Add("add", inputs=["input", "input"], pe=2), "cat": None},
     "the output of 'c1' is never read"),
    ({"cat": ops.Concat("cat", inputs=["add", "gsp"], pe=1), "gsp": None},
     "not the graph input or an earlier layer"),
    ({"c1": ops.Conv2d("input", weight_dtype="bin", weights=np.ones((2, 1, 1, 2), int))},
     "'input' names the graph input"),
])
def test_dag_errors(overrides, message):
    with pytest.raises(hwgen.GraphError) as err:
        _branchy(**overrides)
    assert message in str(err.value)


def test_add_needs_equal_shapes_concat_equal_pixels():
    x = ir.Tensor((4, 4, 2), DType.parse("uint2"))
    pool = ops.MaxPool2d("p", kernel=2, inputs=["input"])
    with pytest.raises(hwgen.GraphError, match=r"inputs must have the same shape; got \[2, 2, 2\]"):
        ir.Graph("g", x, [pool, ops.Add("a", inputs=["p", "input"])])
    with pytest.raises(hwgen.GraphError, match="the same shape but for channels"):
        ir.Graph("g", x, [pool, ops.Concat("a", inputs=["p", "input"])])


def test_conv_simd_legality_is_checked_when_the_graph_loads():
    """simd dividing the input channels, or several whole pixels of the window (part of a
    kernel row, or whole rows); simd > 1 on a depthwise conv, and past the channels on a
    conv without a window, rejected at load, by the same rule the plan and the fold search
    use."""
    x = ir.Tensor((5, 5, 3), DType.parse("uint2"))

    def conv(simd, shape=(2, 3, 3, 3), **kw):
        return ir.Graph("g", x, [ops.Conv2d("c", weight_dtype="bin", weights=np.ones(shape, int),
                                            simd=simd, **kw)])

    for simd, message in [(2, r"simd=2 must divide the 3 input channels"),
                          (4, r"simd=4 takes 4 inputs a beat; allowed: a divisor of the 3 "),
                          (6, r"simd=6 takes 2 pixels of the window a beat: 2 kernel "
                              r"positions a beat must divide the kernel's width 3"),
                          (18, r"simd=18 takes 6 pixels .* \(a multiple of 3 dividing 9\)")]:
        with pytest.raises(hwgen.GraphError, match=message):
            conv(simd)
    for simd in (3, 9, 27):  # a pixel, a kernel row, the whole window
        conv(simd)
    with pytest.raises(hwgen.GraphError, match=r"simd=6 must divide the 3 input channels"):
        conv(6, (2, 1, 1, 3))  # no window: pixels stream whole
    with pytest.raises(hwgen.GraphError, match=r"simd=6 takes 2 pixels .* width 1 or"):
        conv(6, (2, 1, 1, 3), padding=1)  # a 1x1 window (padded) holds one pixel
    with pytest.raises(hwgen.GraphError, match="depthwise hardware takes one kernel position"):
        ir.Graph("g", x, [ops.Conv2d("c", weight_dtype="bin", weights=np.ones((3, 3, 3, 1), int),
                                    groups=3, simd=3)])
    layer = ops.Conv2d("c", weight_dtype="bin", weights=np.ones((2, 3, 3, 3), int))
    g = ir.Graph("g", x, [layer])
    legal = {(pe, simd) for _, pe, simd in layer.foldings([x], g.output)}
    assert legal == {(pe, simd) for pe in (1, 2) for simd in (1, 3, 9, 27)}


@pytest.mark.parametrize("book,weights,message", [
    ([3, 1], [[1, 3]], "codebook values must be distinct and ascending"),
    ([1, 1, 3], [[1, 3]], "codebook values must be distinct and ascending"),
    ([5], [[5, 5]], "codebook must be a list of 2..256 values"),
    ([[1, 3]], [[1, 3]], "codebook must be a list of 2..256 values"),
    ([-9, 1], [[1, 1]], r"codebook has values outside int4 \(allowed -8..7"),
    ([-2, 1], [[1, 2]], r"weight 2 is not in the codebook \(-2, 1\)"),
    ([0.5, 1.0], [[1, 1]], "codebook must be an integer array"),
])
def test_codebook_errors(book, weights, message):
    x = ir.Tensor((2,), DType.parse("uint4"))
    layer = ops.Dense("fc", weight_dtype="int4", weights=np.array(weights), codebook=book)
    with pytest.raises(hwgen.GraphError, match=f"layer 'fc' \\(dense\\): {message}"):
        layer.infer([x])


def test_codebook_roundtrip_and_storage(tmp_path):
    """A codebook survives save/load; a layer stores index bits, so the same weights that
    go to block RAM as int8 stay in logic as 2-bit indices (AUTO_BRAM_BITS)."""
    book = np.array([-90, -3, 4, 101])
    w = rng.choice(book, (64, 64))
    x = ir.Tensor((64,), DType.parse("uint4"))
    plain = ops.Dense("fc", weight_dtype="int8", weights=w)
    shared = ops.Dense("fc", weight_dtype="int8", weights=w, codebook=book)
    g = ir.Graph("cb", x, [shared])
    g.save(tmp_path / "cb")
    loaded = hwgen.load_graph(tmp_path / "cb.json").layers[0]
    assert np.array_equal(loaded.codebook, book) and loaded.index_bits == 2
    plain.infer([x])
    assert (plain.storage, shared.storage) == ("bram", "logic")
    conv = ops.Conv2d("dw", weight_dtype="int8", weights=rng.choice(book, (4, 3, 3, 1)),
                     groups=4, codebook=book)
    with pytest.raises(hwgen.GraphError) as err:
        conv.infer([ir.Tensor((5, 5, 4), DType.parse("uint4"))])
    assert str(err.value) == ("layer 'dw' (conv2d): a depthwise conv takes no codebook (its "
                              "weights are constants in logic); allowed on dense and groups=1 "
                              "conv")


def test_reprs_are_short_and_summary_lists_the_layers(tmp_path):
    """print(graph) and a build result's repr name things; they do not dump weights."""
    from hwgen.flows.build import build

    rng = np.random.default_rng(0)
    g = ir.Graph("mlp", ir.Tensor((64,), DType.parse("uint4")), [
        ops.Dense("fc1", weight_dtype="int4", weights=rng.integers(-8, 8, (64, 64)), pe=8,
                  simd=16, bias=rng.integers(-9, 9, 64),
                  activation=ir.Threshold("uint2", np.sort(rng.integers(-99, 99, (64, 3)), 1))),
        ops.ArgMax("label")])
    assert repr(g) == "<Graph 'mlp': [64] uint4 -> [1] uint6; layers fc1, label>"
    assert len(repr(g.layers[0])) < 250 and "array" not in repr(g.layers[0])
    lines = g.summary().splitlines()
    assert lines[0] == "mlp: input [64] uint4" and len(lines) == 4
    assert lines[2].split() == ["fc1", "dense", "input", "[64]", "uint2", "8x16", "[64,", "64]",
                                "int4"]
    result = build(g, tmp_path / "b")
    assert len(repr(result)) < 300 and "array" not in repr(result)
    # an estimate and a fold result: what they found in a line, not every layer and board
    est = hwgen.estimate(g, "icebreaker")
    assert repr(est) == (f"<Estimate 'mlp' on icebreaker: 32 cycles/frame, 375,000 frames/s; "
                         f"{est.fit_summary()}>")
    folded = hwgen.fold(g, "icebreaker", target_fps=1000)
    assert repr(folded) == (f"<FoldResult 'mlp': {len(folded.explored)} foldings explored, "
                            f"chosen {folded.estimate!r}>")
    assert result.summary() == f"mlp -> {tmp_path / 'b'}: mlp.v, 32 cycles/frame (bottleneck fc1)"


def _conv(**kw):
    spec = dict(weight_dtype="bin", weights=np.ones((2, 3, 3, 2), int))
    spec.update(kw)
    return ops.Conv2d("c", **spec)


@pytest.mark.parametrize("shape, layer, message", [
    ((6, 6, 4), _conv(weights=np.ones((3, 3, 3, 2), int), groups=2),
     "layer 'c' (conv2d): groups=2 must divide in channels 4 and out channels 3"),
    ((6, 2, 2), _conv(), "layer 'c' (conv2d): kernel 3x3 does not fit the padded 6x2 input"),
    ((2, 6, 2), _conv(), "layer 'c' (conv2d): kernel 3x3 does not fit the padded 2x6 input"),
    ((6, 6, 2), _conv(pad_value=True), "layer 'c' (conv2d): pad_value must be an integer, got "
                                       "True"),
    ((6, 6, 2), _conv(weights=np.ones((2, 3, 3, 1), int), groups=2, weight_storage="bram"),
     "layer 'c' (conv2d): depthwise weights live in logic; weight_storage must be logic or "
     "auto"),
    ((6, 6), _conv(), "layer 'c' (conv2d): input must be (H, W, C), got [6, 6]"),
    ((6, 6, 2), _conv(stride=0), "layer 'c' (conv2d): stride must be an integer >= 1 or a "
                                 "pair of them, got 0"),
    ((6, 6, 2), _conv(padding=-1), "layer 'c' (conv2d): padding must be an integer >= 0 or a "
                                   "pair of them, got -1"),
    ((6, 6, 2), _conv(groups=0), "layer 'c' (conv2d): groups must be a positive integer, got "
                                 "0"),
])
def test_conv_refusals_say_exactly_what(shape, layer, message):
    with pytest.raises(ir.GraphError) as err:
        ir.Graph("g", ir.Tensor(shape, DType.parse("bin")), [layer])
    assert str(err.value).startswith(message), str(err.value)


def test_add_needs_the_same_channels_and_concat_the_same_pixels():
    x = ir.Tensor((4, 4, 2), DType.parse("uint2"))
    with pytest.raises(ir.GraphError, match=r"layer 'a' \(add\): inputs must have the same "
                                            r"shape; got \[4, 4, 2\] and \[4, 4, 4\]"):
        ir.Graph("g", x, [ops.Concat("cat", inputs=["input", "input"], pe=1),
                          ops.Add("a", inputs=["input", "cat"], pe=1)])
    with pytest.raises(ir.GraphError, match=r"layer 'c' \(concat\): inputs must have the same "
                                            r"shape but for channels; got \[4, 4, 2\] and "
                                            r"\[2, 2, 2\]"):
        ir.Graph("g", x, [ops.MaxPool2d("p", kernel=2, inputs=["input"]),
                          ops.Concat("c", inputs=["input", "p"], pe=1)])
    add = ops.Add("a", pe=1)
    assert add.fold_error([x, x], 1, 2) == "has no simd; fold it with pe"
    assert add.fold_error([x, x], 2, 1) is None


def test_activations_round_trip_through_the_file(tmp_path):
    """requant and threshold activations (with the threshold dtype left out: bin) are saved
    and read back with every field."""
    rng = np.random.default_rng(4)
    g = ir.Graph("acts", ir.Tensor((4,), DType.parse("int4")), [
        ops.Dense("rq", weight_dtype="int2", weights=rng.integers(-2, 2, (3, 4)), pe=1, simd=4,
                  activation=ir.Requant("int4", np.array([1, 2, 3]), np.array([0, 1, 2]))),
        ops.Dense("th", weight_dtype="bin", weights=rng.choice([-1, 1], (2, 3)), pe=2, simd=3,
                  activation=ir.Threshold("bin", np.array([[0], [1]])))])
    path = g.save(tmp_path / "acts")
    doc = json.loads(path.read_text())
    assert doc["layers"][0]["activation"] == {"op": "requant", "dtype": "int4", "m": "rq.m",
                                              "s": "rq.s"}
    assert doc["layers"][1]["activation"] == {"op": "threshold", "dtype": "bin",
                                              "thresholds": "th.t"}
    del doc["layers"][1]["activation"]["dtype"]  # bin is the default
    path.write_text(json.dumps(doc))
    back = ir.load_graph(path)
    rq, th = back.layers[0].activation, back.layers[1].activation
    assert (rq.dtype.name, rq.m.tolist(), rq.s.tolist()) == ("int4", [1, 2, 3], [0, 1, 2])
    assert (th.dtype.name, th.thresholds.tolist()) == ("bin", [[0], [1]])
    x = rng.integers(-8, 8, (5, 4))
    assert np.array_equal(reference.run(back, x), reference.run(g, x))
    doc["layers"][0]["activation"]["op"] = "relu"
    path.write_text(json.dumps(doc))
    with pytest.raises(ir.GraphError, match="layer 'rq' \\(dense\\): unknown activation op "
                                            "'relu'; allowed: threshold, requant"):
        ir.load_graph(path)


# (shape, kernel, stride, padding, out channels or "dw", pe, simd): cycles by hand below
CONV_CASES = [((5, 5, 2), (3, 3), (1, 1), (0, 0), 4, 2, 1),
              ((5, 5, 2), (3, 3), (1, 1), (1, 1), "dw", 2, 1),
              ((3, 4, 4), (1, 1), (1, 1), (0, 0), 2, 1, 4),
              ((6, 5, 2), (3, 3), (2, 2), (0, 0), 2, 2, 2),
              ((4, 4, 2), (2, 3), (1, 1), (1, 2), 2, 1, 2)]


@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_plan_and_blocks_by_hand(case):
    """Cycles per frame: the matrix unit's (out/PE)(k*k*C/SIMD) per output pixel (depthwise:
    C/PE * k*k), or the window generator's, whichever is larger: it writes every padded
    pixel and reads every window, C/elems beats each."""
    from hwgen.hw.blocks.mvu import MVU
    from hwgen.hw.blocks.vvu import VVU

    (h, w, c), (kh, kw), stride, pad, oc, pe, simd = case
    dw = oc == "dw"
    oc = c if dw else oc
    layer = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((oc, kh, kw, 1 if dw else c),
                                                                  int),
                       stride=stride, padding=pad, groups=c if dw else 1, pe=pe, simd=simd,
                       pad_value=1 if any(pad) else 0)
    p = plan(ir.Graph("g", ir.Tensor((h, w, c), DType.parse("int4")), [layer]))
    lp = p.layers[0]
    oh = (h + 2 * pad[0] - kh) // stride[0] + 1
    ow = (w + 2 * pad[1] - kw) // stride[1] + 1
    elems = pe if dw else simd
    unit = oh * ow * (c // pe * kh * kw if dw else oc // pe * (kh * kw * c // simd))
    window = 0 if (kh, kw, stride, pad) == (1, 1, (1, 1), (0, 0)) else max(
        (h + 2 * pad[0]) * (w + 2 * pad[1]) * c // elems, oh * ow * kh * kw * c // elems)
    assert lp.cycles == max(unit, window)
    assert (lp.elems, lp.out_elems) == ((elems,), pe)
    blocks = layer.blocks(lp)
    kinds = [type(b) for b in blocks]
    assert kinds[:2] == ([SlidingWindow] if window else []) + [VVU if dw else MVU]
    if window:
        swg = blocks[0]
        assert (swg.kernel, swg.stride, swg.padding, swg.elems) == ((kh, kw), stride, pad,
                                                                    elems)
        assert swg.pad_code == (1 if any(pad) else 0)
    core = blocks[1 if window else 0]
    assert (core.elems if dw else core.pe) == pe  # a VVU is a channel reduction, PE lanes


def _dense_with(act, channels=3):
    return ops.Dense("fc", weight_dtype="int2", weights=np.ones((channels, 4), int), pe=1,
                     simd=4, activation=act)


@pytest.mark.parametrize("act, message", [
    (ir.Threshold("uint2", np.array([[1, 1, 2], [3, 2, 4], [0, 0, 0]])),
     "layer 'fc' (dense): thresholds must be sorted ascending per channel (channel 1 is not)"),
    (ir.Threshold("uint2", np.array([[0, 1, 2], [3, 3, 3], [5, 4, 6]])),
     "layer 'fc' (dense): thresholds must be sorted ascending per channel (channel 2 is not)"),
    (ir.Requant("int4", np.array([1, 2, 3, 4]), np.zeros(3, int)),
     "layer 'fc' (dense): requant m must have shape [3], got [4]"),
    (ir.Requant("int4", np.ones(3, int), np.zeros(2, int)),
     "layer 'fc' (dense): requant s must have shape [3], got [2]"),
    (ir.Requant("int33", np.ones(3, int), np.zeros(3, int)),
     "layer 'fc' (dense): unknown requant dtype 'int33'"),
    (ir.Requant(None, np.ones(3, int), np.zeros(3, int)),
     "layer 'fc' (dense): missing requant dtype"),
])
def test_activation_refusals_say_exactly_what(act, message):
    with pytest.raises(ir.GraphError) as err:
        ir.Graph("g", ir.Tensor((4,), DType.parse("int4")), [_dense_with(act)])
    assert str(err.value).startswith(message), str(err.value)


def _saved_with_activation(tmp_path, edit):
    g = ir.Graph("acts", ir.Tensor((4,), DType.parse("int4")), [
        _dense_with(ir.Threshold("bin", np.zeros((3, 1), int)))])
    path = g.save(tmp_path / "acts")
    doc = json.loads(path.read_text())
    edit(doc["layers"][0]["activation"])
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda a: a.pop("op"), "layer 'fc' (dense): unknown activation op None; allowed: "
                            "threshold, requant"),
    (lambda a: a.update(colour="red"), "layer 'fc' (dense) activation: unknown field(s) colour"),
    (lambda a: a.update(thresholds="nope"), "layer 'fc' (dense): thresholds refers to array "
                                            "'nope', which acts.npz does not hold"),
    (lambda a: a.update(op="requant", dtype="int4", m="fc.t", s="nope"),
     "layer 'fc' (dense): s refers to array 'nope', which acts.npz does not hold"),
    (lambda a: a.update(op="requant", m="nope", s="fc.t"),
     "layer 'fc' (dense): m refers to array 'nope', which acts.npz does not hold"),
    (lambda a: a.update(op="requant", dtype="int3", m="fc.t", s="fc.t") or a.pop("dtype"),
     "layer 'fc' (dense): missing requant dtype"),
    (lambda a: a.update(dtype="uint9"), "layer 'fc' (dense): threshold output uint9 has too "
                                        "many levels"),
    (lambda a: a.update(dtype="int1"), "layer 'fc' (dense): unknown threshold dtype 'int1'"),
])
def test_activation_file_refusals_say_exactly_what(tmp_path, edit, message):
    path = _saved_with_activation(tmp_path, edit)
    with pytest.raises(ir.GraphError) as err:
        ir.load_graph(path)
    assert str(err.value).startswith(message), str(err.value)


def test_conv_file_fields(tmp_path):
    """kernel, when given, must match the weights; pad_value is written only where it
    matters (padding, or a value other than 0)."""
    w = np.ones((2, 3, 3, 2), int)
    x = ir.Tensor((6, 6, 2), DType.parse("int4"))
    plain = ir.Graph("g", x, [ops.Conv2d("c", weight_dtype="bin", weights=w)])
    padded = ir.Graph("g", x, [ops.Conv2d("c", weight_dtype="bin", weights=w, padding=1)])
    assert "pad_value" not in plain.to_json()[0]["layers"][0]
    assert padded.to_json()[0]["layers"][0]["pad_value"] == 0
    path = plain.save(tmp_path / "g")
    doc = json.loads(path.read_text())
    doc["layers"][0]["kernel"] = [2, 2]
    path.write_text(json.dumps(doc))
    with pytest.raises(ir.GraphError, match=r"^layer 'c' \(conv2d\): kernel=\[2, 2\] but "
                                            r"weights have kernel \[3, 3\]$"):
        ir.load_graph(path)


def test_foldings_offer_every_legal_pe_and_simd():
    x = ir.Tensor((2, 2, 6), DType.parse("uint2"))
    add = ops.Add("a", inputs=["input", "input"], pe=1)
    g = ir.Graph("g", x, [add])
    assert sorted(pe for _, pe, _ in add.foldings(*g.layer_io()[0][1:])) == [1, 2, 3, 6]
    dw = ops.Conv2d("d", weight_dtype="bin", weights=np.ones((6, 3, 3, 1), int), groups=6,
                    padding=1, pad_value=1)
    g = ir.Graph("g", x, [dw])
    folds = dw.foldings(*g.layer_io()[0][1:])
    assert sorted({pe for _, pe, _ in folds}) == [1, 2, 3, 6] and {s for *_, s in folds} == {1}


def test_the_python_api_builds_estimates_folds_and_simulates(tmp_path):
    """The functions the command calls, from the package itself, boards by name."""
    rng = np.random.default_rng(2)
    g = hwgen.Graph("api", ir.Tensor((8,), hwgen.DType.parse("uint2")), [
        ops.Dense("fc", weight_dtype="bin", weights=rng.choice([-1, 1], (4, 8)), pe=1,
                  simd=1)])
    est = hwgen.estimate(g, "icebreaker")
    assert isinstance(est, hwgen.Estimate) and est.cycles == 32
    folded = hwgen.fold(g, "icebreaker")
    assert isinstance(folded, hwgen.FoldResult) and folded.estimate.cycles < 32
    built = hwgen.build(folded.graph, tmp_path / "b", "icebreaker")
    assert isinstance(built, hwgen.BuildResult) and built.report.estimate["fits"]
    result = hwgen.simulate(built.out_dir, frames=3)
    assert isinstance(result, hwgen.SimResult) and result.mismatches == 0
    with pytest.raises(hwgen.HwgenError, match="unknown board 'nope'"):
        hwgen.estimate(g, "nope")


def test_a_hand_written_conv_may_leave_out_its_kernel_and_scalar_weights_are_refused(tmp_path):
    g = ir.Graph("g", ir.Tensor((6, 6, 2), DType.parse("int4")), [
        ops.Conv2d("c", weight_dtype="bin", weights=np.ones((2, 3, 3, 2), int))])
    path = g.save(tmp_path / "g")
    doc = json.loads(path.read_text())
    del doc["layers"][0]["kernel"]  # the weights' shape says it
    path.write_text(json.dumps(doc))
    assert ir.load_graph(path).layers[0].kernel == (3, 3)
    with pytest.raises(ir.GraphError, match=r"^layer 'fc' \(dense\): weights must be \(units, "
                                            r"in_features\) with in_features=4, got shape \[\]"):
        ir.Graph("g", ir.Tensor((4,), DType.parse("int4")), [
            ops.Dense("fc", weight_dtype="int2", weights=np.int64(1))])


def test_conv_weights_for_other_input_channels_name_the_shape_expected():
    x = ir.Tensor((5, 5, 3), DType.parse("uint2"))
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", x, [ops.Conv2d("c", weight_dtype="bin", weights=np.ones((2, 3, 3, 2), int))])
    assert str(err.value) == ("layer 'c' (conv2d): weights must have shape [2, 3, 3, 3], got "
                              "[2, 3, 3, 2]")


def test_dense_weights_that_are_not_a_matrix_name_the_shape_they_have():
    x = ir.Tensor((6,), DType.parse("uint2"))
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", x, [ops.Dense("fc", weight_dtype="bin", weights=np.ones(6, int))])
    assert str(err.value) == ("layer 'fc' (dense): weights must be (units, in_features) with "
                              "in_features=6, got shape [6]")


@pytest.mark.parametrize("fields, positions", [
    ({"simd": 6}, 3), ({"simd": 18}, 9), ({"simd": 2}, 1), ({"simd": 1}, 1),
    ({"simd": 3, "sparsity": ops.Sparsity(1, 2)}, 3), ({"groups": 2}, 1)])
def test_a_conv_s_window_generator_reads_the_kernel_positions_its_simd_spans(fields,
                                                                           positions):
    """SIMD 6 on 2 channels: 3 pixels of the window a beat (a kernel row); 18 the whole
    window; 1:2 sparse, 3 slots read 6 inputs; a pixel or less, and a depthwise conv, one."""
    w = np.ones((2, 3, 3, 1 if "groups" in fields else 2), int)
    if "sparsity" in fields:
        w[..., 1] = 0  # one non-zero in each (kx, c) pair
    layer = ops.Conv2d("c", weight_dtype="tern", weights=w, padding=1, **fields)
    g = ir.Graph("g", ir.Tensor((4, 4, 2), DType.parse("uint2")), [layer])
    if "groups" not in fields:
        got = layer.window_positions(2, layer.simd)
        assert got == positions and type(got) is int
    lp = plan(g).layers[0]
    swg = next(b for b in silenced(layer.blocks(lp)) if isinstance(b, SlidingWindow))
    assert swg.positions == positions
