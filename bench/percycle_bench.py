"""The cocotb bench as hwgen had it before the event-driven one: Python wakes on every clock
cycle on both stream sides. Kept only as the baseline bench/sim_speed.py measures
against; same config and record as hwgen.sim.bench."""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.simtime import get_sim_time
from cocotb.triggers import RisingEdge

from hwgen.sim.bench import reset

PERIOD_NS = 10


def _cycle() -> int:
    return int(get_sim_time(unit="ns") // PERIOD_NS)


async def _send(dut, beats: list[int], rng: random.Random, p_idle: float, cycles: list[int]):
    for beat in beats:
        while rng.random() < p_idle:
            dut.s_axis_tvalid.value = 0
            await RisingEdge(dut.clk)
        dut.s_axis_tdata.value = beat
        dut.s_axis_tvalid.value = 1
        await RisingEdge(dut.clk)
        while not dut.s_axis_tready.value:
            await RisingEdge(dut.clk)
        cycles.append(_cycle())
    dut.s_axis_tvalid.value = 0


async def _receive(dut, count: int, rng: random.Random, p_stall: float, beats: list[int],
                   cycles: list[int]) -> None:
    while len(beats) < count:
        ready = rng.random() >= p_stall
        dut.m_axis_tready.value = int(ready)
        await RisingEdge(dut.clk)
        if ready and dut.m_axis_tvalid.value:
            beats.append(int(dut.m_axis_tdata.value))
            cycles.append(_cycle())
    dut.m_axis_tready.value = 0


@cocotb.test()
async def stream_frames(dut):
    cfg = json.loads(Path(os.environ["HWGEN_BENCH_CONFIG"]).read_text())
    in_beats = [int(b, 16) for b in cfg["in_beats"]]
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    results = {}
    for k, phase in enumerate(cfg["phases"]):
        await reset(dut)
        rng = random.Random(cfg["seed"] * 1000 + k)
        in_cycles, out_beats, out_cycles = [], [], []
        sending = cocotb.start_soon(_send(dut, in_beats, rng, phase["p_in"], in_cycles))
        await _receive(dut, cfg["out_beats"], rng, phase["p_out"], out_beats, out_cycles)
        await sending
        results[phase["name"]] = {"out_beats": [format(b, "x") for b in out_beats],
                                  "in_cycles": in_cycles, "out_cycles": out_cycles, "extra": 0}
    Path(cfg["result"]).write_text(json.dumps(results))
