"""Reusable AXI4-Stream driver (source) and monitor (sink) for cocotb 2.x.

Both sample handshakes at rising clock edges, where cocotb sees the values
the flip-flops sample, and record the cycle of every handshake.
"""

from __future__ import annotations

import random

from cocotb.handle import SimHandleBase
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge


class AxisPort:
    """The ``<prefix>_tdata/tvalid/tready`` signals of a DUT and the clock they run on."""

    def __init__(self, dut, prefix: str, clk: SimHandleBase, period_ns: int):
        self.clk, self.period_ns = clk, period_ns
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")

    def cycle(self) -> int:
        """The current clock cycle, from simulation time."""
        return int(get_sim_time(unit="ns") // self.period_ns)


class AxisSource(AxisPort):
    """Drives ``<prefix>_tdata/tvalid`` and watches ``tready``; idles before a beat with
    probability ``p_idle`` (random tvalid gaps)."""

    def __init__(self, dut, prefix: str, clk, period_ns: int, *, rng: random.Random,
                 p_idle: float = 0.0):
        super().__init__(dut, prefix, clk, period_ns)
        self.rng, self.p_idle = rng, p_idle
        self.cycles: list[int] = []  # handshake cycle of every beat sent
        self.tvalid.value = 0

    async def send(self, beats: list[int]) -> None:
        for beat in beats:
            while self.rng.random() < self.p_idle:
                self.tvalid.value = 0
                await RisingEdge(self.clk)
            self.tdata.value = beat
            self.tvalid.value = 1
            await RisingEdge(self.clk)
            while not self.tready.value:
                await RisingEdge(self.clk)
            self.cycles.append(self.cycle())
        self.tvalid.value = 0


class AxisSink(AxisPort):
    """Drives ``<prefix>_tready`` low with probability ``p_stall`` per cycle and collects
    beats (as Python ints of any width)."""

    def __init__(self, dut, prefix: str, clk, period_ns: int, *, rng: random.Random,
                 p_stall: float = 0.0):
        super().__init__(dut, prefix, clk, period_ns)
        self.rng, self.p_stall = rng, p_stall
        self.beats: list[int] = []
        self.cycles: list[int] = []
        self.tready.value = 0

    async def receive(self, count: int, max_cycles: int) -> None:
        """Collect ``count`` beats; raise TimeoutError after ``max_cycles`` cycles."""
        start = self.cycle()
        while len(self.beats) < count:
            ready = self.rng.random() >= self.p_stall
            self.tready.value = int(ready)
            await RisingEdge(self.clk)
            if ready and self.tvalid.value:
                value = self.tdata.value
                if not value.is_resolvable:
                    raise ValueError(f"{self.tdata._name} = {value} (X/Z) at cycle {self.cycle()}")
                self.beats.append(int(value))
                self.cycles.append(self.cycle())
            if self.cycle() - start > max_cycles:
                raise TimeoutError(f"received {len(self.beats)} of {count} beats in "
                                   f"{max_cycles} cycles")
        self.tready.value = 0

    async def drain(self, cycles: int) -> int:
        """Hold ``tready`` high for ``cycles`` cycles; the number of beats that arrive."""
        extra = 0
        self.tready.value = 1
        for _ in range(cycles):
            await RisingEdge(self.clk)
            extra += bool(self.tvalid.value)
        self.tready.value = 0
        return extra
