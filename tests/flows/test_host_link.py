"""The board top's host link in the Amaranth simulator: frames sent as serial bits on the
UART pin come back as results equal to the reference; malformed frames get the error
answer and the link takes the next good frame."""

from __future__ import annotations

import numpy as np
import pytest
from amaranth.sim import Simulator

from hwgen import ir, ops, reference
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.flows import link
from hwgen.hw.blocks.uart import UartRx, UartTx, bit_cycles
from hwgen.hw.board_top import BoardTop
from hwgen.ops.samples import draw

BIT = 4  # clock cycles per bit: the fastest the receiver allows
TIMEOUT = 24  # bit times


def small_graph(out: str = "argmax") -> ir.Graph:
    """uint4[12] -> dense 6 (int2, 2-bit thresholds) [-> argmax]: 3 input beats of 2
    bytes; out: 1 beat of 1 byte (the class), or 3 of 1 byte (two uint2 values each)."""
    rng = np.random.default_rng(3)
    act = ir.Threshold("uint2", np.sort(rng.integers(-20, 20, (6, 3)), axis=1))
    layers: list[ir.Layer] = [ops.Dense("fc", weight_dtype="int2",
                                       weights=draw("int2", (6, 12), rng), pe=2, simd=4,
                                       activation=act)]
    if out == "argmax":
        layers.append(ops.ArgMax("top"))
    return ir.Graph("link", ir.Tensor((12,), DType.parse("uint4")), layers)


def serial_bits(data: bytes) -> list[int]:
    return [b for byte in data for b in [0, *((byte >> k) & 1 for k in range(8)), 1]]


def run_link(graph: ir.Graph, lines: list[tuple[bytes, int]], answer_bytes: int,
             max_cycles: int = 60_000) -> bytes:
    """Drive the board top's rx with each chunk of bytes, then ``gap`` idle bit times;
    return every byte it sends on tx (up to ``answer_bytes``)."""
    dut = BoardTop(plan(graph), BIT, TIMEOUT)
    got = bytearray()

    async def host(ctx):
        for data, gap in lines:
            for bit in serial_bits(data) + [1] * gap:
                ctx.set(dut.uart_rx, bit)
                await ctx.tick().repeat(BIT)

    async def listen(ctx):
        cycles = 0
        while len(got) < answer_bytes and cycles < max_cycles:
            # a start bit: sample each bit in its middle
            while ctx.get(dut.uart_tx) and cycles < max_cycles:
                await ctx.tick()
                cycles += 1
            await ctx.tick().repeat(BIT + BIT // 2)
            byte = 0
            for k in range(8):
                byte |= ctx.get(dut.uart_tx) << k
                await ctx.tick().repeat(BIT)
            assert ctx.get(dut.uart_tx) == 1, "stop bit"
            got.append(byte)
            cycles += 10 * BIT

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(host, background=True)
    sim.add_testbench(listen)
    sim.run()
    return bytes(got)


@pytest.mark.parametrize("out", ["argmax", "dense"])
def test_frames_over_the_uart_equal_the_reference_and_errors_recover(out):
    graph = small_graph(out)
    p = plan(graph)
    rng = np.random.default_rng(7)
    frames = draw("uint4", (3, 12), rng)
    frames[0] = 15
    expected = reference.run(graph, frames)
    payloads = [link.encode_payload(f, graph.input.dtype, p.input) for f in frames]
    good = [link.request(pl) for pl in payloads]
    assert len(payloads[0]) == p.input.beats * p.input.tdata_bits // 8 == 6
    out_bytes = p.output.beats * p.output.tdata_bits // 8
    lines = [
        (good[0], 40),                                  # a frame
        (b"\x13" + good[1], TIMEOUT + 8),               # garbage first: error, then drained
        (good[1], 40),
        (link.request(payloads[2][:-1]), TIMEOUT + 8),  # wrong length
        (good[2][:-2], TIMEOUT + 8),                    # stops before its last bytes
        (good[2], 40),
    ]
    answer = 3 * (3 + out_bytes) + 3 * 2
    got = run_link(graph, lines, answer)
    stream = iter(got)

    def read(n):
        return bytes(next(stream) for _ in range(n))

    results, errors = [], []
    for _ in range(6):
        try:
            payload = link.read_response(read, out_bytes)
            results.append(link.decode_payload(payload, graph.output.dtype, p.output))
        except link.LinkError as err:
            errors.append(str(err))
    assert len(results) == 3
    np.testing.assert_array_equal(np.stack(results).reshape(expected.shape), expected)
    assert errors == [f"the board refused the frame: {link.ERROR_NAMES[c]}"
                      for c in (link.BAD_START, link.BAD_LENGTH, link.TIMEOUT)]


def test_uart_loopback_at_every_byte_value():
    """The transmitter's bits, fed to the receiver, give back every byte 0..255 in order."""
    from amaranth import Module
    m = Module()
    m.submodules.tx = tx = UartTx(5)
    m.submodules.rx = rx = UartRx(5)
    m.d.comb += rx.rx.eq(tx.tx)
    got = []

    async def send(ctx):
        for value in range(256):
            ctx.set(tx.i.payload, value)
            ctx.set(tx.i.valid, 1)
            await ctx.tick().until(tx.i.ready)
            await ctx.tick()
        ctx.set(tx.i.valid, 0)

    async def receive(ctx):
        async for _, _, valid, data, err in ctx.tick().sample(rx.o.valid, rx.o.payload,
                                                               rx.frame_error):
            assert not err
            if valid:
                got.append(data)
            if len(got) == 256:
                return

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(send, background=True)
    sim.add_testbench(receive)
    sim.run()
    assert got == list(range(256))


@pytest.mark.parametrize(("clk_hz", "baud", "message"), [
    (12e6, 4_000_000, "needs at least 4 clock cycles"),
    (1e6, 115_200, "off at 1 MHz"),
])
def test_baud_rates_the_clock_cannot_make_are_refused(clk_hz, baud, message):
    with pytest.raises(ValueError, match=message):
        bit_cycles(clk_hz, baud)
    assert bit_cycles(12e6, 115_200) == 104


def test_a_frame_sent_before_the_last_was_taken_is_refused_whole():
    """With the accelerator stalled, a second frame finds the buffer full: the link answers
    OVERRUN, drops that frame whole, and the first frame's beats come out intact."""
    from hwgen.hw.blocks.host_link import HostLink

    p = plan(small_graph())
    dut = HostLink(p.input, p.output, BIT, TIMEOUT)
    frames = [bytes(range(k, k + 6)) for k in (1, 100)]
    beats, answer = [], bytearray()

    async def host(ctx):
        for data in frames:
            for bit in serial_bits(link.request(data)):
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(BIT)
        await ctx.tick().repeat(BIT * (TIMEOUT + 30))
        ctx.set(dut.o.ready, 1)  # the accelerator wakes up
        for _ in range(40):
            _, _, valid, data = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid:
                beats.append(data)

    async def listen(ctx):
        while len(answer) < 2:
            while ctx.get(dut.tx):
                await ctx.tick()
            await ctx.tick().repeat(BIT + BIT // 2)
            byte = 0
            for k in range(8):
                byte |= ctx.get(dut.tx) << k
                await ctx.tick().repeat(BIT)
            answer.append(byte)

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    sim.add_testbench(listen, background=True)
    sim.add_testbench(host)
    sim.run()
    assert bytes(answer) == bytes([link.ERROR, link.OVERRUN])
    assert beats == [int.from_bytes(frames[0][k:k + 2], "little") for k in (0, 2, 4)]
