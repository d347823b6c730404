"""Matrix-vector unit: a dense layer folded by PE (rows at once) and SIMD (columns at once).

Per frame the unit walks ``nf`` over MH/PE row groups and, inside each, ``sf``
over MW/SIMD column slices: one step per cycle, (MH/PE)*(MW/SIMD) cycles per
frame and no idle cycle between frames. The input vector arrives during the
first row group and is replayed from a buffer for the others. Each step reads
one ROM word of PE x SIMD weights (or of their codebook indices, decoded by a table of
constants in front of each lane) and feeds PE lanes of either the popcount MAC
array (binary weights and inputs) or the fixed-point PE.

With N:M structured sparsity the ROM holds, per row and group of M inputs, only N
weights and their positions in the group (:func:`sparse_slots`): SIMD weight slots take
an input slice of SIMD*M/N elements, a mux in front of each slot picks the element its
weight needs, and a frame takes (MH/PE)*(MW*N/M/SIMD) cycles. The zeros are in the
positions, not the values, so binary weights stay one bit; a group with fewer than N
non-zeros fills its slots with a skip bit (binary weights only: other dtypes store 0).

With ``zero_skip`` the row groups after the first skip the input slices that were all zero
(their products add nothing): while the first row group reads the input, each slice that
holds a non-zero is linked to the one before it in a small table, the last slice always
(it closes the row group), and the replays follow the links. A frame then takes
sf + (nf - 1) * (slices linked) cycles: the formula's at worst, fewer on zero slices.

Pipeline (all stages advance together when the output register is free):
step (counters, ROM/buffer read) -> lanes (dot products, with the registers the target
clock needs inside) -> accumulate -> output.
"""

from __future__ import annotations

import numpy as np
from amaranth import Array, Cat, Const, Module, Mux, Signal, Value, signed, unsigned
from amaranth.lib import data, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.core.dtypes import DType
from hwgen.core.formulas import acc_bounds, bits_unsigned, rom_levels, signed_bits, slot_bits
from hwgen.core.packing import pack
from hwgen.hw import silenced
from hwgen.hw.cost import (
    BlockCost,
    const_dsps,
    const_products,
    log2,
    memory,
    products,
    rom_style,
    tree_bits,
    tree_feature,
    varying_bits,
)
from hwgen.hw.primitives.pe import DotPE
from hwgen.hw.primitives.pipe import UNLIMITED, Pipe
from hwgen.hw.primitives.popcount import XnorPopcount
from hwgen.hw.primitives.rom import lookup, storage_attrs
from hwgen.hw.primitives.streams import element_shape, vector_stream
from hwgen.targets import buffer_storage

__all__ = ["MVU", "sparse_slots"]


