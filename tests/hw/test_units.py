"""Blocks in the Amaranth simulator, against numpy and hwgen.reference, with stalls."""

import itertools

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from hwgen.core.packing import pack, unpack
from hwgen.hw.blocks.argmax import LabelSelect
from hwgen.hw.blocks.dwc import WidthConverter
from hwgen.hw.blocks.fifo import StreamFIFO
from hwgen.hw.blocks.mvu import MVU
from hwgen.hw.blocks.requant import Requantizer
from hwgen.hw.blocks.threshold import ThresholdUnit
from hwgen.hw.primitives.pe import DotPE
from hwgen.hw.primitives.popcount import XnorPopcount
from hwgen.hw.primitives.streams import element_shape
from hwgen.targets import Timing
from tests.hw.amaranth_stream import run_stream, run_streams


def comb_eval(dut, inputs: list, output):
    """Apply (signal, value) pairs to a combinational component and read ``output``."""
    result = []

    async def tb(ctx):
        for sig, value in inputs:
            ctx.set(sig, value)
        result.append(ctx.get(output))

    sim = Simulator(dut)
    sim.add_testbench(tb)
    sim.run()
    return result[0]


def values(dt: DType, shape, rng):
    if dt.kind == "bin":
        return rng.choice([-1, 1], shape)
    return rng.integers(dt.min, dt.max + 1, shape)


@pytest.mark.parametrize("simd", [1, 3, 8])
def test_popcount_exhaustive(simd):
    for a, w in itertools.product(range(2**simd), repeat=2):
        if simd == 8 and (a * 7 + w) % 37:  # 8 bits: a deterministic sample of the 65,536 pairs
            continue
        dut = XnorPopcount(simd)
        agree = bin(~(a ^ w) & (2**simd - 1)).count("1")
        assert comb_eval(dut, [(dut.a, a), (dut.w, w)], dut.o) == agree


@pytest.mark.parametrize("in_name,w_name", [
    ("uint4", "bin"), ("int4", "tern"), ("int8", "int4"), ("uint8", "int8"), ("bin", "int4"),
    ("tern", "tern"), ("int2", "bin")])
def test_dot_pe_random_and_worst_case(in_name, w_name):
    rng = np.random.default_rng(3)
    a_dt, w_dt = DType.parse(in_name), DType.parse(w_name)
    simd = 5
    dut = DotPE(simd, a_dt, w_dt)
    cases = [(values(a_dt, simd, rng), values(w_dt, simd, rng)) for _ in range(20)]
    for a_v in (a_dt.min, a_dt.max):  # corners: the accumulator extremes
        for w_v in (w_dt.min, w_dt.max):
            cases.append((np.full(simd, a_v), np.full(simd, w_v)))
    for a, w in cases:
        got = comb_eval(dut, [(dut.a.as_value(), pack(a_dt.encode(a), a_dt.bits, simd)[0]),
                              (dut.w.as_value(), pack(w_dt.encode(w), w_dt.bits, simd)[0])],
                        dut.o)
        assert got == int(np.dot(a, w)), (a, w)


MVU_CASES = [  # in, weights, MH, MW, PE, SIMD
    ("bin", "bin", 6, 9, 1, 1), ("bin", "bin", 8, 16, 2, 4), ("bin", "bin", 5, 7, 5, 7),
    ("uint4", "bin", 6, 9, 3, 3), ("int4", "tern", 4, 6, 2, 1), ("int8", "int4", 5, 7, 5, 7),
    ("uint8", "int8", 4, 8, 2, 4), ("bin", "int4", 3, 6, 1, 2),
]


