"""hwgen.ops.window: when a window layer's output beats can leave (the last input beat each
needs, worked out by hand from "row oy leaves once its kh input rows are written"), the
elements a beat it takes from its producer, and its FIFO of one row."""

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.ops.window import upstream_elems


def _lp(shape, layer, name=None):
    return plan(ir.Graph("g", ir.Tensor(shape, DType.parse("int3")), [layer]))[layer.name]


def test_pool_needs_whole_rows():
    # 4x4x2, one pixel a beat: output row 0 needs input rows 0-1 (last beat 7), row 1
    # rows 2-3 (15); two output pixels a row
    mp = ops.MaxPool2d("mp", kernel=2)
    needs, work = mp.needs(_lp((4, 4, 2), mp))
    assert needs[0].tolist() == [7, 7, 15, 15] and work == 4
    # 5x4x1, kernel (3, 2), stride (1, 2): rows 0-2, 1-3, 2-4 -> last beats 11, 15, 19
    mp = ops.MaxPool2d("mp", kernel=(3, 2), stride=(1, 2))
    needs, work = mp.needs(_lp((5, 4, 1), mp))
    assert needs[0].tolist() == [11, 11, 15, 15, 19, 19] and work == 6


def test_padded_conv_needs_rows_clamped_to_the_input():
    # 3x3, padding 1 on 4x4x1: output row oy needs input rows up to oy + 1, at most 3
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((1, 3, 3, 1), int),
                      padding=1)
    needs, work = conv.needs(_lp((4, 4, 1), conv))
    assert needs[0].tolist() == [7] * 4 + [11] * 4 + [15] * 8 and work == 9


@pytest.mark.parametrize("channels, upstream, elems", [(4, None, 4), (4, 2, 2), (6, 4, 6),
                                                       (6, 3, 3)])
def test_upstream_elems(channels, upstream, elems):
    assert upstream_elems(channels, upstream) == elems


def test_a_window_pool_buffers_one_row():
    # after a layer giving 2 of 4 channels a beat: one row of 5 pixels is 10 beats
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((4, 1, 1, 4), int), pe=2,
                      simd=4, activation=ir.Requant("int3", np.ones(4, int), np.full(4, 3)))
    g = ir.Graph("g", ir.Tensor((3, 5, 4), DType.parse("int3")),
                 [conv, ops.AvgPool2d("ap", kernel=3, stride=1)])
    assert plan(g)["ap"].fifo_depths == (10,)


def test_work_and_cycles_count_beats_of_a_pixel():
    # after a layer giving 2 of 4 channels a beat, a 2x2 window is 4 positions x 2 beats;
    # on 4x4 the generator writes 16 pixels and reads 4 windows of 4, 2 beats each: 32
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((4, 1, 1, 4), int), pe=2,
                      simd=4, activation=ir.Requant("int3", np.ones(4, int), np.full(4, 3)))
    g = ir.Graph("g", ir.Tensor((4, 4, 4), DType.parse("int3")),
                 [conv, ops.MaxPool2d("mp", kernel=2)])
    lp = plan(g)["mp"]
    needs, work = lp.layer.needs(lp)
    assert (lp.elems, lp.cycles, work) == ((2,), 32, 8)
    assert needs[0].tolist() == [15, 15, 15, 15, 31, 31, 31, 31]  # 2 beats per output pixel


def test_a_bad_stride_is_named():
    with pytest.raises(hwgen.GraphError) as err:
        ir.Graph("g", ir.Tensor((4, 4, 1), DType.parse("int3")),
                 [ops.MaxPool2d("mp", kernel=2, stride=0)])
    assert str(err.value) == ("layer 'mp' (maxpool2d): stride must be an integer >= 1 or a pair "
                              "of them, got 0")


def test_a_row_of_one_beat_still_gets_two():
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((2, 1, 1, 2), int), pe=2,
                      simd=2, activation=ir.Requant("int3", np.ones(2, int), np.full(2, 3)))
    g = ir.Graph("g", ir.Tensor((2, 1, 2), DType.parse("int3")),
                 [conv, ops.MaxPool2d("mp", kernel=(2, 1))])
    assert plan(g)["mp"].fifo_depths == (2,)


def test_the_line_buffer_goes_where_the_family_keeps_small_memories():
    # iCE40 has no LUT RAM: even a small line buffer takes a block RAM; ECP5 keeps it in
    # logic
    from hwgen.hw import silenced
    from hwgen.targets import Timing

    g = ir.Graph("g", ir.Tensor((8, 8, 4), DType.parse("int4")),
                 [ops.MaxPool2d("mp", kernel=3, stride=1)])
    for timing, brams in ((None, 1), (Timing("ecp5", 50.0), 0)):
        lp = plan(g, timing)["mp"]
        window = silenced(lp.layer.blocks(lp))[0]
        assert window.cost(lp.timing.family).bram == brams


def test_a_depthwise_conv_works_one_beat_per_kernel_position():
    """A depthwise conv's work is kh * kw beats of PE channels, not per pixel beat."""
    # 3x3 depthwise on 4x4x4, two channels a beat: 9 positions of a 2-channel beat; output
    # row 0 needs input rows 0-2 (4 pixels x 2 beats a row: last beat 23), row 1 rows 1-3
    # (31); 2 pixels a row, 2 beats a pixel
    dw = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((4, 3, 3, 1), int), groups=4,
                    pe=2)
    needs, work = dw.needs(_lp((4, 4, 4), dw))
    assert needs[0].tolist() == [23] * 4 + [31] * 4 and work == 9


def test_a_conv_padded_only_left_and_right_needs_unpadded_rows():
    """Only the top padding moves the rows an output row needs (padding (0, 1))."""
    # 3x3 on 4x4x1 padded (0, 1): output row oy needs input rows up to oy + 2: last beats
    # 11 and 15; 4 pixels a row
    conv = ops.Conv2d("c", weight_dtype="int2", weights=np.ones((1, 3, 3, 1), int),
                      padding=(0, 1))
    needs, work = conv.needs(_lp((4, 4, 1), conv))
    assert needs[0].tolist() == [11] * 4 + [15] * 4 and work == 9
