"""Sliding-window generator: a pixel stream (NHWC) to the stream of conv/pool windows.

A line buffer holds a few rows of the padded image (never the whole image of a
real size): a writer fills row slots from the input (padding positions get the
pad code without consuming input), a reader emits, for each output pixel, its
window in (ky, kx, channel) order, ``elems`` channels per beat, which is the
order of flattened conv weights (out, kh, kw, in); with ``positions`` > 1 (a pixel a
beat in), a beat out holds that many kernel positions of the window in the same order
(part of a kernel row, or whole rows), read from as many line buffer ports, so a
layer with few channels is not held to one kernel position a cycle. A signed counter of rows
written ahead of the reader's first needed row lets both run concurrently
across frame boundaries: the writer waits for a free slot, the reader for its
``kh`` rows. There are ``kh + max(stride, kh + unused)`` slots (``unused``: the
bottom rows no window covers): ``kh + stride`` suffice within a frame, the rest
let the next frame's first rows arrive while the last windows are still read,
so frames follow each other without a gap.
"""

from __future__ import annotations

from amaranth import Cat, Const, Module, Mux, Shape, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.core.formulas import conv_out_size, signed_bits, window_positions_error
from hwgen.hw.cost import BlockCost, const_dsps, log2, memory, read_port
from hwgen.hw.primitives.rom import storage_attrs
from hwgen.hw.primitives.streams import vector_stream
from hwgen.targets import buffer_storage

__all__ = ["SlidingWindow"]


def _wrap(value, limit: int):
    """``value mod limit`` for 0 <= value < 2 * limit."""
    return Mux(value >= limit, value - limit, value)


def _step(m: Module, counters: list[tuple[Signal, int]]):
    """Advance nested counters (innermost first) by one; return the carry out of each."""
    carry = Const(1)
    carries = []
    for sig, size in counters:
        last = sig == size - 1
        with m.If(carry):
            m.d.sync += sig.eq(Mux(last, 0, sig + 1))
        carry = carry & last
        carries.append(carry)
    return carries


