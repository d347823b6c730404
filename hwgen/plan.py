"""What each layer becomes in hardware: parallelism on every stream, cycles, FIFO depths.

The plan is computed once per graph and handed to the hardware top, the
estimator, the reports and the simulator, so the figures a user reads are the
ones the hardware was built with. Each op supplies its own part
(:meth:`hwgen.ir.Layer.stream_plan`); this module adds what only the whole
graph knows: which producer feeds which input, and how deep the FIFO in front
of each input of a join (add, concat) must be so the pipeline never stalls on a
branch (:func:`join_fifo_depth`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .formulas import UNPIPELINED, Timing
from .hw import silenced
from .ir import INPUT, Graph, Layer, Tensor
from .packing import StreamPacking

__all__ = ["FIFO_MARGIN", "LayerPlan", "Plan", "beat_schedule", "plan"]

FIFO_MARGIN = 2  # beats a join FIFO holds beyond the occupancy the schedule predicts
SCHEDULE_FRAMES = 3  # frames the FIFO sizing schedule runs: fill, then steady state


@dataclass(frozen=True)
class LayerPlan:
    layer: Layer
    xs: tuple[Tensor, ...]  # input tensors
    y: Tensor  # output tensor
    elems: tuple[int, ...]  # elements per beat of each input
    out_elems: int  # elements per output beat
    cycles: int  # cycles per frame, pipeline full
    sources: tuple[str, ...]  # producer of each input ("input": the graph input)
    src_elems: tuple[int, ...]  # elements per beat each producer delivers
    fifo_depths: tuple[int, ...]  # beats buffered in front of each input (0: no FIFO)
    consumers: int  # reads of the output; 0 for the graph's output
    depth: int = 0  # pipeline registers from the inputs to the output (glue included)
    timing: Timing = UNPIPELINED  # the clock the blocks are pipelined for

    @property
    def x(self) -> Tensor:
        return self.xs[0]

    @property
    def in_elems(self) -> int:
        return self.elems[0]

    @property
    def fifo_depth(self) -> int:
        return self.fifo_depths[0]

    @property
    def acc_bits(self) -> int | None:
        return self.layer.acc_bits

    @property
    def weight_storage(self) -> str | None:
        return self.layer.storage

    @property
    def in_packings(self) -> list[StreamPacking]:
        return [StreamPacking(e, x.dtype.bits, x.size // e)
                for x, e in zip(self.xs, self.elems, strict=True)]

    @property
    def in_packing(self) -> StreamPacking:
        return self.in_packings[0]

    @property
    def out_packing(self) -> StreamPacking:
        return StreamPacking(self.out_elems, self.y.dtype.bits, self.y.size // self.out_elems)


@dataclass(frozen=True)
class Plan:
    graph: Graph
    layers: list[LayerPlan]
    input_elems: int  # elements per beat on s_axis
    timing: Timing = UNPIPELINED

    @property
    def cycles(self) -> int:
        """Cycles per frame of the whole pipeline: its slowest layer."""
        return max(lp.cycles for lp in self.layers)

    @property
    def bottleneck(self) -> LayerPlan:
        return max(self.layers, key=lambda lp: lp.cycles)

    @property
    def input(self) -> StreamPacking:
        x = self.graph.input
        return StreamPacking(self.input_elems, x.dtype.bits, x.size // self.input_elems)

    @property
    def output(self) -> StreamPacking:
        return self.layers[-1].out_packing

    def __getitem__(self, name: str) -> LayerPlan:
        return next(lp for lp in self.layers if lp.layer.name == name)


def _depth(lp: LayerPlan, last: bool) -> int:
    """Pipeline registers of a layer stage: glue of its first input, its blocks, and the
    output FIFO of the last stage; each block states its own latency."""
    from .hw.top import Stage  # the top is built from plans

    stage = silenced([Stage(lp, last)])[0]
    silenced(stage.blocks)
    return sum(b.latency for b in [*stage.glue[0], *stage.core, *stage.tail])


def plan(graph: Graph, timing: Timing | None = None) -> Plan:
    """The hardware plan of a validated graph, pipelined for ``timing`` (default: iCE40 at
    12 MHz, where no block needs extra registers)."""
    timing = timing or UNPIPELINED
    produced: dict[str, int | None] = {INPUT: None}
    parts = []
    for layer, xs, y in graph.layer_io():
        srcs = graph.sources[layer.name]
        elems, out_elems, cycles = layer.stream_plan(xs, y, [produced[s] for s in srcs])
        produced[layer.name] = out_elems
        parts.append((layer, xs, y, srcs, elems, out_elems, cycles))
    first = graph.consumers(INPUT)[0]
    produced[INPUT] = next(p[4][first[1]] for p in parts if p[0].name == first[0])
    single_input = len(graph.consumers(INPUT)) == 1
    layers = []
    for k, (layer, xs, y, srcs, elems, out_elems, cycles) in enumerate(parts):
        depths = [0 if s == INPUT and single_input else d
                  for s, d in zip(srcs, layer.fifo_depths(xs, elems), strict=True)]
        lp = LayerPlan(layer, tuple(xs), y, tuple(elems), out_elems, cycles, tuple(srcs),
                       tuple(produced[s] for s in srcs), tuple(depths),
                       len(graph.consumers(layer.name)), timing=timing)
        layers.append(dataclasses.replace(lp, depth=_depth(lp, k == len(parts) - 1)))
    p = Plan(graph, layers, produced[INPUT], timing)
    if not any(lp.layer.arity > 1 for lp in layers):
        return p
    # add, concat: FIFOs sized by the beat schedule. Their size may move them between
    # logic and block RAM (formulas.fifo_storage), which changes the stage's pipeline
    # depth and so the schedule: size twice, each time with the depths the sizes give.
    for _ in range(2):
        times = beat_schedule(p, gap=p.cycles / p.input.beats, frames=SCHEDULE_FRAMES)
        resized = []
        for k, lp in enumerate(p.layers):
            if lp.layer.arity > 1:
                lp = dataclasses.replace(lp, fifo_depths=tuple(
                    join_fifo_depth(p, times, lp, j) for j in range(len(lp.xs))))
                lp = dataclasses.replace(lp, depth=_depth(lp, k == len(p.layers) - 1))
            resized.append(lp)
        p = Plan(graph, resized, p.input_elems, timing)
    return p


# -- the beat schedule ------------------------------------------------------------------------


def _beats_at(times: np.ndarray, elems_from: int, elems_to: int) -> np.ndarray:
    """Arrival of each regrouped beat: when the producer beat holding its last element
    arrives."""
    n = len(times) * elems_from // elems_to
    last = (np.arange(1, n + 1) * elems_to - 1) // elems_from
    return times[last]


def _schedule(arrive: np.ndarray, gap: float) -> np.ndarray:
    """t[j] = max(arrive[j], t[j-1] + gap), vectorized."""
    j = np.arange(len(arrive))
    return j * gap + np.maximum.accumulate(arrive - j * gap)


def _frames(per_frame: np.ndarray, beats: int, frames: int) -> np.ndarray:
    """A per-frame index array repeated over ``frames`` frames of ``beats`` beats."""
    return np.concatenate([per_frame + f * beats for f in range(frames)])


def arrivals(times: dict[str, np.ndarray], lp: LayerPlan, k: int) -> np.ndarray:
    """When each beat of input ``k`` of ``lp`` reaches the layer (before its FIFO)."""
    return _beats_at(times[lp.sources[k]], lp.src_elems[k], lp.elems[k])


def beat_schedule(p: Plan, gap: float, frames: int = 1) -> dict[str, np.ndarray]:
    """Output beat times of every layer (and of the graph ``input``) for ``frames`` frames
    when the source sends a beat every ``gap`` cycles and the sink never waits.

    Each output beat waits for the last input beats it needs (:meth:`Layer.needs`)
    plus the layer's work on them and its pipeline depth, and for the beat before
    it plus the layer's cycles per beat; every input takes at most one beat a cycle.
    """
    times = {INPUT: np.arange(frames * p.input.beats) * gap}
    for lp in p.layers:
        needs, work = lp.layer.needs(lp)
        ready = np.full(frames * lp.out_packing.beats, -np.inf)
        for k, packing in enumerate(lp.in_packings):
            taken = _schedule(arrivals(times, lp, k), 1.0)
            need = _frames(needs[k], packing.beats, frames)
            ready = np.maximum(ready, np.where(need >= 0, taken[np.maximum(need, 0)], -np.inf))
        times[lp.layer.name] = _schedule(ready + work + lp.depth,
                                         lp.cycles / lp.out_packing.beats)
    return times


def join_fifo_depth(p: Plan, times: dict[str, np.ndarray], lp: LayerPlan, k: int) -> int:
    """Beats the FIFO in front of input ``k`` of join ``lp`` must hold so the pipeline never
    waits on it: the most beats that have arrived on that input but are not yet taken,
    over a schedule of ``SCHEDULE_FRAMES`` frames at the pipeline's rate, plus
    ``FIFO_MARGIN``. The branch that skips ahead arrives early and waits there for the
    other branch's latency; the other input needs only the margin."""
    arrive = arrivals(times, lp, k)
    n_in, n_out = lp.in_packings[k].beats, lp.out_packing.beats
    frames = len(arrive) // n_in
    taken_at = _frames(lp.layer.consumed(lp)[k], n_out, frames)  # output beat taking it
    taken = times[lp.layer.name][taken_at] - lp.depth + 1  # when the join takes it
    waiting = np.searchsorted(np.sort(arrive), taken, side="right") - np.arange(len(taken))
    return max(2, int(max(0, waiting.max())) + FIFO_MARGIN)
