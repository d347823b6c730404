"""The plan of a graph: what each layer becomes in hardware (parallelism on every stream,
cycles, FIFO depths, pipeline depth), computed once and handed to the hardware top, the
estimator, the reports and the simulator, so the figures a user reads are the ones the
hardware was built with.

Each op supplies its own part (:meth:`hwgen.ir.layer.Layer.stream_plan`); this module adds
what only the whole graph knows: which producer feeds which input, each stage's pipeline
depth (its blocks state their latencies), and how deep the FIFO in front of each input of
a join (add, concat) must be so the pipeline never stalls on a branch
(:func:`hwgen.analysis.schedule.join_fifo_depth`).
"""

from __future__ import annotations

import dataclasses

from hwgen.analysis.schedule import SCHEDULE_FRAMES, beat_schedule, join_fifo_depth
from hwgen.core.errors import GraphError
from hwgen.hw import silenced
from hwgen.hw.top import Stage
from hwgen.ir.graph import INPUT, Graph
from hwgen.ir.plan import LayerPlan, Plan
from hwgen.targets import UNPIPELINED, Timing

__all__ = ["as_plan", "plan"]


def as_plan(source: Plan | Graph, timing: Timing | None = None) -> Plan:
    """A plan as given, or the plan of a graph pipelined for ``timing``."""
    return source if isinstance(source, Plan) else plan(source, timing)


def _depth(lp: LayerPlan, last: bool) -> int:
    """Pipeline registers of a layer stage: glue of its first input, its blocks, and the
    output FIFO of the last stage; each block states its own latency."""
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
    skipping = [lp.layer.name for lp in layers if getattr(lp.layer, "zero_skip", False)]
    if skipping:
        raise GraphError(f"layer {skipping[0]!r}: zero_skip is for graphs without add or "
                         "concat (a branch that runs ahead of its schedule can outgrow the "
                         "join's FIFO); allowed: zero_skip false")
    # add, concat: FIFOs sized by the beat schedule. Their size may move them between
    # logic and block RAM (formulas.fifo_storage), which changes the stage's pipeline
    # depth and so the schedule: size twice, each time with the depths the sizes give.
    for _ in range(2):
        times = beat_schedule(p, gap=p.cycles / p.input.beats, frames=SCHEDULE_FRAMES)
        resized = []
        for k, lp in enumerate(p.layers):
            if lp.layer.arity > 1:
                lp = dataclasses.replace(lp, fifo_depths=tuple(
                    join_fifo_depth(times, lp, j) for j in range(len(lp.xs))))
                lp = dataclasses.replace(lp, depth=_depth(lp, k == len(p.layers) - 1))
            resized.append(lp)
        p = Plan(graph, resized, p.input_elems, timing)
    return p


