"""Boundary values wherever hwgen checks a range: the largest and smallest value of every
dtype family is accepted, one past either end is refused (for ``bin`` also 0).

Why it matters: codes are cut to the dtype's width on their way into hardware, so a value
one past the end does not fail there, it wraps (a weight of 8 in int4 becomes -8 in the
ROM). Every refusal is a one-line :class:`hwgen.core.errors.GraphError` naming the layer (or the
graph ``input``) and the field; every accepted extreme gives a valid graph whose reference
output is checked against a hand computation.

The limits are written out here by hand, not read from the code under test.
"""

import json

import numpy as np
import pytest

from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType

# (min, max) of each family at its narrowest, one middle and its widest width
LIMITS = {
    "bin": (-1, 1), "tern": (-1, 1),
    "int2": (-2, 1), "int4": (-8, 7), "int8": (-128, 127), "int32": (-2**31, 2**31 - 1),
    "uint1": (0, 1), "uint4": (0, 15), "uint8": (0, 255), "uint32": (0, 2**32 - 1),
}
I64_MAX = 2**63 - 1
ACC_MAX = 2**61 - 1  # a 62-bit signed accumulator (MAX_ACC_BITS) holds -2^61..2^61 - 1
ACC_MIN = -(2**61)


def accepted_values(name):
    lo, hi = LIMITS[name]
    return [lo, hi]


def refused_values(name):
    lo, hi = LIMITS[name]
    return [hi + 1, lo - 1] + ([0] if name == "bin" else [])


def cases(kinds=LIMITS):
    """(dtype, value, accepted) for every family: max, max+1, min, min-1 (bin: and 0)."""
    return ([pytest.param(k, v, True, id=f"{k}={v}") for k in kinds for v in accepted_values(k)]
            + [pytest.param(k, v, False, id=f"{k}={v}") for k in kinds
               for v in refused_values(k)])


def refused(make, *fragments):
    """``make()`` raises GraphError (not a bare ValueError) in one line holding every
    fragment; returns the message."""
    with pytest.raises(ir.GraphError) as info:
        make()
    msg = str(info.value)
    assert "\n" not in msg, msg
    for f in fragments:
        assert f in msg, msg
    return msg


def passthrough(name, units=1):
    """An activation that hands a raw accumulator on unchanged (y = acc, when it fits)."""
    out = "uint32" if name.startswith("uint") else "int32"
    return ir.Requant(out, np.ones(units, np.int64), np.zeros(units, np.int64))


def weighted(op, weights, weight_dtype, *, in_dtype="uint1", name="fc", **kw):
    """A graph of one dense layer, or of the equivalent 1x1 conv on a 1x1 image; ``weights``
    is (units, features)."""
    weights = np.asarray(weights)
    units, features = weights.shape
    if op == "dense":
        layer = ops.Dense(name, weight_dtype=weight_dtype, weights=weights, **kw)
        shape = (features,)
    else:
        layer = ops.Conv2d(name, weight_dtype=weight_dtype,
                          weights=weights.reshape(units, 1, 1, features), **kw)
        shape = (1, 1, features)
    return ir.Graph("g", ir.Tensor(shape, in_dtype), [layer])  # the graph parses the name


def run_flat(g, x):
    """Reference output for input rows ``x`` (frames, features), flattened per frame."""
    x = np.asarray(x, np.int64).reshape(len(x), *g.input.shape)
    y = reference.run(g, x)
    return y.reshape(len(y), -1).tolist()


def where(op, name="fc"):
    return f"layer {name!r} ({'dense' if op == 'dense' else 'conv2d'})"


# -- DType -------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["int1", "int33", "uint0", "uint33", "int0", "uint64"])
def test_parse_refuses_widths_out_of_range(name):
    with pytest.raises(ValueError, match="unknown dtype"):
        DType.parse(name)


@pytest.mark.parametrize("name", ["int2", "int32", "uint1", "uint32", "bin", "tern"])
def test_parse_accepts_the_narrowest_and_widest(name):
    dt = DType.parse(name)
    assert (dt.min, dt.max) == LIMITS[name]
    assert dt.name == name
    assert dt.bits == {"int2": 2, "int32": 32, "uint1": 1, "uint32": 32, "bin": 1, "tern": 2}[name]


