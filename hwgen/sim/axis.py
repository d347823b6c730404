"""AXI4-Stream driver (source) and monitor (sink) for cocotb 2.x that wake on handshakes
and idle periods, not on every clock cycle.

Both sample handshakes at rising clock edges, where cocotb sees the values the
flip-flops sample, and record the cycle of every handshake. Stalls come from
:class:`hwgen.sim.stalls.Stalls`, one generator per side, so the compiled bench
(``harness.cpp``) makes the same decisions cycle for cycle. While a side waits
(a run of stalls, or a peer that is not ready/valid), it sleeps on the clock count
or on the peer's signal instead of waking every cycle.
"""

from __future__ import annotations

from cocotb.handle import SimHandleBase
from cocotb.simtime import get_sim_time
from cocotb.triggers import ClockCycles, First, ReadOnly, RisingEdge

from hwgen.sim.stalls import Stalls

RUN_CAP = 4096  # longest run of equal sink decisions taken at once


class AxisPort:
    """The ``<prefix>_tdata/tvalid/tready`` signals of a DUT and the clock they run on."""

    def __init__(self, dut, prefix: str, clk: SimHandleBase, period_ns: int):
        self.clk, self.period_ns = clk, period_ns
        self.tdata = getattr(dut, f"{prefix}_tdata")
        self.tvalid = getattr(dut, f"{prefix}_tvalid")
        self.tready = getattr(dut, f"{prefix}_tready")

    def cycle(self) -> int:
        """The current clock cycle (rising edges so far), from simulation time."""
        return int(get_sim_time(unit="ns") // self.period_ns)


class AxisSource(AxisPort):
    """Drives ``<prefix>_tdata/tvalid`` and watches ``tready``; before each beat it idles
    for as many cycles as ``stalls`` says."""

    def __init__(self, dut, prefix: str, clk, period_ns: int, *, stalls: Stalls):
        super().__init__(dut, prefix, clk, period_ns)
        self.stalls = stalls
        self.cycles: list[int] = []  # handshake cycle of every beat sent
        self.tvalid.value = 0

    async def send(self, beats: list[int]) -> None:
        for beat in beats:
            idle = self.stalls.run()
            if idle:
                self.tvalid.value = 0
                await ClockCycles(self.clk, idle)
            self.tdata.value = beat
            self.tvalid.value = 1
            while True:
                await RisingEdge(self.clk)
                if self.tready.value:  # as the edge sampled it: a handshake
                    break
                await ReadOnly()  # tready after this edge; asleep until it rises
                if not self.tready.value:
                    await RisingEdge(self.tready)
            self.cycles.append(self.cycle())
        self.tvalid.value = 0


class AxisSink(AxisPort):
    """Drives ``<prefix>_tready`` low when ``stalls`` says so (a decision per cycle) and
    collects beats (as Python ints of any width)."""

    def __init__(self, dut, prefix: str, clk, period_ns: int, *, stalls: Stalls):
        super().__init__(dut, prefix, clk, period_ns)
        self.stalls = stalls
        self.pending: bool | None = None  # a decision drawn past the end of the last run
        self.beats: list[int] = []
        self.cycles: list[int] = []
        self.tready.value = 0

    def _run(self) -> tuple[bool, int]:
        """The next run of equal decisions: (stall, cycles)."""
        stall = self.stalls.draw() if self.pending is None else self.pending
        self.pending, n = None, 1
        while n < RUN_CAP:
            d = self.stalls.draw()
            if d != stall:
                self.pending = d
                break
            n += 1
        return stall, n

    async def _ready_for(self, n: int, limit: int | None) -> int:
        """Hold ``tready`` high for the next ``n`` edges, taking the beats that arrive (at
        most ``limit``); return how many arrived."""
        self.tready.value = 1
        end, taken = self.cycle() + n, 0
        while self.cycle() < end and (limit is None or taken < limit):
            await ReadOnly()
            if self.tvalid.value:
                await RisingEdge(self.clk)
                value = self.tdata.value
                if not value.is_resolvable:
                    raise ValueError(f"{self.tdata._name} = {value} (X/Z) at cycle {self.cycle()}")
                self.beats.append(int(value))
                self.cycles.append(self.cycle())
                taken += 1
            else:
                await First(RisingEdge(self.tvalid), ClockCycles(self.clk, end - self.cycle()))
        return taken

    async def receive(self, count: int, max_cycles: int) -> None:
        """Collect ``count`` beats; raise TimeoutError after ``max_cycles`` cycles."""
        start = self.cycle()
        while len(self.beats) < count:
            stall, n = self._run()
            if stall:
                self.tready.value = 0
                await ClockCycles(self.clk, n)
            else:
                await self._ready_for(n, count - len(self.beats))
            if self.cycle() - start > max_cycles:
                raise TimeoutError(f"received {len(self.beats)} of {count} beats in "
                                   f"{max_cycles} cycles")
        self.tready.value = 0

    async def drain(self, cycles: int) -> int:
        """Hold ``tready`` high for ``cycles`` cycles; the number of beats that arrive."""
        extra = await self._ready_for(cycles, None)
        del self.beats[len(self.beats) - extra:], self.cycles[len(self.cycles) - extra:]
        self.tready.value = 0
        return extra
