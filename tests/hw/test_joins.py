"""Fork, element-wise add and channel concat in the Amaranth simulator, with random stalls
on every stream, against numpy."""

import numpy as np
import pytest

from hwgen.core.dtypes import DType
from hwgen.core.packing import pack, unpack
from hwgen.hw.blocks.add import ElementwiseAdd
from hwgen.hw.blocks.concat import ChannelConcat
from hwgen.hw.blocks.fork import Fork
from hwgen.ops.concat import common_dtype
from hwgen.ops.samples import draw
from tests.hw.amaranth_stream import run_streams


@pytest.mark.parametrize("n", [2, 3])
def test_fork_every_output_sees_every_beat(n):
    beats = list(range(1, 80))
    dut = Fork(8, n)
    got = run_streams(dut, {"i": beats}, {f"o{k}": len(beats) for k in range(n)},
                      p_in=0.3, p_out=0.4, seed=n)
    for k in range(n):
        assert got[f"o{k}"][0] == beats  # no beat lost, none doubled, none extra
    # free-running: one beat a cycle on every output
    got = run_streams(dut, {"i": beats}, {f"o{k}": len(beats) for k in range(n)})
    assert set(np.diff(got["o0"][1])) == {1}


@pytest.mark.parametrize("a_name,b_name,pe", [("bin", "bin", 2), ("uint2", "int4", 3),
                                              ("tern", "uint1", 1), ("int8", "bin", 2)])
def test_elementwise_add_of_values(a_name, b_name, pe):
    rng = np.random.default_rng(pe)
    a_dt, b_dt = DType.parse(a_name), DType.parse(b_name)
    a, b = draw(a_dt, (30, pe), rng), draw(b_dt, (30, pe), rng)
    a[0], b[0], a[1], b[1] = a_dt.min, b_dt.min, a_dt.max, b_dt.max  # both ends of the sum
    dut = ElementwiseAdd(a_dt, b_dt, pe)
    got = run_streams(dut, {"i0": pack(a_dt.encode(a), a_dt.bits, pe),
                            "i1": pack(b_dt.encode(b), b_dt.bits, pe)}, {"o": 30},
                      p_in=0.3, p_out=0.3)
    out = DType("int", dut.out_bits)
    assert np.array_equal(out.decode(unpack(got["o"][0], out.bits, pe)).reshape(30, pe), a + b)


@pytest.mark.parametrize("a_name,b_name,c1,c2,pe", [("uint2", "uint2", 4, 2, 2),
                                                    ("bin", "int3", 2, 4, 1),
                                                    ("uint4", "int2", 3, 6, 3)])
def test_channel_concat(a_name, b_name, c1, c2, pe):
    rng = np.random.default_rng(c1 * c2)
    a_dt, b_dt = DType.parse(a_name), DType.parse(b_name)
    out = common_dtype(a_dt, b_dt)
    pixels = 9
    a, b = draw(a_dt, (pixels, c1), rng), draw(b_dt, (pixels, c2), rng)
    dut = ChannelConcat(a_dt, b_dt, out, c1 // pe, c2 // pe, pe)
    n_out = pixels * (c1 + c2) // pe
    got = run_streams(dut, {"i0": pack(a_dt.encode(a), a_dt.bits, pe),
                            "i1": pack(b_dt.encode(b), b_dt.bits, pe)}, {"o": n_out},
                      p_in=0.3, p_out=0.3, seed=3)
    values = out.decode(unpack(got["o"][0], out.bits, pe)).reshape(pixels, c1 + c2)
    assert np.array_equal(values, np.concatenate([a, b], axis=1))


@pytest.mark.parametrize("name,every", [("bin", {-1, 1}), ("tern", {-1, 0, 1}),
                                        ("int2", {-2, -1, 0, 1}), ("uint2", {0, 1, 2, 3})])
def test_the_stimuli_cover_every_value_of_their_dtype(name, every):
    """draw() gives every value of its dtype and nothing else (binary: both -1 and +1)."""
    got = draw(name, (200,), np.random.default_rng(0))
    assert set(got.tolist()) == every
