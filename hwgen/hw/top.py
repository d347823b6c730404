"""The graph top: every layer a stage of stream blocks, stages joined along the graph's
edges (forks where a tensor has several readers), AXI4-Stream ports outside."""

from __future__ import annotations

import itertools

from amaranth import Module, Value
from amaranth.lib import data, stream, wiring
from amaranth.lib.wiring import In, Out

from hwgen.hw.blocks.dwc import WidthConverter
from hwgen.hw.blocks.fifo import REGISTER_BELOW, StreamFIFO
from hwgen.hw.blocks.fork import Fork
from hwgen.hw.primitives.streams import element_shape, vector_stream
from hwgen.ir.graph import INPUT
from hwgen.ir.plan import LayerPlan, Plan
from hwgen.targets import fifo_storage

__all__ = ["Accelerator", "Stage"]


def _port(block: wiring.Component, k: int):
    """Input ``k`` of a block: ``i`` for single-input blocks, ``i0``, ``i1``... for joins."""
    return block.i if hasattr(block, "i") else getattr(block, f"i{k}")


class Stage(wiring.Component):
    """One layer's hardware as a unit: per input, a width converter where the producer's
    beat differs from the layer's and the FIFO the plan sized; the op's blocks (with a FIFO
    of two beats after each when the target clock is fast); an output FIFO of two beats on
    the graph's last layer (on every layer when the clock is fast); a fork when several
    layers read it.

    Members: ``i0`` ... (In, one per input, at the producer's width), ``o0`` ... (Out, one
    per reader; one for the last layer).
    """

    def __init__(self, lp: LayerPlan, last: bool):
        self.lp = lp
        self.glue: list[list[wiring.Component]] = []
        for x, src, elems, depth in zip(lp.xs, lp.src_elems, lp.elems, lp.fifo_depths,
                                        strict=True):
            shape, chain = element_shape(x.dtype), []
            if src != elems:
                chain.append(WidthConverter(shape, src, elems))
            if depth:
                # a single input's FIFO on the wide side of the converter: in front of one
                # that narrows, so a producer that holds its output beat while the converter
                # splits it (a pool, a matrix unit: every stage waits on the output) runs
                # on. A join's FIFO stays behind it, where the beat schedule sized it.
                first = src > elems and lp.layer.arity == 1
                wide = src if first else elems
                depth = max(2, -(-depth * elems // wide))  # as many elements at least
                layout = data.ArrayLayout(shape, wide)
                fifo = StreamFIFO(layout, depth, lp.timing.levels, fifo_storage(
                    layout.size, depth, lp.timing.family))
                chain.insert(0 if first else len(chain), fifo)
            self.glue.append(chain)
        fast = lp.timing.levels < REGISTER_BELOW
        # where the clock is fast, a FIFO after every block: its ready comes from a
        # register, so no ready path (and the enable it drives) spans two blocks
        self.core = []
        for block in lp.layer.blocks(lp):
            if fast and self.core:
                self.core.append(StreamFIFO(self.core[-1].o.payload.shape(), 2,
                                            lp.timing.levels))
            self.core.append(block)
        out = data.ArrayLayout(element_shape(lp.y.dtype), lp.out_elems)
        cut = last or fast
        self.tail: list[wiring.Component] = [StreamFIFO(out, 2, lp.timing.levels)
                                             ] if cut else []
        if lp.consumers > 1:
            self.tail.append(Fork(out, lp.consumers))
        outputs = max(1, lp.consumers)
        super().__init__({
            **{f"i{k}": In(vector_stream(element_shape(x.dtype), src))
               for k, (x, src) in enumerate(zip(lp.xs, lp.src_elems, strict=True))},
            **{f"o{k}": Out(vector_stream(element_shape(lp.y.dtype), lp.out_elems))
               for k in range(outputs)}})

    @property
    def blocks(self) -> list[wiring.Component]:
        return [*itertools.chain(*self.glue), *self.core, *self.tail]

    @property
    def inputs(self) -> list:
        return [getattr(self, f"i{k}") for k in range(len(self.glue))]

    @property
    def outputs(self) -> list:
        return [getattr(self, f"o{k}") for k in range(max(1, self.lp.consumers))]

    def elaborate(self, platform) -> Module:
        m = Module()
        for k, block in enumerate(self.blocks):
            m.submodules[f"b{k}_{type(block).__name__.lower()}"] = block
        for k, (port, chain) in enumerate(zip(self.inputs, self.glue, strict=True)):
            ends = [wiring.flipped(port), *[(b.i, b.o) for b in chain]]
            src = ends[0]
            for i, o in ends[1:]:
                wiring.connect(m, src, i)
                src = o
            wiring.connect(m, src, _port(self.core[0], k))
        for a, b in itertools.pairwise([*self.core, *self.tail]):
            wiring.connect(m, a.o, b.i)
        last = self.tail[-1] if self.tail else self.core[-1]
        sources = last.outputs if isinstance(last, Fork) else [last.o]
        for o, port in zip(sources, self.outputs, strict=True):
            wiring.connect(m, o, wiring.flipped(port))
        return m


class Accelerator(wiring.Component):
    """A whole graph, as its plan (:func:`hwgen.analysis.plan.plan`) says, as one streaming
    pipeline of layer stages; all layers run concurrently, and a producer runs ahead while
    its consumer replays its buffer.

    Members (flat, AXI4-Stream names): ``s_axis_tdata/tvalid/tready``,
    ``m_axis_tdata/tvalid/tready``; ``clk`` and ``rst`` come from the sync domain.
    """

    def __init__(self, plan: Plan):
        self.plan = plan
        super().__init__({
            "s_axis_tdata": In(self.plan.input.tdata_bits), "s_axis_tvalid": In(1),
            "s_axis_tready": Out(1),
            "m_axis_tdata": Out(self.plan.output.tdata_bits), "m_axis_tvalid": Out(1),
            "m_axis_tready": In(1),
        })

    def elaborate(self, platform) -> Module:
        m = Module()
        p, graph = self.plan, self.plan.graph
        n = len(p.layers)
        stages = {lp.layer.name: Stage(lp, k == n - 1) for k, lp in enumerate(p.layers)}
        for name, stage in stages.items():
            m.submodules[name] = stage
        readers = graph.consumers(INPUT)
        x = graph.input
        layout = data.ArrayLayout(element_shape(x.dtype), p.input_elems)
        m.submodules.s_axis = entry = Fork(layout, len(readers)) if len(
            readers) > 1 else _Passthrough(stream.Signature(layout))
        outputs = {INPUT: entry.outputs if len(readers) > 1 else [entry.o]}
        outputs.update({name: s.outputs for name, s in stages.items()})
        for lp in p.layers:
            stage = stages[lp.layer.name]
            for k, s in enumerate(lp.sources):
                j = graph.consumers(s).index((lp.layer.name, k))
                wiring.connect(m, outputs[s][j], stage.inputs[k])
        last = stages[p.layers[-1].layer.name].outputs[0]
        m.d.comb += [
            Value.cast(entry.i.payload).eq(self.s_axis_tdata),
            entry.i.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(entry.i.ready),
            self.m_axis_tdata.eq(Value.cast(last.payload)),
            self.m_axis_tvalid.eq(last.valid),
            last.ready.eq(self.m_axis_tready),
        ]
        return m


class _Passthrough(wiring.Component):
    """The graph input when one layer reads it: a wire."""

    def __init__(self, signature):
        super().__init__({"i": In(signature), "o": Out(signature)})

    def elaborate(self, platform) -> Module:
        m = Module()
        wiring.connect(m, wiring.flipped(self.i), wiring.flipped(self.o))
        return m
