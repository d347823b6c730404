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


def _conv_file(tmp_path, **fields):
    layer = {"name": "c", "op": "conv2d", "weight_dtype": "bin", "weights": "w", **fields}
    layer = {k: v for k, v in layer.items() if v is not None}
    doc = {"format": "hwgen-graph/1", "name": "g", "input": {"shape": [4, 4, 1], "dtype": "bin"},
           "layers": [layer]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "g.npz", w=np.ones((1, 3, 3, 1), int))
    return tmp_path / "g.json"


@pytest.mark.parametrize("fields, message", [
    (dict(weight_dtype=None), "missing weight_dtype"),
    (dict(kernel=0), "kernel must be an integer >= 1 or a pair of them, got 0"),
    (dict(kernel=[3, 2]), "kernel=[3, 2] but weights have kernel [3, 3]"),
])
def test_conv_file_refusals_name_the_layer_and_field(tmp_path, fields, message):
    """A conv2d file's bad field is refused naming the layer and the field."""
    with pytest.raises(hwgen.GraphError) as err:
        hwgen.load_graph(_conv_file(tmp_path, **fields))
    assert str(err.value) == f"layer 'c' (conv2d): {message}"


def _planned(layer, shape, timing=None):
    from hwgen.analysis.plan import plan
    from hwgen.hw import silenced

    g = ir.Graph("g", ir.Tensor(shape, DType.parse("int4")), [layer])
    lp = plan(g, timing)[layer.name]
    return lp, silenced(layer.blocks(lp))


def _weighted(op, weights, **kw):
    # int8 weights that are all -1 or +1, shared through a 2-entry codebook (1-bit indices),
    # kept in block RAM with their thresholds
    return op("w", weight_dtype="int8", weights=weights, bias=np.array([3, -2, 0, 1]),
              codebook=np.array([-1, 1]), weight_storage="bram", pe=2, simd=2,
              activation=ir.Threshold("uint2", np.tile([-5, 0, 5], (4, 1))), **kw)


def _signs(*shape):
    return np.where(np.arange(np.prod(shape)) % 2, 1, -1).reshape(shape)


@pytest.mark.parametrize("op, weights, shape", [
    (ops.Conv2d, _signs(4, 3, 3, 4), (8, 8, 4)),
    (ops.Dense, _signs(4, 36), (36,)),
])
def test_the_hardware_gets_the_layers_bias_codebook_storage_and_family(op, weights, shape):
    """The MVU (and window, thresholds) of a dense or conv layer get what the layer holds."""
    _, blocks = _planned(_weighted(op, weights), shape)
    mvu, thresholds = blocks[-2:]
    assert mvu.bias.tolist() == [3, -2, 0, 1]
    assert mvu.index_bits == 1  # codebook indices, not the 8-bit weight codes
    assert mvu.attrs["rom_style"] == "block"
    # the default target is iCE40, which has no LUT RAM: the MVU's replay buffer of
    # 36 / 2 = 18 beats, the conv's line buffer and the thresholds (stored with the
    # weights) each take a block RAM
    assert mvu.cost("ice40").bram == 1
    assert thresholds.cost("ice40").bram >= 1
    if op is ops.Conv2d:
        assert blocks[0].cost("ice40").bram == 1


def _depthwise():
    return ops.Conv2d("w", weight_dtype="int8", weights=np.arange(36).reshape(4, 3, 3, 1) - 18,
                      bias=np.array([5, -1, 0, 2]), groups=4, pe=2)


def test_a_depthwise_conv_hands_its_bias_to_the_vvu():
    """The vector-vector unit of a depthwise conv adds the layer's bias."""
    _, (_, vvu) = _planned(_depthwise(), (4, 4, 4))
    assert vvu.bias.tolist() == [5, -1, 0, 2]


def test_a_fast_clock_pipelines_the_mvu_and_the_vvu():
    """At 100 MHz on iCE40 the product units take more pipeline registers than at 12 MHz."""
    from hwgen.targets import Timing

    fast = Timing("ice40", 100.0)
    for make, shape, unit in ((lambda: _weighted(ops.Conv2d, _signs(4, 3, 3, 4)), (8, 8, 4), 1),
                              (lambda: _weighted(ops.Dense, _signs(4, 36)), (36,), 0),
                              (_depthwise, (4, 4, 4), 1)):
        slow_unit = _planned(make(), shape)[1][unit]
        fast_unit = _planned(make(), shape, fast)[1][unit]
        assert fast_unit.latency > slow_unit.latency, type(slow_unit).__name__


def test_a_1x1_depthwise_conv_takes_a_cycle_per_pixel_and_channel_group():
    """A 1x1 depthwise conv (no window) takes pixels * channels / PE cycles, an integer."""
    dw = ops.Conv2d("w", weight_dtype="int2", weights=np.ones((4, 1, 1, 1), int), groups=4,
                    pe=2)
    lp, _ = _planned(dw, (3, 4, 4))
    # 12 pixels x 4 / 2 channel groups; reports print it with "{:,}", so no float
    assert lp.cycles == 24 and type(lp.cycles) is int


# zero_skip, a field of every weighted layer (tests/ops/test_zero_skip.py simulates it)
U2 = DType.parse("uint2")
W = np.random.default_rng(11).integers(-2, 2, (4, 16))


def zero_skip_dense(**kw):
    return ops.Dense("fc", weight_dtype="int2", weights=W, pe=1, simd=4, zero_skip=True, **kw)


@pytest.mark.parametrize("make, said", [
    (lambda: ir.Graph("g", ir.Tensor((16,), DType.parse("bin")), [zero_skip_dense()]),
     "layer 'fc' (dense): zero_skip skips input slices that are all zero; bin inputs hold "
     "no 0 (allowed: uint, int, tern inputs)"),
    (lambda: ir.Graph("g", ir.Tensor((16,), U2), [
        ops.Dense("fc", weight_dtype="int2", weights=W, zero_skip=1)]),
     "layer 'fc' (dense): zero_skip must be true or false, got 1"),
    (lambda: ir.Graph("g", ir.Tensor((4, 4, 2), U2), [
        ops.Conv2d("dw", weight_dtype="int2", weights=np.ones((2, 3, 3, 1), int), groups=2,
                   zero_skip=True)]),
     "layer 'dw' (conv2d): a depthwise conv takes no zero_skip (one kernel position a "
     "cycle, no replays); allowed on dense and groups=1 conv")])
def test_zero_skip_is_refused_where_it_cannot_work(make, said):
    with pytest.raises(hwgen.GraphError) as err:
        make()
    assert str(err.value) == said


def test_zero_skip_is_saved_and_loaded(tmp_path):
    g = ir.Graph("g", ir.Tensor((16,), U2), [zero_skip_dense()])
    g.save(tmp_path / "g")
    assert hwgen.load_graph(tmp_path / "g.json").layers[0].zero_skip is True
