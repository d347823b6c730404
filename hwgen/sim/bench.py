"""cocotb bench for a generated top: streams frames through it, records what comes out.

Configured by the JSON file named in ``HWGEN_BENCH_CONFIG``; writes the beats
and handshake cycles of every phase to the file named in its ``result`` field, and, while
it runs, the phase and the output beats so far to the file named in ``progress``.
The host side (:mod:`hwgen.sim.runner`) compares them with the reference.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles

from hwgen.sim.axis import AxisSink, AxisSource
from hwgen.sim.stalls import Stalls, stream_seed

PERIOD_NS = 10
PROGRESS_CYCLES = 1000  # how often the beats so far are written


def write_progress(path: str | None, phase: int, beats: int) -> None:
    """``PHASE BEATS`` in ``path``, replaced whole (the host reads it while we run)."""
    if path:
        tmp = Path(f"{path}.tmp")
        tmp.write_text(f"{phase} {beats}\n")
        os.replace(tmp, path)


async def report_progress(dut, sink, path: str, phase: int) -> None:
    """Write the output beats received so far every :data:`PROGRESS_CYCLES` cycles."""
    said = -1
    while True:
        await ClockCycles(dut.clk, PROGRESS_CYCLES)
        if len(sink.beats) != said:
            said = len(sink.beats)
            write_progress(path, phase, said)


async def reset(dut) -> None:
    """Three cycles of reset with both streams idle."""
    dut.rst.value = 1
    dut.s_axis_tvalid.value = 0
    dut.m_axis_tready.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0


@cocotb.test()
async def stream_frames(dut):
    """Every phase: reset, send all input beats, collect all output beats; a phase that
    times out is recorded with the beats that did arrive, and ends the run."""
    cfg = json.loads(Path(os.environ["HWGEN_BENCH_CONFIG"]).read_text())
    in_beats = [int(b, 16) for b in cfg["in_beats"]]
    n_out = cfg["out_beats"]
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    results = {}
    for k, phase in enumerate(cfg["phases"]):
        await reset(dut)
        source = AxisSource(dut, "s_axis", dut.clk, PERIOD_NS, stalls=Stalls(
            stream_seed(cfg["seed"], k, "source"), phase["p_in"]))
        sink = AxisSink(dut, "m_axis", dut.clk, PERIOD_NS, stalls=Stalls(
            stream_seed(cfg["seed"], k, "sink"), phase["p_out"]))
        sending = cocotb.start_soon(source.send(in_beats))
        reporting = cocotb.start_soon(report_progress(dut, sink, cfg.get("progress"), k)) \
            if cfg.get("progress") else None
        try:
            await sink.receive(n_out, cfg["max_cycles"])
        except TimeoutError as err:  # keep what arrived: the checker names what is missing
            results["error"] = f"phase {phase['name']}: {err}"
        else:
            await sending
        if reporting is not None:
            reporting.cancel()
        write_progress(cfg.get("progress"), k, len(sink.beats))
        extra = 0 if "error" in results else await sink.drain(cfg["drain"])
        results[phase["name"]] = {
            "out_beats": [format(b, "x") for b in sink.beats],
            "in_cycles": source.cycles,
            "out_cycles": sink.cycles,
            "extra": extra,
        }
        if "error" in results:
            break
    Path(cfg["result"]).write_text(json.dumps(results))
