"""Sliding-window generator and channel reduction in the Amaranth simulator, with stalls,
several frames back to back (the line buffer crosses frame boundaries)."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from hwgen.core.dtypes import DType
from hwgen.core.formulas import window_cycles
from hwgen.core.packing import pack, unpack
from hwgen.hw.blocks.pool import ChannelReduce
from hwgen.hw.blocks.swg import SlidingWindow
from hwgen.hw.blocks.vvu import VVU
from hwgen.hw.primitives.streams import element_shape
from tests.hw.amaranth_stream import run_stream


def numpy_windows(x, kernel, stride, padding, pad_value):
    """(frames, H, W, C) -> (frames, OH, OW, kh, kw, C), the order the generator emits."""
    ph, pw = padding
    xp = np.pad(x, ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=pad_value)
    win = sliding_window_view(xp, kernel, axis=(1, 2))[:, ::stride[0], ::stride[1]]
    return win.transpose(0, 1, 2, 4, 5, 3)


@pytest.mark.parametrize("shape,elems,kernel,stride,padding", [
    ((5, 6, 2), 1, (3, 3), (1, 1), (1, 1)),
    ((6, 5, 4), 2, (3, 3), (2, 2), (0, 0)),
    ((7, 7, 3), 3, (3, 2), (1, 2), (1, 0)),
    ((4, 4, 2), 2, (2, 2), (2, 2), (0, 0)),
    ((5, 5, 1), 1, (5, 5), (1, 1), (2, 2)),
    ((6, 6, 2), 1, (1, 1), (2, 2), (0, 0)),
])
def test_sliding_window(shape, elems, kernel, stride, padding):
    rng = np.random.default_rng(sum(shape))
    dt = DType.parse("int3")
    x = rng.integers(-4, 4, (3, *shape))
    dut = SlidingWindow(shape, elems, kernel, stride, padding, int(dt.encode(-3)),
                        element_shape(dt))
    expected = numpy_windows(x, kernel, stride, padding, -3)
    n_out = expected.size // elems
    for p in (0.4, 0.0):
        out, cycles = run_stream(dut, pack(dt.encode(x), 3, elems), n_out, p_in=p, p_out=p,
                                 seed=5)
        assert np.array_equal(dt.decode(unpack(out, 3, elems)), expected.ravel())
    # free-running, frames follow each other at the window formula: the larger of writing
    # the padded image and reading every window, one beat per cycle
    per_frame = n_out // len(x)
    last = cycles[per_frame - 1::per_frame]
    assert last[2] - last[1] == window_cycles(*shape, elems, kernel, stride, padding)


@pytest.mark.parametrize("op", ["max", "sum"])
@pytest.mark.parametrize("count,channels,elems", [(4, 6, 2), (9, 3, 3), (1, 4, 1), (5, 4, 4)])
def test_channel_reduce(op, count, channels, elems):
    rng = np.random.default_rng(count * channels)
    in_dt, out_dt = DType.parse("int4"), DType.parse("int4" if op == "max" else "int8")
    x = rng.integers(-8, 8, (6, count, channels))
    x[0] = -8
    x[1] = 7
    dut = ChannelReduce(op, count, channels, elems, element_shape(in_dt), element_shape(out_dt))
    out, _ = run_stream(dut, pack(in_dt.encode(x), 4, elems), x.size // count // elems,
                        p_in=0.3, p_out=0.3, seed=1)
    got = out_dt.decode(unpack(out, out_dt.bits, elems)).reshape(6, channels)
    assert np.array_equal(got, x.max(axis=1) if op == "max" else x.sum(axis=1))


@pytest.mark.parametrize("in_name,w_name,pe", [("int4", "int3", 2), ("bin", "tern", 4),
                                               ("uint2", "bin", 1)])
def test_vvu_depthwise(in_name, w_name, pe):
    rng = np.random.default_rng(pe)
    in_dt, w_dt = DType.parse(in_name), DType.parse(w_name)
    channels, positions = 4, 9

    def draw(dt, shape):
        return (rng.choice([-1, 1], shape) if dt.kind == "bin"
                else rng.integers(dt.min, dt.max + 1, shape))

    w, bias = draw(w_dt, (channels, positions)), rng.integers(-5, 6, channels)
    x = draw(in_dt, (5, positions, channels))  # (pixel, kernel position, channel)
    x[0], x[1] = in_dt.min, in_dt.max
    dut = VVU(w.reshape(channels, 3, 3, 1), in_dt, w_dt, pe=pe, bias=bias)
    out, _ = run_stream(dut, pack(in_dt.encode(x), in_dt.bits, pe), 5 * channels // pe,
                        p_in=0.3, p_out=0.3)
    out_dt = DType("int", dut.acc_bits)
    got = out_dt.decode(unpack(out, out_dt.bits, pe)).reshape(5, channels)
    assert np.array_equal(got, np.einsum("pkc,ck->pc", x, w) + bias)
