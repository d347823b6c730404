"""cocotb bench for a board top (:class:`hwgen.hw.board_top.BoardTop`): sends byte strings as
serial bits on ``uart_rx`` and records every byte that comes back on ``uart_tx``.

Configured by the JSON file named in ``HWGEN_BENCH_CONFIG``: ``cycles_per_bit``,
``chunks`` (hex byte strings, each followed by ``gap`` idle bit times), ``answer_bytes``
to wait for and ``max_cycles``; writes ``{"bytes": hex, "cycles": n}`` to its ``result``.
The host side (:mod:`hwgen.flows.link`) decodes the answers and checks them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, First

PERIOD_NS = 10


async def send(dut, chunks: list[dict], bit: int) -> None:
    for chunk in chunks:
        for byte in bytes.fromhex(chunk["data"]):
            for level in [0, *((byte >> k) & 1 for k in range(8)), 1]:
                dut.uart_rx.value = level
                await ClockCycles(dut.clk, bit)
        await ClockCycles(dut.clk, bit * chunk["gap"])


async def receive(dut, got: bytearray, count: int, bit: int) -> None:
    """Bytes from ``uart_tx``, each bit sampled in its middle; a low stop bit fails."""
    while len(got) < count:
        await FallingEdge(dut.uart_tx)
        await ClockCycles(dut.clk, bit + bit // 2)
        byte = 0
        for k in range(8):
            byte |= int(dut.uart_tx.value) << k
            await ClockCycles(dut.clk, bit)
        assert int(dut.uart_tx.value) == 1, f"byte {len(got)}: the stop bit is low"
        got.append(byte)


@cocotb.test()
async def uart_frames(dut):
    cfg = json.loads(Path(os.environ["HWGEN_BENCH_CONFIG"]).read_text())
    bit = cfg["cycles_per_bit"]
    Clock(dut.clk, PERIOD_NS, unit="ns").start()
    dut.uart_rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    got = bytearray()
    cocotb.start_soon(send(dut, cfg["chunks"], bit))
    listening = cocotb.start_soon(receive(dut, got, cfg["answer_bytes"], bit))
    await First(listening, ClockCycles(dut.clk, cfg["max_cycles"]))
    Path(cfg["result"]).write_text(json.dumps({"bytes": got.hex()}))