def sparse_slots(weights: np.ndarray, n: int, m: int
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A weight matrix of N:M rows as slots, each (rows, cols*n/m): per row and group of
    ``m`` inputs its non-zero weights in input order, each with its position in the group,
    then empty slots (value 0, position 0, ``empty`` true) up to ``n``."""
    rows, cols = weights.shape
    groups = weights.reshape(rows, cols // m, m)
    nonzero = groups != 0
    if nonzero.sum(axis=2).max(initial=0) > n:
        raise ValueError(f"a group of {m} holds more than {n} non-zero weights")
    order = np.argsort(~nonzero, axis=2, kind="stable")[:, :, :n]  # non-zeros first
    empty = ~np.take_along_axis(nonzero, order, axis=2)
    values = np.take_along_axis(groups, order, axis=2)
    positions = np.where(empty, 0, order)
    return tuple(a.reshape(rows, -1) for a in (values, positions, empty))


class MVU(wiring.Component):
    """Dense layer datapath; outputs the integer accumulator (bias included) of every row.

    Parameters
    ----------
    weights : (MH, MW) integer values of ``w_dtype``.
    in_dtype, w_dtype : formats of inputs and weights.
    pe, simd : folding; must divide MH and MW.
    bias : optional (MH,) integers, added to each row's sum.
    storage : "logic" (constants in LUTs) or "bram" (block RAM); a synthesis attribute
        on the same synchronous ROM, so the cycles are the same.
    levels : logic levels allowed between two registers (:class:`hwgen.targets.Timing`).
    codebook : optional ascending values every weight is one of: the ROM then holds each
        weight's index into it, ``index_bits`` wide, and the lanes decode it.
    family : the FPGA family, which decides where the replay buffer lives
        (:func:`hwgen.targets.buffer_storage`).
    sparsity : optional (N, M): every group of M inputs of a row holds at most N non-zero
        weights; SIMD then counts weight slots (a multiple of N) and an input beat holds
        SIMD*M/N elements.
    zero_skip : replays skip the input slices that were all zero (inputs whose dtype holds
        0, not binary); nothing to skip with one row group or one slice.

    Members
    -------
    i : In(stream of ``in_elems`` input codes: ``simd``, or ``simd*M/N`` when sparse)
    o : Out(stream of ``pe`` signed accumulators, ``acc_bits`` wide)
    """

    def __init__(self, weights: np.ndarray, in_dtype: DType, w_dtype: DType, *, pe: int,
                 simd: int, bias: np.ndarray | None = None, storage: str = "logic",
                 levels: int = UNLIMITED, codebook: np.ndarray | None = None,
                 family: str | None = None, sparsity: tuple[int, int] | None = None,
                 zero_skip: bool = False):
        self.weights = np.asarray(weights, dtype=np.int64)
        self.codebook = None if codebook is None else np.asarray(codebook, np.int64)
        self.index_bits = (w_dtype.bits if codebook is None
                           else bits_unsigned(len(self.codebook) - 1))
        mh, mw = self.weights.shape
        self.sparsity = sparsity
        if sparsity is None:
            self.cols, self.in_elems = mw, simd
        else:
            n, m = sparsity
            if codebook is not None or simd % n or mw % m:
                raise ValueError(f"sparsity {n}:{m} needs no codebook, N dividing simd={simd} "
                                 f"and M dividing the {mw} columns")
            self.cols, self.in_elems = mw * n // m, simd * m // n
            self.slots = sparse_slots(self.weights, n, m)
        if mh % pe or self.cols % simd:
            raise ValueError(f"pe={pe} must divide {mh} rows and simd={simd} must divide "
                             f"{self.cols} weights of a row")
        self.attrs = storage_attrs(storage)
        self.in_dtype, self.w_dtype, self.pe, self.simd = in_dtype, w_dtype, pe, simd
        self.nf, self.sf = mh // pe, self.cols // simd
        if zero_skip and in_dtype.kind == "bin":
            raise ValueError("zero_skip needs inputs that hold 0; bin inputs do not")
        self.zero_skip = zero_skip and self.nf > 1 and self.sf > 1
        self.bias = np.zeros(mh, np.int64) if bias is None else np.asarray(bias, np.int64)
        self.binary = in_dtype.kind == "bin" and w_dtype.kind == "bin"
        # a slot with no weight in a binary row: a skip bit (other dtypes store the 0)
        self.skip = (sparsity is not None and w_dtype.kind == "bin"
                     and bool(self.slots[2].any()))
        self.bounds = acc_bounds(self.weights, in_dtype, bias)
        self.acc_bits = self.bounds.out_bits
        self.levels = levels
        self.family = family  # where the replay buffer lives (formulas.buffer_storage)
        lane = silenced([self._lane()])[0]
        self.latency = 3 + lane.latency  # pipeline registers from input to output
        self.lane_register_bits = lane.register_bits
        super().__init__({
            "i": In(vector_stream(element_shape(in_dtype), self.in_elems)),
            "o": Out(vector_stream(signed(self.acc_bits), pe)),
        })

    @property
    def slot_bits(self) -> int:
        return slot_bits(self.index_bits, self.sparsity and self.sparsity[1], self.skip)

    @property
    def pos_bits(self) -> int:
        return bits_unsigned(self.sparsity[1] - 1)

    def _stored(self) -> np.ndarray:
        """What the ROM holds per weight slot, (nf*sf, PE*SIMD): word nf*SF+sf, lane p holds
        row nf*PE+p, slots sf*SIMD..+SIMD; a weight's code or codebook index, and when
        sparse its position (and skip bit) above it."""
        if self.sparsity is not None:
            values, positions, empty = self.slots
            codes = (self.w_dtype.encode(values).astype(np.int64)
                     | positions << self.index_bits
                     | empty.astype(np.int64) * int(self.skip) << (self.index_bits
                                                                    + self.pos_bits))
        elif self.codebook is None:
            codes = self.w_dtype.encode(self.weights)
        else:
            codes = np.searchsorted(self.codebook, self.weights)
        tiles = codes.reshape(self.nf, self.pe, self.sf, self.simd).transpose(0, 2, 1, 3)
        return tiles.reshape(self.nf * self.sf, self.pe * self.simd)

    def _decode_table(self) -> np.ndarray:
        """The codebook as the lanes' weight elements: values where the element shape is
        signed, codes where it is not (bin, tern)."""
        if self.w_dtype.signed:
            return self.codebook
        return self.w_dtype.encode(self.codebook).astype(np.int64)

    def _offsets(self) -> np.ndarray:
        """Per row constant added to the lane sum: bias, and for popcounts minus the slots
        of a row (a skipped slot agrees, +1, so it is taken off too)."""
        if not self.binary:
            return self.bias
        skipped = self.slots[2].sum(axis=1) if self.skip else 0
        return self.bias - self.cols - skipped

    def _lane(self) -> wiring.Component:
        """A dot-product lane: its inputs come through the ROM (logic: a mux of
        constants) and the replay buffer select, so those levels count against its first
        stage."""
        weights = rom_levels(self.nf * self.sf) if rom_style(self.attrs) == "logic" else 0
        if self.codebook is not None:
            weights += rom_levels(len(self.codebook))
        used = max(weights, int(self.nf > 1))
        if self.sparsity is not None:  # the mux picking each slot's input
            used += rom_levels(self.sparsity[1]) + int(self.skip)
        if self.binary:
            return XnorPopcount(self.simd, self.levels, used)
        return DotPE(self.simd, self.in_dtype, self.w_dtype, self.levels, used)

    def elaborate(self, platform) -> Module:
        m = Module()
        pe, simd, nf_n, sf_n = self.pe, self.simd, self.nf, self.sf
        in_layout = data.ArrayLayout(element_shape(self.in_dtype), self.in_elems)
        if self.sparsity is None:
            slot = element_shape(self.w_dtype)
        else:
            slot = data.StructLayout({"w": element_shape(self.w_dtype),
                                      "pos": unsigned(self.pos_bits),
                                      "skip": unsigned(int(self.skip))})
        w_layout = data.ArrayLayout(data.ArrayLayout(slot, simd), pe)

        en = Signal()  # the whole pipeline advances
        m.d.comb += en.eq(~self.o.valid | self.o.ready)

        # -- step: counters, input, ROM and buffer reads --------------------------------------
        nf = Signal(range(nf_n), name="nf")
        sf = Signal(range(sf_n), name="sf")
        first_pass = nf == 0
        step = Signal()
        m.d.comb += [
            step.eq(en & (~first_pass | self.i.valid)),
            self.i.ready.eq(en & first_pass),
        ]
        restart, after, first = Const(0), sf + 1, sf == 0  # where a row group starts, what follows
        if self.zero_skip:
            head, link = self._skip_links(m, sf, step & first_pass)
            restart = Mux(nf == nf_n - 1, 0, head)
            after = Mux(first_pass, sf + 1, link)
            first = Mux(first_pass, sf == 0, sf == head)
        with m.If(step):
            with m.If(sf == sf_n - 1):
                m.d.sync += [sf.eq(restart), nf.eq(Mux(nf == nf_n - 1, 0, nf + 1))]
            with m.Else():
                m.d.sync += sf.eq(after)

        stored = self._stored()
        m.submodules.rom = rom = Memory(shape=stored.shape[1] * self.slot_bits,
                                        depth=nf_n * sf_n, attrs=self.attrs,
                                        init=pack(stored, self.slot_bits, stored.shape[1]))
        rom_rd = rom.read_port()
        m.d.comb += [rom_rd.addr.eq(nf * sf_n + sf), rom_rd.en.eq(en)]
        if self.codebook is None:
            w_tile = w_layout(rom_rd.data)
        else:  # each lane's indices through the table of constants
            index = data.ArrayLayout(data.ArrayLayout(unsigned(self.index_bits), simd), pe)
            index = index(rom_rd.data)
            w_tile = Signal(w_layout)
            table = self._decode_table()
            m.d.comb += [w_tile[p][k].eq(lookup(table, index[p][k], element_shape(self.w_dtype)))
                         for p in range(pe) for k in range(simd)]

        x1 = Signal(in_layout)
        v1, first1, last1, pass1 = Signal(), Signal(), Signal(), Signal()
        nf1 = Signal.like(nf)
        with m.If(en):
            m.d.sync += [v1.eq(step), first1.eq(first), last1.eq(sf == sf_n - 1),
                         pass1.eq(first_pass), nf1.eq(nf), x1.eq(self.i.payload)]
        if nf_n > 1:  # replay buffer for row groups after the first
            style = storage_attrs(buffer_storage(in_layout.size, sf_n, self.family))
            m.submodules.buf = buf = Memory(shape=in_layout, depth=sf_n, init=[], attrs=style)
            buf_wr, buf_rd = buf.write_port(), buf.read_port()
            m.d.comb += [buf_wr.addr.eq(sf), buf_wr.data.eq(self.i.payload),
                         buf_wr.en.eq(step & first_pass),
                         buf_rd.addr.eq(sf), buf_rd.en.eq(en)]
            x = Mux(pass1, x1, buf_rd.data)
        else:
            x = x1
        xs = Signal(in_layout)
        m.d.comb += xs.eq(x)

        # -- lanes: PE dot products of one SIMD slice -----------------------------------------
        partial = []
        for p in range(pe):
            m.submodules[f"lane{p}"] = lane = self._lane()
            if self.sparsity is None:
                m.d.comb += [lane.a.eq(Value.cast(xs)), lane.w.eq(Value.cast(w_tile[p]))]
            else:
                m.d.comb += [lane.a.eq(self._gather(m, xs, w_tile[p], p)),
                             lane.w.eq(Cat(s.w for s in w_tile[p]))]
            m.d.comb += lane.en.eq(en)
            partial.append(lane.o)
        side = Pipe(m, en, self.levels)  # flags travel beside the lanes' registers
        v1, first1, last1, nf1 = (side.delay(s, lane.latency, s.name)
                                  for s in (v1, first1, last1, nf1))
        v2, first2, last2 = Signal(), Signal(), Signal()
        nf2 = Signal.like(nf)
        part2 = [Signal.like(o, name=f"part{p}") for p, o in enumerate(partial)]
        with m.If(en):
            m.d.sync += [v2.eq(v1), first2.eq(first1), last2.eq(last1), nf2.eq(nf1)]
            m.d.sync += [r.eq(o) for r, o in zip(part2, partial, strict=True)]

        # -- accumulate, then add the per-row offset on the last slice ------------------------
        if self.binary:
            acc_shape = unsigned(bits_unsigned(self.cols))
        else:
            acc_shape = signed(self.bounds.dot_bits)
        offsets = self._offsets().reshape(nf_n, pe)
        off_bits = signed_bits(int(offsets.min()), int(offsets.max()))
        for p in range(pe):
            acc = Signal(acc_shape, name=f"acc{p}")
            total = Signal(acc_shape, name=f"total{p}")
            m.d.comb += total.eq(Mux(first2, 0, acc) + part2[p])
            with m.If(en & v2):
                m.d.sync += acc.eq(total)
            offset = lookup(offsets[:, p], nf2, signed(off_bits))
            scaled = (total << 1) if self.binary else total
            with m.If(en):
                m.d.sync += self.o.payload[p].eq(scaled + offset)
        with m.If(en):
            m.d.sync += self.o.valid.eq(v2 & last2)
        return m

    def _skip_links(self, m: Module, sf: Signal, reading: Value) -> tuple[Value, Value]:
        """The slices the replays take, linked while the first row group ``reading`` reads
        them: (the first one, this cycle's included; the one after slice ``sf``)."""
        sf_n = self.sf
        m.submodules.links = links = Memory(shape=range(sf_n), depth=sf_n, init=[])
        wr, rd = links.write_port(), links.read_port(domain="comb")
        head, prev, have = Signal(range(sf_n)), Signal(range(sf_n)), Signal()
        nonzero = Value.cast(self.i.payload).any()  # the zero code is 0 in every dtype
        linked = reading & (nonzero | (sf == sf_n - 1))
        seen = have & (sf != 0)  # a slice of this frame is linked already
        m.d.comb += [wr.addr.eq(prev), wr.data.eq(sf), wr.en.eq(linked & seen),
                     rd.addr.eq(sf)]
        with m.If(linked):
            m.d.sync += [prev.eq(sf), have.eq(1)]
            with m.If(~seen):
                m.d.sync += head.eq(sf)
        with m.Elif(reading & (sf == 0)):
            m.d.sync += have.eq(0)
        return Mux(linked & ~seen, sf, head), rd.data

    def _gather(self, m: Module, xs: data.View, slots: data.View, p: int) -> Value:
        """Lane ``p``'s inputs of one slice: slot k (of group k // N) takes the element at
        its position in that group; a skipped slot takes a value that adds nothing (the
        weight's own code for a popcount, where agreeing is folded into the offset, else
        0)."""
        n, mm = self.sparsity
        bits = self.in_dtype.bits
        picked = []
        for k, s in enumerate(slots):
            group = [Value.cast(xs[k // n * mm + q]) for q in range(mm)]
            x = Signal(bits, name=f"x{p}_{k}")
            choice = Array(group)[s.pos]
            if self.skip:
                zero = (Value.cast(s.w) if self.binary
                        else Const(int(self.in_dtype.encode(0)), bits))
                choice = Mux(s.skip, zero, choice)
            m.d.comb += x.eq(choice)
            picked.append(x)
        return Cat(picked)

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        pe, simd, nf, sf = self.pe, self.simd, self.nf, self.sf
        a, w = self.in_dtype, self.w_dtype
        const = nf * sf == 1  # one ROM word: constants, folded (block RAM or not)
        if self.binary:  # XNOR (with a constant: a wire or an inverter) and popcount tree
            f["xnor"] += pe * ((0 if const else simd) + tree_bits(simd, 1))
            part = signed_bits(0, simd)
        elif const:
            width, terms = const_products(c, self.weights, a, w, family)
            f[tree_feature(a, w, family)] += sum(tree_bits(int(t), width) for t in terms)
            part = width + log2(simd)
        else:
            width = products(c, pe * simd, a, w, family)
            f[tree_feature(a, w, family)] += pe * tree_bits(simd, width)
            part = width + log2(simd)
        f["reg"] += self.in_elems * a.bits + pe * part + 2 * pe * self.acc_bits + 8
        lanes = self.latency - 3  # registers inside the lanes, and the flags beside them
        f["reg"] += pe * self.lane_register_bits + lanes * (3 + log2(nf))
        f["acc"] += pe * self.acc_bits
        if self.sparsity is not None and not const:  # a mux in front of every slot
            f["mux"] += pe * simd * a.bits * (self.sparsity[1] - 1 + int(self.skip))
        memory(c, varying_bits(self._stored(), self.slot_bits), nf * sf, family,
               storage=rom_style(self.attrs), sync=True, rom=True)
        if self.codebook is not None and not const:  # a table of constants per weight
            memory(c, pe * simd * varying_bits(self._decode_table()[:, None], w.bits),
                   len(self.codebook), family, storage="logic", sync=False, rom=True)
        if nf > 1:
            bits = self.in_elems * a.bits
            memory(c, bits, sf, family, storage=buffer_storage(bits, sf, self.family),
                   sync=True)
            f["mux"] += bits
        f["ctl"] += log2(nf) + log2(sf)
        if self.zero_skip:  # zero detect, the link table, head/prev and the next-slice select
            f["cmp"] += self.in_elems * a.bits
            memory(c, log2(sf), sf, family, storage="logic", sync=False)
            f["reg"] += 2 * log2(sf) + 1
            f["mux"] += 2 * log2(sf)
        c.dsp += const_dsps([sf] if nf > 2 else [], family)  # ROM address nf * sf + sf
        return c