class SlidingWindow(wiring.Component):
    """Windows of ``kernel`` over an (H, W, C) image with ``stride`` and ``padding``.

    Members: ``i`` (In, ``elems`` channels of one pixel per beat), ``o`` (Out,
    ``elems`` channels of ``positions`` window positions per beat).
    """

    latency = 2  # pipeline registers from input to output

    def __init__(self, shape: tuple[int, int, int], elems: int, kernel: tuple[int, int],
                 stride: tuple[int, int], padding: tuple[int, int], pad_code: int,
                 elem_shape: Shape, family: str | None = None, positions: int = 1):
        h, w, c = shape
        if c % elems:
            raise ValueError(f"elems={elems} must divide {c} channels")
        if positions > 1 and elems != c:
            raise ValueError(f"positions={positions} needs a whole pixel a beat (elems={elems}, "
                             f"{c} channels)")
        if positions > 1 and (err := window_positions_error(kernel, positions)):
            raise ValueError(err)
        self.positions = positions
        # a beat's positions: jx along a kernel row, jy rows
        self.jx = min(positions, kernel[1])
        self.jy = positions // self.jx
        self.shape, self.elems, self.kernel = shape, elems, kernel
        self.stride, self.padding, self.pad_code = stride, padding, pad_code
        self.elem_shape = Shape.cast(elem_shape)
        self.family = family  # where the line buffer lives (formulas.buffer_storage)
        self.cf = c // elems
        self.hp, self.wp = h + 2 * padding[0], w + 2 * padding[1]
        self.oh, self.ow = conv_out_size((h, w), kernel, stride, padding)
        unused = self.hp - ((self.oh - 1) * stride[0] + kernel[0])
        self.slots = kernel[0] + max(stride[0], kernel[0] + unused)
        super().__init__({"i": In(vector_stream(self.elem_shape, elems)),
                          "o": Out(vector_stream(self.elem_shape, elems * positions))})

    def elaborate(self, platform) -> Module:
        m = Module()
        (h, w, _), (kh, kw), (sh, sw), (ph, pw) = self.shape, self.kernel, self.stride, self.padding
        cf, hp, wp, oh, ow, slots = self.cf, self.hp, self.wp, self.oh, self.ow, self.slots
        width = self.elems * self.elem_shape.width
        style = storage_attrs(buffer_storage(width, slots * wp * cf, self.family))
        m.submodules.lines = lines = Memory(shape=width, depth=slots * wp * cf, init=[],
                                            attrs=style)
        wr = lines.write_port()
        rds = [lines.read_port() for _ in range(self.positions)]

        # rows completely written beyond the reader's first needed row
        last_advance = hp - (oh - 1) * sh
        ahead = Signal(signed(signed_bits(-last_advance, slots)))
        row_written, row_released = Signal(), Signal()
        release = Signal(range(max(sh, last_advance) + 1))

        # -- writer --------------------------------------------------------------------------
        wr_cf, wr_col = Signal(range(cf)), Signal(range(wp))
        wr_row, wr_slot = Signal(range(hp)), Signal(range(slots))
        is_pad = (wr_row < ph) | (wr_row >= ph + h) | (wr_col < pw) | (wr_col >= pw + w)
        room = ahead < slots
        write = Signal()
        pad_word = sum(self.pad_code << (k * self.elem_shape.width) for k in range(self.elems))
        m.d.comb += [
            self.i.ready.eq(room & ~is_pad),
            write.eq(room & (is_pad | self.i.valid)),
            wr.addr.eq((wr_slot * wp + wr_col) * cf + wr_cf),
            wr.data.eq(Mux(is_pad, pad_word, self.i.payload)),
            wr.en.eq(write),
        ]
        with m.If(write):
            _, row_end, _ = _step(m, [(wr_cf, cf), (wr_col, wp), (wr_row, hp)])
            m.d.comb += row_written.eq(row_end)
            with m.If(row_end):
                m.d.sync += wr_slot.eq(Mux(wr_slot == slots - 1, 0, wr_slot + 1))

        # -- reader (stalls as one pipeline with its output register) ------------------------
        en = Signal()
        m.d.comb += en.eq(~self.o.valid | self.o.ready)
        jx, jy = self.jx, self.jy
        # kx, ky count groups of jx columns, jy rows of the kernel
        rd_cf, kx, ky = Signal(range(cf)), Signal(range(kw // jx)), Signal(range(kh // jy))
        col, row, base = Signal(range(ow)), Signal(range(oh)), Signal(range(slots))
        read = Signal()
        m.d.comb += read.eq(en & (ahead >= kh))
        for t, rd in enumerate(rds):
            dy, dx = divmod(t, jx)
            m.d.comb += [rd.addr.eq((_wrap(base + ky * jy + dy, slots) * wp + col * sw
                                     + kx * jx + dx) * cf + rd_cf),
                         rd.en.eq(en)]
        with m.If(read):
            carries = _step(m, [(rd_cf, cf), (kx, kw // jx), (ky, kh // jy), (col, ow),
                                (row, oh)])
            out_row_end = carries[3]
            m.d.comb += [row_released.eq(out_row_end),
                         release.eq(Mux(row == oh - 1, last_advance, sh))]
            with m.If(out_row_end):
                m.d.sync += base.eq(_wrap(base + Mux(row == oh - 1, last_advance % slots,
                                                    sh % slots), slots))
        with m.If(en):
            m.d.sync += self.o.valid.eq(read)
        m.d.comb += self.o.payload.eq(Cat(rd.data for rd in rds))
        m.d.sync += ahead.eq(ahead + row_written - Mux(row_released, release, 0))
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        width = self.elems * self.elem_shape.width
        depth = self.slots * self.wp * self.cf
        storage = buffer_storage(width, depth, self.family)
        memory(c, width, depth, family, storage=storage, sync=True)
        for _ in range(self.positions - 1):  # a read port a kernel position
            read_port(c, width, depth, family, storage=storage)
        f["reg"] += width * self.positions
        c.dsp += const_dsps([self.wp, self.cf, self.wp, self.stride[1], self.cf], family)
        f["ctl"] += 2 * (log2(self.hp) + log2(self.wp) + log2(self.cf)
                         + log2(self.kernel[0]) + log2(self.kernel[1]) + log2(self.slots))
        return c
