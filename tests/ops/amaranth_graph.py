"""Run a whole graph's accelerator in the Amaranth simulator (no Verilog, no cocotb): fast
enough for the mutation run's test selection, for small graphs."""

from __future__ import annotations

import numpy as np
from amaranth.sim import Simulator

from hwgen import ir
from hwgen.analysis.plan import plan
from hwgen.core.packing import pack, unpack
from hwgen.hw.top import Accelerator
from hwgen.targets import Timing


def run_graph(graph: ir.Graph, x: np.ndarray, *, max_cycles: int = 20_000,
              timing: Timing | None = None) -> np.ndarray:
    """Output values of ``graph``'s hardware for input values ``x`` (N, *input shape): every
    frame's beats sent back to back, the output always ready."""
    return run_graph_timed(graph, x, max_cycles=max_cycles, timing=timing)[0]


def run_graph_timed(graph: ir.Graph, x: np.ndarray, *, max_cycles: int = 20_000,
                    timing: Timing | None = None) -> tuple[np.ndarray, int, int]:
    """:func:`run_graph`, the latency: clock edges from the first input beat taken to the
    last output beat of frame 0 (what ``hwgen sim`` reports), and the clock edges between
    the last output beats of the last two frames; ``timing``: the clock the plan is
    pipelined for (default: unpipelined)."""
    p = plan(graph, timing)
    dut = Accelerator(p)
    xdt, ydt = graph.input.dtype, graph.output.dtype
    beats = pack(xdt.encode(np.asarray(x, np.int64)), xdt.bits, p.input.elems)
    n_out = len(x) * p.output.beats
    got: list[int] = []
    in_cycles: list[int] = []
    out_cycles: list[int] = []

    async def source(ctx):
        cycle = 0
        for beat in beats:
            ctx.set(dut.s_axis_tdata, beat)
            ctx.set(dut.s_axis_tvalid, 1)
            ready = False
            while not ready:
                _, _, ready = await ctx.tick().sample(dut.s_axis_tready)
                cycle += 1
            in_cycles.append(cycle)
        ctx.set(dut.s_axis_tvalid, 0)

    async def sink(ctx):
        ctx.set(dut.m_axis_tready, 1)
        for cycle in range(1, max_cycles + 1):
            _, _, valid, data = await ctx.tick().sample(dut.m_axis_tvalid, dut.m_axis_tdata)
            if valid:
                got.append(data)
                out_cycles.append(cycle)
                if len(got) == n_out:
                    return

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(source)
    sim.add_testbench(sink)
    sim.run()
    assert len(got) == n_out, f"{len(got)} of {n_out} output beats"
    codes = unpack(got, ydt.bits, p.output.elems)
    latency = out_cycles[p.output.beats - 1] - in_cycles[0]
    period = out_cycles[-1] - out_cycles[-1 - p.output.beats] if len(x) > 1 else 0
    return ydt.decode(codes).reshape(len(x), *graph.output.shape), latency, period
