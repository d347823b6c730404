"""Label select: the index of the largest element of each frame (ties: lowest index)."""

from __future__ import annotations

from amaranth import Module, Mux, Shape, Signal, Value, unsigned
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.core.formulas import bits_unsigned
from hwgen.hw.cost import BlockCost, const_dsps, log2
from hwgen.hw.primitives.pipe import UNLIMITED, Pipe, register_bits, registers
from hwgen.hw.primitives.streams import vector_stream
from hwgen.hw.primitives.tree import tree_levels

__all__ = ["LabelSelect"]


class LabelSelect(wiring.Component):
    """Consumes ``elements / per_beat`` beats per frame, emits one index per frame.

    The largest of a beat comes from a tree of compare-and-select levels (two levels of
    logic each), registered where ``levels`` (:class:`hwgen.targets.Timing`) needs it;
    the running best takes it in the last stage.

    Members: ``i`` (In, ``per_beat`` elements of ``shape``), ``o`` (Out, one index).
    """

    def __init__(self, elements: int, per_beat: int, shape: Shape, levels: int = UNLIMITED):
        if elements % per_beat:
            raise ValueError(f"per_beat={per_beat} must divide {elements} elements")
        self.elements, self.per_beat, self.shape = elements, per_beat, Shape.cast(shape)
        self.beats, self.levels = elements // per_beat, levels
        self.index_shape = unsigned(bits_unsigned(elements - 1))
        steps = [n for n, _ in self._steps(0)]
        self.latency = 1 + registers(steps, levels)  # pipeline registers, input to output
        super().__init__({"i": In(vector_stream(self.shape, per_beat)),
                          "o": Out(vector_stream(self.index_shape, 1))})

    def _steps(self, bits: int) -> list[tuple[int, int]]:
        """(levels, bits entering) of each compare-and-select level of the tree, then of the
        running best: candidates of ``bits`` (value and index) halve at every level."""
        steps, cands = [], self.per_beat
        for _ in range(tree_levels(self.per_beat)):
            steps.append((2, cands * bits))
            cands -= cands // 2
        return [*steps, (2, bits)]

    def _beat_max(self, m: Module, base: Value, pipe: Pipe) -> tuple[Value, Value]:
        """Largest element of the beat and its index; on ties the left (lower) one wins."""
        cands = [(self.i.payload[k], base + k) for k in range(self.per_beat)]
        level = 0
        while len(cands) > 1:
            flat = pipe.logic(2, [x for c in cands for x in c], f"cand_l{level}")
            cands = list(zip(flat[::2], flat[1::2], strict=True))
            merged = []
            for j in range(0, len(cands) - 1, 2):
                (va, ia), (vb, ib) = cands[j], cands[j + 1]
                v, i = Signal(self.shape, name=f"max_l{level}_{j}"), Signal(self.index_shape,
                                                                            name=f"idx_l{level}_{j}")
                m.d.comb += [v.eq(Mux(vb > va, vb, va)), i.eq(Mux(vb > va, ib, ia))]
                merged.append((v, i))
            if len(cands) % 2:
                merged.append(cands[-1])
            cands = merged
            level += 1
        return cands[0]

    def elaborate(self, platform) -> Module:
        m = Module()
        beat = Signal(range(self.beats), name="beat")
        best, best_idx = Signal(self.shape), Signal(self.index_shape)
        en = Signal()
        m.d.comb += [en.eq(~self.o.valid | self.o.ready), self.i.ready.eq(en)]
        with m.If(en & self.i.valid):
            m.d.sync += beat.eq(Mux(beat == self.beats - 1, 0, beat + 1))
        pipe = Pipe(m, en, self.levels)
        v, i = self._beat_max(m, beat * self.per_beat, pipe)
        v, i = pipe.logic(2, [v, i], "beat_max")
        flags = [pipe.delay(s, pipe.registers, name) for s, name in (
            (self.i.valid, "valid"), (beat == 0, "first"), (beat == self.beats - 1, "last"))]
        valid, first, last = flags
        take = first | (v > best)
        new_idx = Mux(take, i, best_idx)
        with m.If(en):
            m.d.sync += self.o.valid.eq(valid & last)
            with m.If(valid):
                m.d.sync += [best.eq(Mux(take, v, best)), best_idx.eq(new_idx),
                             self.o.payload[0].eq(new_idx)]
        return m

    def cost(self, family: str) -> BlockCost:
        """Features (for the fitted LUT/FF model), block RAMs and DSPs for ``family``."""
        c = BlockCost()
        f = c.features
        bits = self.shape.width + self.index_shape.width
        f["select"] += self.per_beat * bits
        c.dsp += const_dsps([self.per_beat] if self.beats > 2 else [], family)
        f["reg"] += 2 * bits + register_bits(self._steps(bits), self.levels)
        f["reg"] += 3 * (self.latency - 1)  # valid, first, last beside them
        f["ctl"] += log2(self.beats)
        return c
