"""Drive a stream component in the Amaranth simulator with random stalls on both sides."""

from __future__ import annotations

import random

from amaranth import Value
from amaranth.sim import Simulator


def run_stream(dut, beats: list[int], n_out: int, *, p_in: float = 0.0, p_out: float = 0.0,
               seed: int = 0, max_cycles: int = 100_000) -> tuple[list[int], list[int]]:
    """Send raw ``beats`` into ``dut.i``; return (raw output beats, output handshake cycles).

    Cycles count clock edges from the start; a beat is recorded at the edge where
    ``o.valid`` and ``o.ready`` are both high.
    """
    rng = random.Random(seed)
    out: list[int] = []
    cycles: list[int] = []
    i_payload, o_payload = Value.cast(dut.i.payload), Value.cast(dut.o.payload)
    sent = []

    async def source(ctx):
        for beat in beats:
            while rng.random() < p_in:
                await ctx.tick()
            ctx.set(i_payload, beat)
            ctx.set(dut.i.valid, 1)
            await ctx.tick().until(dut.i.ready)
            ctx.set(dut.i.valid, 0)
        sent.append(True)

    async def sink(ctx):
        cycle = 0
        while len(out) < n_out or not sent:
            ready = rng.random() >= p_out
            ctx.set(dut.o.ready, ready)
            _, _, valid, payload = await ctx.tick().sample(dut.o.valid, o_payload)
            cycle += 1
            if ready and valid:
                out.append(payload & ((1 << len(o_payload)) - 1))
                cycles.append(cycle)
            if cycle > max_cycles:
                raise TimeoutError(f"only {len(out)} of {n_out} output beats in {cycle} cycles")

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    sim.add_testbench(source, background=True)
    sim.add_testbench(sink)
    sim.run()
    return out, cycles
