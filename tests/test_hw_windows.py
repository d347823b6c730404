"""Sliding-window generator and channel reduction in the Amaranth simulator, with stalls,
several frames back to back (the line buffer crosses frame boundaries)."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from hwgen.dtypes import DType
from hwgen.formulas import window_cycles
from hwgen.hw.pool import ChannelReduce
from hwgen.hw.streams import element_shape
from hwgen.hw.swg import SlidingWindow
from hwgen.packing import pack, unpack

from .amaranth_stream import run_stream


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