@pytest.mark.parametrize("name", list(LIMITS))
def test_contains_at_the_extremes(name):
    dt = DType.parse(name)
    lo, hi = LIMITS[name]
    assert dt.contains(np.array([lo, hi]))
    assert dt.contains(np.array([hi]))
    assert dt.contains(np.array([lo]))
    for v in refused_values(name):
        assert not dt.contains(np.array([v])), v
        assert not dt.contains(np.array([lo, v, hi])), v


# the codes of the extremes, by hand: two's complement, unsigned, bin 1 = +1, tern 2 bits
CODES = {
    "bin": [0, 1], "tern": [3, 1], "int2": [2, 1], "int4": [8, 7], "int8": [128, 127],
    "int32": [2**31, 2**31 - 1], "uint1": [0, 1], "uint4": [0, 15], "uint8": [0, 255],
    "uint32": [0, 2**32 - 1],
}


@pytest.mark.parametrize("name", list(LIMITS))
def test_encode_decode_round_trip_at_the_extremes(name):
    dt = DType.parse(name)
    values = np.array(LIMITS[name])
    codes = dt.encode(values)
    assert codes.tolist() == CODES[name]
    assert all(0 <= c < 2**dt.bits for c in codes.tolist())
    assert dt.decode(codes).tolist() == list(LIMITS[name])


@pytest.mark.parametrize("name, past, wrapped", [
    ("int4", 8, -8), ("int4", -9, 7), ("int2", 2, -2), ("uint4", 16, 0), ("uint1", -1, 1),
    ("int32", 2**31, -(2**31)), ("uint32", 2**32, 0), ("tern", 2, -2)])
def test_one_past_the_end_would_wrap(name, past, wrapped):
    """Why the checks exist: the code of a value one past the end is another value's."""
    dt = DType.parse(name)
    assert dt.decode(dt.encode(np.array([past]))).tolist() == [wrapped]
    assert not dt.contains(np.array([past]))


@pytest.mark.parametrize("name", ["int1", "int33", "uint0", "uint33"])
def test_dtype_names_out_of_range_in_a_graph(name):
    refused(lambda: weighted("dense", [[1]], name), "layer 'fc'", "weight_dtype", name)
    refused(lambda: weighted("dense", [[1]], "bin", activation=ir.Threshold(name, [[0]])),
            "layer 'fc'", "threshold", name)
    refused(lambda: weighted("dense", [[1]], "bin", in_dtype=name), "input", name)


# -- layer weights -----------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["dense", "conv2d"])
@pytest.mark.parametrize("name, value, ok", cases())
def test_weight_range(op, name, value, ok):
    def make():
        return weighted(op, [[value]], name, activation=passthrough(name))

    if not ok:
        refused(make, where(op), "weights", f"outside {name}")
        return
    g = make()
    # y = w * x for x in uint1: the weight itself comes out, not a wrapped code
    assert run_flat(g, [[1], [0]]) == [[value], [0]]


