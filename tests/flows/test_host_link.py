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
    bytes; out: 1 beat of 1 byte (the class), or 3 of 4 bits (two uint2 values each) that
    go on the line as 2 bytes."""
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
    assert len(payloads[0]) == p.input.frame_bytes == 6  # 12 codes of 4 bits
    out_bytes = p.output.frame_bytes
    assert out_bytes == (1 if out == "argmax" else 2)  # the class; 6 codes of 2 bits
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


@pytest.mark.parametrize(("inp", "out"), [
    ((7, 1, 3), (3, 2, 5)),   # 1-bit units in (21 bits: 3 bytes), 2-bit out (30 bits: 4)
    ((3, 4, 3), (5, 1, 3)),   # 4-bit units in (36 bits: 5 bytes), 1-bit out (15 bits: 2)
    ((2, 8, 2), (3, 4, 3)),   # whole bytes in, 4-bit units out (36 bits: 5 bytes)
    ((49, 1, 2), (1, 4, 1)),  # MNIST's beats of 49 pixels (98 bits: 13 bytes), a class
], ids=["1in-2out", "4in-1out", "8in-4out", "mnist"])
def test_codes_cross_the_link_back_to_back_at_every_wire_unit(inp, out):
    """The host link alone, a testbench for the accelerator with random stalls on both of
    its streams: three frames (every code at its maximum, random, random with the host's
    padding bits set) reach the accelerator as exactly the beats ``pack`` makes of their
    codes, and the output frames it sends back reach the host as exactly the bytes
    ``encode_payload`` makes of them, frame after frame."""
    from hwgen.core.packing import StreamPacking, pack
    from hwgen.hw.blocks.host_link import HostLink

    pin, pout = StreamPacking(*inp), StreamPacking(*out)
    rng = np.random.default_rng(sum(inp) * 7 + sum(out))
    n_in, n_out = pin.elems * pin.beats, pout.elems * pout.beats
    codes_in = [np.full(n_in, 2**pin.bits - 1), *rng.integers(0, 2**pin.bits, (2, n_in))]
    codes_out = list(rng.integers(0, 2**pout.bits, (3, n_out)))
    payloads = [link.encode_payload(c, DType.parse(f"uint{pin.bits}"), pin) for c in codes_in]
    pad = pin.frame_bytes * 8 - n_in * pin.bits
    payloads[2] = payloads[2][:-1] + bytes([payloads[2][-1] | (0xff << (8 - pad)) & 0xff])
    want_beats = pack(np.concatenate(codes_in), pin.bits, pin.elems)
    want_answer = b"".join(link.request(link.encode_payload(
        c, DType.parse(f"uint{pout.bits}"), pout), head=link.RESULT) for c in codes_out)
    dut = HostLink(pin, pout, BIT, TIMEOUT)
    beats, answer = [], bytearray()

    async def host(ctx):
        for payload in payloads:
            for bit in serial_bits(link.request(payload)) + [1] * 3:
                ctx.set(dut.rx, bit)
                await ctx.tick().repeat(BIT)

    async def accelerator_in(ctx):
        while True:
            ready = int(rng.random() < 0.6)
            ctx.set(dut.o.ready, ready)
            _, _, valid, data = await ctx.tick().sample(dut.o.valid, dut.o.payload)
            if valid and ready:
                beats.append(data)

    async def accelerator_out(ctx):
        for k, codes in enumerate(codes_out):
            while len(beats) < (k + 1) * pin.beats:  # frame k's answer follows frame k
                await ctx.tick()
            for beat in pack(codes, pout.bits, pout.elems):
                await ctx.tick().repeat(int(rng.integers(0, 3)) + 1)
                ctx.set(dut.i.payload, beat)
                ctx.set(dut.i.valid, 1)
                while not (await ctx.tick().sample(dut.i.ready))[2]:
                    pass
                ctx.set(dut.i.valid, 0)

    async def listen(ctx):  # until the whole answer, or twice the line time of it all
        cycles, limit = 0, 2 * 10 * BIT * (len(want_answer) + 3 * (pin.frame_bytes + 4))
        while len(answer) < len(want_answer) and cycles < limit:
            while ctx.get(dut.tx) and cycles < limit:
                await ctx.tick()
                cycles += 1
            await ctx.tick().repeat(BIT + BIT // 2)
            byte = 0
            for k in range(8):
                byte |= ctx.get(dut.tx) << k
                await ctx.tick().repeat(BIT)
            answer.append(byte)
            cycles += 10 * BIT

    sim = Simulator(dut)
    sim.add_clock(1e-6)
    for bench in (host, accelerator_in, accelerator_out):
        sim.add_testbench(bench, background=True)
    sim.add_testbench(listen)
    sim.run()
    assert beats == want_beats
    assert bytes(answer) == want_answer