@pytest.mark.parametrize("levels", [1, 2, 1 << 16])
@pytest.mark.parametrize("in_name,w_name,mh,mw,pe,simd", MVU_CASES)
def test_mvu(in_name, w_name, mh, mw, pe, simd, levels):
    rng = np.random.default_rng(mh * mw + pe)
    in_dt, w_dt = DType.parse(in_name), DType.parse(w_name)
    weights, bias = values(w_dt, (mh, mw), rng), rng.integers(-9, 10, mh)
    x = values(in_dt, (6, mw), rng)
    x[0], x[1] = in_dt.min, in_dt.max
    dut = MVU(weights, in_dt, w_dt, pe=pe, simd=simd, bias=bias, levels=levels)
    beats = pack(in_dt.encode(x), in_dt.bits, simd)
    out_dt = DType("int", dut.acc_bits)
    for p in (0.4, 0.0):  # stalls, then free-running
        out, cycles = run_stream(dut, beats, len(x) * mh // pe, p_in=p, p_out=p, seed=7)
        got = out_dt.decode(unpack(out, out_dt.bits, pe)).reshape(x.shape[0], mh)
        assert np.array_equal(got, x @ weights.T + bias)
    # free-running: one frame every (MH/PE)*(MW/SIMD) cycles
    last = cycles[mh // pe - 1::mh // pe]
    assert set(np.diff(last[1:])) == {(mh // pe) * (mw // simd)}
    # the first result leaves `latency` cycles after the last input beat it needs
    run = run_streams(dut, {"i": beats}, {"o": len(x) * mh // pe})
    assert run["o"][1][0] - run["i"][1][mw // simd - 1] == dut.latency


CODEBOOK_CASES = [  # in, weights, codebook, PE, SIMD, storage
    ("uint4", "int8", [-128, -7, 0, 3, 127], 2, 3, "logic"),  # 5 entries: 3-bit indices
    ("uint8", "int8", [-100, 9], 3, 9, "bram"),  # 1-bit indices, one word per row group
    ("int4", "int4", [-8, -3, -1, 0, 2, 5, 6, 7], 1, 1, "bram"),
    ("int4", "tern", [-1, 1], 2, 1, "logic"),  # unsigned codes through the table
    ("bin", "int4", [-8, 7], 6, 9, "logic"),  # constants: one ROM word
    ("bin", "bin", [-1, 1], 3, 3, "logic"),
]


@pytest.mark.parametrize("levels", [1, 1 << 16])
@pytest.mark.parametrize("in_name,w_name,book,pe,simd,storage", CODEBOOK_CASES)
def test_mvu_codebook(in_name, w_name, book, pe, simd, storage, levels):
    """Weights stored as codebook indices and decoded in front of the lanes: the same sums
    as the plain MVU, with a ROM word of index_bits per weight."""
    rng = np.random.default_rng(len(book) * pe + simd)
    in_dt, w_dt, book = DType.parse(in_name), DType.parse(w_name), np.array(book)
    mh, mw = 6, 9
    weights = rng.choice(book, (mh, mw))
    weights[0], weights[1] = book[-1], book[0]  # rows at the accumulator's extremes
    bias = rng.integers(-9, 10, mh)
    x = values(in_dt, (8, mw), rng)
    x[0], x[1] = in_dt.min, in_dt.max
    dut = MVU(weights, in_dt, w_dt, pe=pe, simd=simd, bias=bias, storage=storage,
              levels=levels, codebook=book)
    assert dut.index_bits == max(1, (len(book) - 1).bit_length())
    out_dt = DType("int", dut.acc_bits)
    out, _ = run_stream(dut, pack(in_dt.encode(x), in_dt.bits, simd), len(x) * mh // pe,
                        p_in=0.4, p_out=0.4, seed=5)
    got = out_dt.decode(unpack(out, out_dt.bits, pe)).reshape(len(x), mh)
    assert np.array_equal(got, x @ weights.T + bias)


@pytest.mark.parametrize("mw,simd", [(16, 16), (16, 4), (8, 8), (32, 8)])
def test_binary_mvu_full_match_at_power_of_two_widths(mw, simd):
    """A popcount of MW ones when MW is a power of two needs log2(MW) + 1 bits: every
    input equal to the weights (and to their negation) reaches +MW and -MW exactly."""
    rng = np.random.default_rng(mw + simd)
    dt = DType.parse("bin")
    weights = rng.choice([-1, 1], (2, mw))
    x = np.stack([weights[0], -weights[0], weights[1], -weights[1]])
    dut = MVU(weights, dt, dt, pe=1, simd=simd)
    out, _ = run_stream(dut, pack(dt.encode(x), 1, simd), 2 * len(x), p_in=0.3, p_out=0.3)
    got = DType("int", dut.acc_bits).decode(unpack(out, dut.acc_bits, 1)).reshape(4, 2)
    assert got[:, 0].tolist() == [mw, -mw, int(x[2] @ weights[0]), int(x[3] @ weights[0])]
    assert got[2:, 1].tolist() == [mw, -mw]


def _channelwise(dut, acc_bits, accs, pe, out_dt, p=0.3):
    acc_dt = DType("int", acc_bits)
    beats = pack(acc_dt.encode(accs), acc_bits, pe)
    out, _ = run_stream(dut, beats, len(beats), p_in=p, p_out=p, seed=3)
    return out_dt.decode(unpack(out, out_dt.bits, pe)).reshape(accs.shape)


@pytest.mark.parametrize("timing", [Timing(), Timing("ecp5", 400)], ids=["flat", "pipelined"])
@pytest.mark.parametrize("search", [False, True])
@pytest.mark.parametrize("out_name,pe,storage", [
    ("bin", 2, "logic"), ("uint2", 3, "bram"), ("int3", 1, "logic"), ("tern", 6, "logic"),
    ("uint8", 2, "logic"), ("int4", 6, "bram")])
def test_threshold_unit(out_name, pe, storage, search, timing):
    rng = np.random.default_rng(5)
    out_dt, channels, lo, hi = DType.parse(out_name), 6, -200, 250
    t = np.sort(rng.integers(-300, 350, (channels, ir.Threshold.count(out_dt))), axis=1)
    t[0] = t[0, 0]  # equal thresholds: several levels skipped at once
    accs = rng.integers(lo, hi + 1, (40, channels))
    accs[0], accs[1] = lo, hi
    accs[2:4] = np.clip(t[:, :2].T, lo, hi)  # exactly on a threshold
    dut = ThresholdUnit(t, out_dt, pe=pe, acc_range=(lo, hi), storage=storage,
                        timing=timing, search=search)
    got = _channelwise(dut, dut.acc_bits, accs, pe, out_dt)
    assert np.array_equal(got, ir.Threshold(out_dt, t).apply(accs))
    beats = pack(DType("int", dut.acc_bits).encode(accs), dut.acc_bits, pe)
    run = run_streams(dut, {"i": beats}, {"o": len(beats)})
    assert run["o"][1][0] - run["i"][1][0] == dut.latency


def test_threshold_unit_chooses_search_for_wide_outputs():
    """8-bit outputs: the binary search (8 comparators a lane) is the smaller form; one
    threshold (bin): the single comparator."""
    t8 = np.sort(np.random.default_rng(0).integers(-99, 99, (4, 255)), axis=1)
    assert ThresholdUnit(t8, DType.parse("uint8"), pe=2, acc_range=(-99, 99)).search
    t1 = np.zeros((4, 1), np.int64)
    assert not ThresholdUnit(t1, DType.parse("bin"), pe=2, acc_range=(-99, 99)).search




@pytest.mark.parametrize("out_name,pe", [("int4", 2), ("uint8", 3), ("int8", 1)])
def test_requantizer(out_name, pe):
    rng = np.random.default_rng(6)
    out_dt, channels, lo, hi = DType.parse(out_name), 6, -500, 700
    mult, shift = rng.integers(-40, 41, channels), rng.integers(0, 7, channels)
    accs = rng.integers(lo, hi + 1, (9, channels))
    accs[0], accs[1] = lo, hi
    dut = Requantizer(mult, shift, out_dt, pe=pe, acc_range=(lo, hi))
    got = _channelwise(dut, dut.acc_bits, accs, pe, out_dt)
    assert np.array_equal(got, ir.Requant(out_dt, mult, shift).apply(accs))


@pytest.mark.parametrize("levels", [1, 3, 1 << 16])
@pytest.mark.parametrize("n,per_beat", [(10, 1), (10, 2), (12, 4), (7, 7)])
def test_label_select_ties(n, per_beat, levels):
    rng = np.random.default_rng(n)
    dt = DType.parse("int3")
    x = rng.integers(-4, 4, (12, n))
    x[0] = 3  # all equal: index 0
    x[1, -1] = 3  # a single maximum at the end
    dut = LabelSelect(n, per_beat, element_shape(dt), levels)
    beats = pack(dt.encode(x), 3, per_beat)
    out, _ = run_stream(dut, beats, len(x), p_in=0.3, p_out=0.3)
    g = ir.Graph("g", ir.Tensor((n,), dt), [ops.ArgMax("top")])
    assert np.array_equal(np.array(out), reference.run(g, x)[:, 0])
    run = run_streams(dut, {"i": beats}, {"o": len(x)})
    assert run["o"][1][0] - run["i"][1][n // per_beat - 1] == dut.latency


@pytest.mark.parametrize("n_in,n_out", [(8, 16), (16, 8), (6, 4), (4, 6), (3, 5), (1, 7)])
def test_width_converter_keeps_order(n_in, n_out):
    total = n_in * n_out * 3
    codes = np.arange(total) % 32
    dut = WidthConverter(element_shape(DType.parse("uint5")), n_in, n_out)
    out, _ = run_stream(dut, pack(codes, 5, n_in), total // n_out, p_in=0.3, p_out=0.3)
    assert np.array_equal(unpack(out, 5, n_out), codes)
    # free-running it moves one beat per cycle on its narrower side
    _, cycles = run_stream(dut, pack(codes, 5, n_in), total // n_out)
    per_out_beat = max(1, n_out // n_in) if n_out % n_in == 0 else None
    if per_out_beat is not None:
        assert set(np.diff(cycles)) == {per_out_beat}


@pytest.mark.parametrize("depth,storage,levels", [
    (1, "logic", 1 << 16), (3, "logic", 1 << 16), (16, "logic", 1), (3, "bram", 1 << 16),
    (16, "bram", 1)])
def test_fifo_passes_everything_in_order(depth, storage, levels):
    """In order under stalls; free-running one beat a cycle (a one-entry FIFO every other
    cycle); the first beat out ``latency`` cycles after it went in."""
    dut = StreamFIFO(12, depth, levels, storage)
    beats = list(range(100, 160))
    out, _ = run_stream(dut, beats, len(beats), p_in=0.5, p_out=0.5, seed=2)
    assert out == beats
    run = run_streams(dut, {"i": beats}, {"o": len(beats)})
    assert run["o"][0] == beats
    assert run["o"][1][0] - run["i"][1][0] == dut.latency
    assert set(np.diff(run["o"][1])) == ({2} if depth == 1 else {1})