def test_weight_range_in_a_graph_file(tmp_path):
    """A hand-written file with an int4 weight of 8 is refused when it loads."""
    doc = {"format": "hwgen-graph/1", "name": "g", "input": {"shape": [2], "dtype": "uint1"},
           "layers": [{"name": "fc", "op": "dense", "weight_dtype": "int4", "weights": "w"}]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    for w, ok in (([[7, -8]], True), ([[8, 0]], False), ([[0, -9]], False)):
        np.savez(tmp_path / "g.npz", w=np.array(w))
        if ok:
            assert run_flat(ir.load_graph(tmp_path / "g.json"), [[1, 1]]) == [[-1]]
        else:
            refused(lambda: ir.load_graph(tmp_path / "g.json"), "layer 'fc' (dense)",
                    "weights", "outside int4")


@pytest.mark.parametrize("shape", [(0, 1, 1, 1), (1, 0, 1, 1), (1, 1, 0, 1)])
def test_conv_weights_of_size_zero(shape):
    """No output channel, or a kernel of size 0 (which would make the output larger than
    the input), is refused, not a numpy ValueError or a nonsense graph."""
    refused(lambda: ir.Graph("g", ir.Tensor((2, 2, 1), "uint2"), [
        ops.Conv2d("conv", weight_dtype="int2", weights=np.zeros(shape, np.int64))]),
        "layer 'conv' (conv2d)", "weights", "no size 0", f"got shape {list(shape)}")


def test_dense_without_units():
    refused(lambda: weighted("dense", np.zeros((0, 1), np.int64), "int2"), "layer 'fc'",
            "weights")


# -- codebook entries --------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["dense", "conv2d"])
@pytest.mark.parametrize("name", list(LIMITS))
def test_codebook_at_the_extremes(op, name):
    lo, hi = LIMITS[name]
    g = weighted(op, [[lo, hi]], name, codebook=np.array([lo, hi]),
                 activation=passthrough(name))
    assert run_flat(g, [[1, 0], [0, 1], [1, 1]]) == [[lo], [hi], [lo + hi]]


@pytest.mark.parametrize("op", ["dense", "conv2d"])
@pytest.mark.parametrize("name", list(LIMITS))
def test_codebook_past_the_extremes(op, name):
    lo, hi = LIMITS[name]
    books = [([hi, hi + 1], hi), ([lo - 1, lo], lo)]  # (codebook, the one weight used)
    if name == "bin":
        books.append(([-1, 0], -1))
    for book, w in books:
        refused(lambda b=book, w=w: weighted(op, [[w]], name, codebook=np.array(b)),
                where(op), "codebook", f"outside {name}")


# -- conv pad_value ----------------------------------------------------------------------------


def padded(in_dtype, pad_value):
    """A 1x1 conv with weight 1 and padding 1 on a 1x1 image: the 3x3 output is the pad
    value all round and the input pixel in the middle."""
    act = passthrough(in_dtype) if in_dtype.startswith(("int", "uint")) else ir.Requant(
        "int2", np.ones(1, np.int64), np.zeros(1, np.int64))
    return ir.Graph("g", ir.Tensor((1, 1, 1), DType.parse(in_dtype)), [
        ops.Conv2d("conv", weight_dtype="uint1", weights=np.ones((1, 1, 1, 1), np.int64),
                  padding=1, pad_value=pad_value, activation=act)])


@pytest.mark.parametrize("name, value, ok", cases())
def test_pad_value_range(name, value, ok):
    if not ok:
        refused(lambda: padded(name, value), "layer 'conv' (conv2d)", f"pad_value {value}",
                f"input dtype {name}")
        return
    g = padded(name, value)
    lo, hi = LIMITS[name]
    x = lo if value == hi else hi
    expect = [[value] * 3, [value, x, value], [value] * 3]
    assert reference.run(g, np.array([[[[x]]]]))[0, :, :, 0].tolist() == expect


def test_pad_value_of_a_huge_integer_is_refused():
    refused(lambda: padded("int32", 2**70), "layer 'conv' (conv2d)", "pad_value")
    refused(lambda: padded("uint32", np.uint64(2**64 - 1)), "layer 'conv' (conv2d)",
            "pad_value")


# -- graph inputs ------------------------------------------------------------------------------


def identity(name):
    """y = x for one input value of dtype ``name`` (a weight of 1, no wrap on the way)."""
    act = passthrough(name) if name.startswith(("int", "uint")) else None
    return weighted("dense", [[1]], "uint1", in_dtype=name, activation=act)


@pytest.mark.parametrize("name, value, ok", cases())
def test_input_range(name, value, ok):
    g = identity(name)
    if not ok:
        refused(lambda: reference.run(g, np.array([[value]])), "input", f"outside {name}")
        refused(lambda: reference.batch(g, np.array([[value]])), "input", f"outside {name}")
        lo, hi = LIMITS[name]  # one bad value among good ones is found too
        refused(lambda: reference.run(g, np.array([[lo], [value], [hi]])), "input")
        return
    assert reference.batch(g, np.array([[value]])).tolist() == [[value]]
    assert run_flat(g, [[value]]) == [[value]]


def test_bin_input_zero_is_refused_as_not_plus_or_minus_one():
    refused(lambda: reference.run(identity("bin"), np.array([[0]])), "input",
            "outside bin (-1 or +1)")


@pytest.mark.parametrize("x", [np.array([[2**63]], np.uint64), np.array([[-(2**63)]], np.int64),
                               np.array([[2**64 - 1]], np.uint64)])
def test_input_values_beyond_int64(x):
    g = identity("uint32")
    refused(lambda: reference.run(g, x), "input", "outside uint32")


def test_input_uint64_at_the_uint32_max_is_accepted():
    g = identity("uint32")
    assert reference.run(g, np.array([[2**32 - 1]], np.uint64)).tolist() == [[2**32 - 1]]


# -- thresholds --------------------------------------------------------------------------------


def bin_acc(act=None, *, bias=None, units=1, weights=None, weight_dtype="bin"):
    """One dense layer on one bin input: the accumulator is x * w (+ bias), so -1..+1."""
    w = np.ones((units, 1), np.int64) if weights is None else np.asarray(weights)
    return weighted("dense", w, weight_dtype, in_dtype="bin", activation=act, bias=bias)


def test_threshold_int64_limit():
    """Thresholds are int64: 2^63 - 1 is a threshold no accumulator reaches, 2^63 (only an
    unsigned array can hold it) would wrap to -2^63, one every accumulator reaches."""
    g = bin_acc(ir.Threshold("bin", np.array([[I64_MAX]], np.uint64)))
    assert run_flat(g, [[1], [-1]]) == [[-1], [-1]]
    g = bin_acc(ir.Threshold("bin", np.array([[-(2**63)]], np.int64)))
    assert run_flat(g, [[1], [-1]]) == [[1], [1]]
    refused(lambda: bin_acc(ir.Threshold("bin", np.array([[2**63]], np.uint64))),
            "layer 'fc' (dense)", "thresholds", "above 2^63 - 1")


# by hand, per output dtype: thresholds per channel (bin one, else one per step between
# levels), and the output for thresholds 0, 1, 2... at acc = -1 (none passed) and at acc = +1
# (thresholds 0 and 1 passed, where there are two)
COUNTS = {"bin": (1, -1, 1), "tern": (2, -1, 1), "uint1": (1, 0, 1), "uint2": (3, 0, 2),
          "uint4": (15, 0, 2), "uint8": (255, 0, 2), "int2": (3, -2, 0), "int4": (15, -8, -6),
          "int8": (255, -128, -126)}


@pytest.mark.parametrize("name", list(COUNTS))
def test_threshold_count_per_output_dtype(name):
    count, low, high = COUNTS[name]
    g = bin_acc(ir.Threshold(name, np.arange(count)[None]))
    assert run_flat(g, [[-1], [1]]) == [[low], [high]]
    for bad in (count - 1, count + 1):
        refused(lambda b=bad: bin_acc(ir.Threshold(name, np.arange(b)[None])),
                "layer 'fc' (dense)", "thresholds", f"shape [1, {count}]")


@pytest.mark.parametrize("name", ["int9", "uint9", "int32", "uint32"])
def test_threshold_output_wider_than_8_bits(name):
    refused(lambda: bin_acc(ir.Threshold(name, np.zeros((1, 1), np.int64))),
            "layer 'fc' (dense)", "threshold output", "too many levels")


def test_thresholds_sorted():
    g = bin_acc(ir.Threshold("uint2", np.array([[1, 1, 1], [-5, 1, 1]])), units=2)
    assert run_flat(g, [[1], [-1]]) == [[3, 3], [0, 1]]
    refused(lambda: bin_acc(ir.Threshold("tern", np.array([[1, 0]]))),
            "layer 'fc' (dense)", "thresholds", "sorted", "channel 0")
    refused(lambda: bin_acc(ir.Threshold("uint2", np.array([[0, 1, 2], [0, 2, 1]])), units=2),
            "layer 'fc' (dense)", "thresholds", "sorted", "channel 1")
    refused(lambda: bin_acc(ir.Threshold("bin", np.array([[1.5]]))),
            "layer 'fc' (dense)", "thresholds", "integer")


# -- bias and the accumulator limit ------------------------------------------------------------


def test_bias_int64_limit():
    refused(lambda: bin_acc(bias=np.array([2**63], np.uint64)), "layer 'fc' (dense)", "bias",
            "above 2^63 - 1")
    # 2^63 - 1 passes the int64 check but no accumulator holds it (nor, in int64, bias + 1)
    for bias in ([I64_MAX], [I64_MAX, 0], [-(2**63)], [0, -(2**63)]):
        refused(lambda b=bias: bin_acc(ir.Threshold("bin", np.zeros((len(b), 1), np.int64)),
                                       bias=np.array(b), units=len(b)),
                "layer 'fc' (dense)", "accumulator", "62 bits")


@pytest.mark.parametrize("bias, ok", [
    (ACC_MAX - 1, True), (ACC_MAX, False), (ACC_MIN + 1, True), (ACC_MIN, False)])
def test_bias_at_the_accumulator_limit(bias, ok):
    """acc = x * w + bias with x * w = -1..+1: bias + 1 must stay within 62 bits."""
    def make():
        act = ir.Threshold("bin", np.array([[bias]]))  # +1 when x * w = +1
        return bin_acc(act, bias=np.array([bias], np.uint64 if bias > 0 else np.int64))

    if not ok:
        refused(make, "layer 'fc' (dense)", "accumulator", "62 bits")
        return
    assert run_flat(make(), [[1], [-1]]) == [[1], [-1]]


def int32_dot(w):
    """Dense on int32 inputs with int32 weights ``w`` (one unit), the sign thresholded."""
    return weighted("dense", [w], "int32", in_dtype="int32",
                    activation=ir.Threshold("bin", np.zeros((1, 1), np.int64)))


def test_accumulator_limit_of_the_dot_product():
    # 2 * 2^29 * -2^31 = -2^61: the 62-bit accumulator's least value
    g = int32_dot([2**29, 2**29])
    lo, hi = LIMITS["int32"]
    assert run_flat(g, [[lo, lo], [hi, hi], [lo, hi]]) == [[-1], [1], [-1]]
    refused(lambda: int32_dot([2**29, 2**29 + 1]), "layer 'fc' (dense)", "accumulator",
            "62 bits")


@pytest.mark.parametrize("op", ["dense", "conv2d"])
@pytest.mark.parametrize("w, in_dtype, weight_dtype", [
    ([-(2**31)] * 4, "int32", "int32"),  # 4 * 2^62 = 2^64: wraps to 0 in int64
    ([-(2**31)] * 2, "int32", "int32"),  # 2^63: wraps to -2^63
    ([2**32 - 1], "uint32", "uint32"),  # (2^32 - 1)^2 wraps in int64
    ([2**32 - 1] * 3, "uint32", "uint32"),
    ([-(2**31), 2**31 - 1], "int32", "int32"),
])
def test_accumulators_past_int64_are_refused(op, w, in_dtype, weight_dtype):
    """Worst cases whose bounds do not even fit int64 are refused, never wrapped into a
    range that looks small."""
    act = ir.Threshold("bin", np.zeros((1, 1), np.int64))
    refused(lambda: weighted(op, [w], weight_dtype, in_dtype=in_dtype, activation=act),
            where(op), "accumulator", "62 bits")


# -- requant m and s ---------------------------------------------------------------------------


def rq(m, s, out="int8"):
    return ir.Requant(out, np.atleast_1d(m), np.atleast_1d(s))


@pytest.mark.parametrize("s", [-1, 63, 64, -(2**40)])
def test_requant_s_out_of_range(s):
    refused(lambda: bin_acc(rq(1, s)), "layer 'fc' (dense)", "requant s", "0..62")


def test_requant_s_at_the_ends_of_its_range():
    # s = 0: y = acc * m
    assert run_flat(bin_acc(rq(3, 0)), [[1], [-1]]) == [[3], [-3]]
    # s = 61: y = (acc + 2^60) >> 61 = 0 for acc = -1..+1
    assert run_flat(bin_acc(rq(1, 61)), [[1], [-1]]) == [[0], [0]]
    # s = 62 adds 2^61 before the shift, which only fits 62 bits when acc * m < 0:
    # acc = x + 2 = 1..3 and m = -1, y = (2^61 - acc) >> 62 = 0
    assert run_flat(bin_acc(rq(-1, 62), bias=np.array([2])), [[1], [-1]]) == [[0], [0]]
    refused(lambda: bin_acc(rq(1, 62)), "layer 'fc' (dense)", "requant", "62 bits")


def test_requant_m_int64_limit():
    refused(lambda: bin_acc(rq(np.array([2**63], np.uint64), 0)), "layer 'fc' (dense)",
            "requant m", "above 2^63 - 1")
    # 2^63 - 1 passes where the accumulator allows it: a layer whose accumulator is 0
    g = bin_acc(rq(np.array([I64_MAX], np.uint64), 0), weights=[[0]], weight_dtype="int2")
    assert run_flat(g, [[1], [-1]]) == [[0], [0]]
    # ...and is refused where acc * m does not fit (2 * (2^63 - 1) wraps to -2 in int64)
    refused(lambda: bin_acc(rq(I64_MAX, 0), weights=[[-2]], weight_dtype="int2"),
            "layer 'fc' (dense)", "requant", "62 bits")
    refused(lambda: bin_acc(rq(-I64_MAX, 0), weights=[[-2]], weight_dtype="int2"),
            "layer 'fc' (dense)", "requant", "62 bits")


@pytest.mark.parametrize("m, ok", [
    (ACC_MAX, True), (ACC_MAX + 1, False), (-ACC_MAX, True), (-ACC_MAX - 1, False)])
def test_requant_m_at_the_product_limit(m, ok):
    """acc = -1..+1, so acc * m = -|m|..|m| must fit 62 bits: |m| <= 2^61 - 1."""
    if not ok:
        refused(lambda: bin_acc(rq(m, 0)), "layer 'fc' (dense)", "requant", "62 bits")
        return
    # y = clamp(acc * m) to int8
    expect = [[127], [-128]] if m > 0 else [[-128], [127]]
    assert run_flat(bin_acc(rq(m, 0)), [[1], [-1]]) == expect


@pytest.mark.parametrize("m", [I64_MAX, -I64_MAX, 2**62, -(2**62)])
def test_requant_product_past_int64_after_add_and_pool(m):
    """The same limit on the layers whose accumulator is a sum: add and global_sum_pool."""
    inp = ir.Tensor((1, 1, 1), DType.parse("bin"))
    refused(lambda: ir.Graph("g", inp, [ops.Add("add", inputs=["input", "input"],
                                               activation=rq(m, 0))]),
            "layer 'add' (add)", "requant", "62 bits")
    refused(lambda: ir.Graph("g", ir.Tensor((1, 2, 1), DType.parse("bin")), [
        ops.GlobalSumPool("gsp", activation=rq(m, 0))]), "layer 'gsp'", "requant", "62 bits")


def test_requant_on_add_at_the_product_limit():
    """acc = a + b = -2..+2; m = 2^60 - 1 keeps acc * m within 62 bits, 2^60 does not."""
    inp = ir.Tensor((1, 1, 1), DType.parse("bin"))
    g = ir.Graph("g", inp, [ops.Add("add", inputs=["input", "input"],
                                   activation=rq(2**60 - 1, 0, "int32"))])
    assert reference.run(g, np.array([[[[1]]], [[[-1]]]])).ravel().tolist() == [
        2**31 - 1, -(2**31)]
    refused(lambda: ir.Graph("g", inp, [ops.Add("add", inputs=["input", "input"],
                                               activation=rq(2**60, 0))]),
            "layer 'add' (add)", "requant", "62 bits")
