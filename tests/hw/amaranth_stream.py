"""Drive stream components in the Amaranth simulator with random stalls on every side."""

from __future__ import annotations

import random

from amaranth import Value
from amaranth.sim import Simulator


def run_streams(dut, inputs: dict[str, list[int]], outputs: dict[str, int], *,
                p_in: float = 0.0, p_out: float = 0.0, seed: int = 0,
                max_cycles: int = 100_000) -> dict[str, tuple[list[int], list[int]]]:
    """Send raw beats into each named input stream of ``dut`` and collect the named output
    streams; return, per port, (raw beats, handshake cycles); inputs list no beats.

    Every port has its own random source of gaps or stalls (seeded). Cycles count clock
    edges from the start; a beat is recorded at the edge where valid and ready are high.
    Sinks keep running until every source is done, so extra beats are caught too.
    """
    rngs = {name: random.Random(f"{seed}/{name}") for name in [*inputs, *outputs]}
    got = {name: ([], []) for name in [*inputs, *outputs]}
    done: list[str] = []

    def source(name, beats):
        port = getattr(dut, name)
        payload = Value.cast(port.payload)

        async def run(ctx):
            cycle = 0
            for beat in beats:
                while rngs[name].random() < p_in:
                    await ctx.tick()
                    cycle += 1
                ctx.set(payload, beat)
                ctx.set(port.valid, 1)
                ready = False
                while not ready:
                    _, _, ready = await ctx.tick().sample(port.ready)
                    cycle += 1
                got[name][1].append(cycle)
                ctx.set(port.valid, 0)
            done.append(name)
        return run

    def sink(name, n):
        port = getattr(dut, name)
        payload = Value.cast(port.payload)
        beats, cycles = got[name]

        async def run(ctx):
            cycle = 0
            while len(beats) < n or len(done) < len(inputs):
                ready = rngs[name].random() >= p_out
                ctx.set(port.ready, ready)
                _, _, valid, data = await ctx.tick().sample(port.valid, payload)
                cycle += 1
                if ready and valid:
                    beats.append(data & ((1 << len(payload)) - 1))
                    cycles.append(cycle)
                if cycle > max_cycles:
                    raise TimeoutError(f"{name}: only {len(beats)} of {n} beats in {cycle} "
                                       "cycles")
        return run

    sim = Simulator(dut)
    sim.add_clock(1e-8)
    for name, beats in inputs.items():
        sim.add_testbench(source(name, beats), background=True)
    for name, n in outputs.items():
        sim.add_testbench(sink(name, n))
    sim.run()
    return got


def run_stream(dut, beats: list[int], n_out: int, *, p_in: float = 0.0, p_out: float = 0.0,
               seed: int = 0, max_cycles: int = 100_000) -> tuple[list[int], list[int]]:
    """One input ``i`` and one output ``o``: (raw output beats, output handshake cycles)."""
    return run_streams(dut, {"i": beats}, {"o": n_out}, p_in=p_in, p_out=p_out, seed=seed,
                       max_cycles=max_cycles)["o"]
