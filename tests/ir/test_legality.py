"""Folding legality, op by op: every illegal PE/SIMD (or a knob an op does not have, or a
folding whose ROM word or stream beat is wider than hardware allows) is refused as a
one-line GraphError naming the layer, in three places:

(a) constructing :class:`hwgen.ir.graph.Graph` in Python;
(b) loading a hand-written ``NAME.json`` + ``NAME.npz`` with :func:`hwgen.ir.codec.load_graph`
    (``Graph.save`` validates, so it could not write these files);
(c) the CLI: ``hwgen build``, ``estimate`` and ``fold`` print that one line on stderr, exit
    with status 2 and write nothing.

Next to every refused folding, a legal one of the same layer is accepted.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.cli import main
from hwgen.core.limits import MAX_WORD_BITS


def ones(*shape):
    return np.ones(shape, np.int64)


def zeros(*shape):
    return np.zeros(shape, np.int64)


@dataclass
class Case:
    """A graph whose layer ``layer`` gets the folding knobs ``bad`` (refused with a message
    holding ``message``) or ``good`` (accepted). ``python`` and ``doc`` build its layers
    for given knobs, as Python objects and as the JSON a user writes by hand."""

    input: tuple[list[int], str]
    layer: str
    op: str
    python: object  # knobs -> list of ir layers, or None: the Python class has no such knob
    doc: object  # knobs -> list of JSON layer objects
    arrays: dict
    bad: dict
    good: dict
    message: str
    json_message: str | None = None  # when the file says it otherwise (an unknown field)

    @property
    def where(self) -> str:
        return f"layer {self.layer!r} ({self.op})"


def with_knobs(layer, knobs):
    """``layer`` with folding knobs set as attributes (what a constructor argument does, and
    the only way to hand an op a knob its class has no field for)."""
    for key, value in knobs.items():
        setattr(layer, key, value)
    return layer


# -- the cases, per op -------------------------------------------------------------------------


def conv_case(bad, good, message, *, channels=4, in_ch=6):
    w = ones(channels, 1, 1, in_ch)
    return Case(
        ([3, 3, in_ch], "uint2"), "conv", "conv2d",
        lambda k: [ops.Conv2d("conv", weight_dtype="bin", weights=w, **k)],
        lambda k: [{"name": "conv", "op": "conv2d", "channels": channels, "kernel": [1, 1],
                    "weight_dtype": "bin", "weights": "conv.w", **k}],
        {"conv.w": w}, bad, good, message)


def depthwise_case(bad, good, message, channels=4):
    w = ones(channels, 3, 3, 1)
    return Case(
        ([5, 5, channels], "uint2"), "dw", "conv2d",
        lambda k: [ops.Conv2d("dw", weight_dtype="bin", weights=w, groups=channels, padding=1,
                             **k)],
        lambda k: [{"name": "dw", "op": "conv2d", "channels": channels, "kernel": [3, 3],
                    "padding": [1, 1], "groups": channels, "weight_dtype": "bin",
                    "weights": "dw.w", **k}],
        {"dw.w": w}, bad, good, message)


def dense_case(bad, good, message, units=4, features=6):
    w = ones(units, features)
    return Case(
        ([features], "uint2"), "fc", "dense",
        lambda k: [ops.Dense("fc", weight_dtype="bin", weights=w, **k)],
        lambda k: [{"name": "fc", "op": "dense", "units": units, "weight_dtype": "bin",
                    "weights": "fc.w", **k}],
        {"fc.w": w}, bad, good, message)


def join_case(op, bad, good, message, json_message=None, conv_channels=4):
    """A 1x1 conv of ``conv_channels`` channels and the graph input (4 channels) joined."""
    cls = {"add": ops.Add, "concat": ops.Concat}[op]
    w = ones(conv_channels, 1, 1, 4)
    return Case(
        ([2, 2, 4], "uint2"), "join", op,
        lambda k: [ops.Conv2d("conv", weight_dtype="bin", weights=w),
                   with_knobs(cls("join", inputs=["input", "conv"]), k)],
        lambda k: [{"name": "conv", "op": "conv2d", "channels": conv_channels,
                    "kernel": [1, 1], "weight_dtype": "bin", "weights": "conv.w"},
                   {"name": "join", "op": op, "inputs": ["input", "conv"], **k}],
        {"conv.w": w}, bad, good, message, json_message)


def knobless_case(op, knob):
    """An op with no folding knobs: the JSON field is unknown, the Python class has none."""
    if op == "argmax":
        shape, extra = [4], {}
    else:
        shape, extra = [4, 4, 2], ({"kernel": [2, 2]} if op in ("maxpool2d", "avgpool2d") else {})
    return Case((shape, "uint2"), "it", op, None,
                lambda k: [{"name": "it", "op": op, **extra, **k}], {}, {knob: 2}, {},
                f"unknown field(s) {knob}")


def word_case(op, bad, good, message, *, in_dtype, weight_dtype, units, features,
              depthwise=False):
    """A layer whose folding makes a word of more than ir.MAX_WORD_BITS bits; thresholds
    (to bin) keep a wide accumulator off the output."""
    if op == "dense":
        w, shape, count = ones(units, features), [features], {"units": units}
    elif depthwise:
        w, shape = ones(features, 1, 1, 1), [1, 1, features]
        count = {"channels": features, "kernel": [1, 1], "groups": features}
    else:
        w, shape = ones(units, 1, 1, features), [1, 1, features]
        count = {"channels": units, "kernel": [1, 1]}
    rows = w.shape[0]
    t = zeros(rows, 1)
    cls = ops.Dense if op == "dense" else ops.Conv2d
    extra = {"groups": features} if depthwise else {}
    return Case(
        (shape, in_dtype), "wide", op,
        lambda k: [cls("wide", weight_dtype=weight_dtype, weights=w,
                       activation=ir.Threshold("bin", t), **extra, **k)],
        lambda k: [{"name": "wide", "op": op, **count, "weight_dtype": weight_dtype,
                    "weights": "wide.w", "activation": {
                        "op": "threshold", "dtype": "bin", "thresholds": "wide.t"}, **k}],
        {"wide.w": w, "wide.t": t}, bad, good, message)


CASES = {
    # conv2d, standard
    "conv pe": conv_case({"pe": 3}, {"pe": 2}, "pe=3 must divide the 4 output channels"),
    "conv pe 8": conv_case({"pe": 8}, {"pe": 4}, "pe=8 must divide the 4 output channels"),
    "conv simd": conv_case({"simd": 4}, {"simd": 3}, "simd=4 must divide the 6 input channels"),
    "conv simd 12": conv_case({"simd": 12, "pe": 4}, {"simd": 6, "pe": 4},
                              "simd=12 must divide the 6 input channels"),
    "conv pe 0": conv_case({"pe": 0}, {"pe": 1}, "pe must be a positive integer, got 0"),
    "conv simd 0": conv_case({"simd": 0}, {"simd": 1}, "simd must be a positive integer"),
    # conv2d, depthwise
    "depthwise simd": depthwise_case({"simd": 2}, {"simd": 1, "pe": 2},
                                     "simd must be 1, got 2"),
    "depthwise simd 4": depthwise_case({"simd": 4, "pe": 4}, {"pe": 4},
                                       "simd must be 1, got 4"),
    "depthwise pe": depthwise_case({"pe": 3}, {"pe": 4}, "pe=3 must divide the 4 output "
                                                         "channels"),
    # dense
    "dense pe": dense_case({"pe": 3}, {"pe": 2}, "pe=3 must divide the 4 output channels"),
    "dense simd": dense_case({"simd": 4}, {"simd": 3}, "simd=4 must divide the 6 input "
                                                       "features"),
    "dense simd 12": dense_case({"simd": 12}, {"simd": 6},
                                "simd=12 must divide the 6 input features"),
    "dense pe true": dense_case({"pe": True}, {"pe": 1}, "pe must be a positive integer"),
    # add and concat: pe divides the channels of every input; no simd
    "add pe": join_case("add", {"pe": 3}, {"pe": 2},
                        "pe=3 must divide the 4 channels of every input"),
    "add pe 8": join_case("add", {"pe": 8}, {"pe": 4},
                          "pe=8 must divide the 4 channels of every input"),
    "add pe 0": join_case("add", {"pe": 0}, {"pe": 1}, "pe must be a positive integer"),
    "add simd": join_case("add", {"simd": 2}, {"pe": 4}, "has no simd; fold it with pe",
                          "unknown field(s) simd"),
    "concat pe first": join_case("concat", {"pe": 3}, {"pe": 2},
                                 "pe=3 must divide the 4 channels of every input",
                                 conv_channels=6),
    "concat pe second": join_case("concat", {"pe": 4}, {"pe": 2},
                                  "pe=4 must divide the 6 channels of every input",
                                  conv_channels=6),
    "concat simd": join_case("concat", {"simd": 2}, {"pe": 2}, "has no simd; fold it with pe",
                             "unknown field(s) simd", conv_channels=6),
    # no folding knobs at all
    "maxpool2d pe": knobless_case("maxpool2d", "pe"),
    "maxpool2d simd": knobless_case("maxpool2d", "simd"),
    "avgpool2d pe": knobless_case("avgpool2d", "pe"),
    "global_sum_pool pe": knobless_case("global_sum_pool", "pe"),
    "argmax pe": knobless_case("argmax", "pe"),
    # the word-width limit, 65,535 bits
    "dense weight word": word_case(
        "dense", {"simd": 2048}, {"simd": 1024},
        "pe=1, simd=2048 make a weight word of 65,536 bits; at most 65,535",
        in_dtype="uint1", weight_dtype="int32", units=2, features=2048),
    "dense weight word pe": word_case(
        "dense", {"pe": 2, "simd": 1024}, {"pe": 1, "simd": 1024},
        "pe=2, simd=1024 make a weight word of 65,536 bits",
        in_dtype="uint1", weight_dtype="int32", units=2, features=2048),
    "dense input beat": word_case(
        "dense", {"simd": 2048}, {"simd": 1024},
        "pe=1, simd=2048 make a input beat of 65,536 bits",
        in_dtype="int32", weight_dtype="bin", units=1, features=2048),
    "dense output beat": word_case(
        "dense", {"pe": 2048}, {"pe": 1024},
        "pe=2048, simd=1 make a output beat of 65,536 bits",  # 32-bit accumulators
        in_dtype="int32", weight_dtype="bin", units=2048, features=1),
    "conv weight word": word_case(
        "conv2d", {"simd": 2048}, {"simd": 1024},
        "pe=1, simd=2048 make a weight word of 65,536 bits",
        in_dtype="uint1", weight_dtype="int32", units=1, features=2048),
    "depthwise input beat": word_case(
        "conv2d", {"pe": 2048}, {"pe": 1024},
        "pe=2048, simd=1 make a input beat of 65,536 bits",
        in_dtype="int32", weight_dtype="bin", units=2048, features=2048, depthwise=True),
}
REFUSED_BY_PYTHON = [k for k, c in CASES.items() if c.python is not None]


def graph(case: Case, knobs: dict) -> ir.Graph:
    shape, dtype = case.input
    return ir.Graph("net", ir.Tensor(tuple(shape), dtype), case.python(knobs))


def write(case: Case, knobs: dict, folder: Path) -> Path:
    """NAME.json written by hand (not by Graph.save) and NAME.npz beside it."""
    shape, dtype = case.input
    doc = {"format": "hwgen-graph/1", "name": "net",
           "input": {"shape": shape, "dtype": dtype}, "layers": case.doc(knobs)}
    path = folder / "net.json"
    path.write_text(json.dumps(doc, indent=1))
    np.savez(folder / "net.npz", **case.arrays)
    return path


def one_line(err: Exception, case: Case, message: str) -> str:
    assert type(err) is ir.GraphError, repr(err)
    msg = str(err)
    assert "\n" not in msg, msg
    assert msg.startswith(f"{case.where}: "), msg
    assert message in msg, msg
    return msg


# -- (a) Python --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", REFUSED_BY_PYTHON)
def test_graph_refuses(name):
    case = CASES[name]
    with pytest.raises(ir.GraphError) as info:
        graph(case, case.bad)
    one_line(info.value, case, case.message)


@pytest.mark.parametrize("name", REFUSED_BY_PYTHON)
def test_graph_accepts_the_legal_neighbour(name):
    case = CASES[name]
    g = graph(case, case.good)
    layer = next(la for la in g.layers if la.name == case.layer)
    xs = [g.tensors[s] for s in g.sources[case.layer]]
    assert layer.fold_error(xs, case.good.get("pe", 1), case.good.get("simd", 1)) is None
    # the rule the plan and the fold search use refuses the illegal folding the same way
    pe, simd = case.bad.get("pe", 1), case.bad.get("simd", 1)
    if all(type(v) is int and v > 0 for v in (pe, simd)):
        assert case.message in layer.fold_error(xs, pe, simd)


@pytest.mark.parametrize("cls, knob", [(ops.MaxPool2d, "pe"), (ops.MaxPool2d, "simd"),
                                       (ops.GlobalSumPool, "pe"), (ops.ArgMax, "pe"),
                                       (ops.ArgMax, "simd")])
def test_ops_without_knobs_take_none_in_python(cls, knob):
    assert not cls.folds
    with pytest.raises(TypeError, match=knob):
        cls("it", **{knob: 2})


def test_word_width_limit_is_exact():
    """A weight word of exactly 65,535 bits (21,845 int3 weights) is legal, wider is not."""
    assert MAX_WORD_BITS == 65_535

    def fc(pe):
        return ir.Graph("net", ir.Tensor((21845,), "uint1"), [ops.Dense(
            "fc", weight_dtype="int3", weights=ones(2, 21845), pe=pe, simd=21845)])

    assert fc(1).layers[0].simd == 21845
    with pytest.raises(ir.GraphError, match=r"^layer 'fc' \(dense\): pe=2, simd=21845 make a "
                                            r"weight word of 131,070 bits; at most 65,535"):
        fc(2)


# -- (b) a hand-written file -------------------------------------------------------------------


@pytest.mark.parametrize("name", list(CASES))
def test_load_refuses(name, tmp_path):
    case = CASES[name]
    path = write(case, case.bad, tmp_path)
    with pytest.raises(ir.GraphError) as info:
        ir.load_graph(path)
    msg = one_line(info.value, case, case.json_message or case.message)
    if case.python is not None and case.json_message is None:  # the very same message
        with pytest.raises(ir.GraphError) as direct:
            graph(case, case.bad)
        assert str(direct.value) == msg


@pytest.mark.parametrize("name", list(CASES))
def test_load_accepts_the_legal_neighbour(name, tmp_path):
    case = CASES[name]
    g = ir.load_graph(write(case, case.good, tmp_path))
    layer = next(la for la in g.layers if la.name == case.layer)
    for knob in ("pe", "simd"):
        if knob in case.good:
            assert getattr(layer, knob) == case.good[knob]


# -- (c) the CLI -------------------------------------------------------------------------------


def run(args, capsys) -> tuple[int, str]:
    """``hwgen ARGS`` in-process: (exit status, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as err:  # argparse
        code = err.code
    return code, capsys.readouterr().err


def snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


@pytest.mark.parametrize("command", ["build", "estimate", "fold"])
@pytest.mark.parametrize("name", list(CASES))
def test_cli_refuses(name, command, tmp_path, capsys):
    case = CASES[name]
    path = write(case, case.bad, tmp_path)
    with pytest.raises(ir.GraphError) as info:
        ir.load_graph(path)
    out = tmp_path / "out"
    args = {"build": ["build", path, "--out", out],
            "estimate": ["estimate", path, "--report", out],
            "fold": ["fold", path, "--out", out / "folded.json", "--report", out / "report"],
            }[command]
    before = snapshot(tmp_path)
    code, err = run(args, capsys)
    assert code == 2, err
    assert err == f"hwgen: error: {info.value}\n", err  # one line: the loader's message
    one_line(info.value, case, case.json_message or case.message)
    assert not out.exists()
    assert snapshot(tmp_path) == before


def test_cli_refuses_a_saved_graph_edited_by_hand(tmp_path, capsys):
    """The same refusal whichever way the file came: save a legal graph, edit one knob."""
    case = CASES["dense simd"]
    path = graph(case, case.good).save(tmp_path / "net")
    doc = json.loads(path.read_text())
    doc["layers"][0]["simd"] = 4
    path.write_text(json.dumps(doc))
    code, err = run(["estimate", path], capsys)
    assert code == 2
    assert err == ("hwgen: error: layer 'fc' (dense): simd=4 must divide the 6 input "
                   "features\n")


def test_every_op_has_a_case():
    from hwgen.ops import REGISTRY

    assert {c.op for c in CASES.values()} == set(REGISTRY)
