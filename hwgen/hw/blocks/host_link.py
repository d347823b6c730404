"""The host link of a board top: frames from a UART into the accelerator's input stream,
its results back out, in the framed protocol of :mod:`hwgen.flows.link`.

Only whole, well-formed frames reach the accelerator: a frame's bytes wait in a buffer
(byte-wide, so block RAM holds it) until its last byte has arrived, and a malformed or
truncated frame is dropped from the buffer, answered with an error, and the link waits
for the line to go quiet before it looks for the next start byte.
"""

from __future__ import annotations

from amaranth import Module, Mux, Signal
from amaranth.lib import stream, wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen.core import protocol
from hwgen.core.packing import StreamPacking
from hwgen.hw.blocks.uart import UartRx, UartTx

__all__ = ["FrameBuffer", "HostLink"]


class FrameBuffer(wiring.Component):
    """A FIFO of ``depth`` beats whose writes become readable only on ``commit``;
    ``rollback`` forgets the beats written since the last commit.

    Members: ``i`` (In stream), ``o`` (Out stream), ``commit``, ``rollback`` (In 1).
    """

    def __init__(self, width: int, depth: int):
        self.width, self.depth = width, depth
        super().__init__({"i": In(stream.Signature(width)), "o": Out(stream.Signature(width)),
                          "commit": In(1), "rollback": In(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.mem = mem = Memory(shape=self.width, depth=self.depth, init=[])
        w = mem.write_port()
        r = mem.read_port(transparent_for=(w,))
        wp, cp, rp = (Signal(range(self.depth), name=n) for n in ("wp", "cp", "rp"))
        held = Signal(range(self.depth + 1))  # beats written and not yet read (any state)
        ready = Signal(range(self.depth + 1))  # committed beats not yet read

        def succ(p):
            return Mux(p == self.depth - 1, 0, p + 1)

        take_in = self.i.valid & self.i.ready
        take_out = self.o.valid & self.o.ready
        m.d.comb += [self.i.ready.eq(held != self.depth), w.addr.eq(wp),
                     w.data.eq(self.i.payload), w.en.eq(take_in)]
        # the read port runs one beat ahead: o.payload is the word at rp
        m.d.comb += [r.addr.eq(Mux(take_out, succ(rp), rp)), self.o.payload.eq(r.data),
                     self.o.valid.eq(ready != 0)]
        with m.If(take_out):
            m.d.sync += rp.eq(succ(rp))
        # held - ready: the beats written since the last commit
        with m.If(self.rollback):
            m.d.sync += [wp.eq(cp), held.eq(ready - take_out)]
        with m.Else():
            with m.If(take_in):
                m.d.sync += wp.eq(succ(wp))
            m.d.sync += held.eq(held + take_in - take_out)
            with m.If(self.commit):
                m.d.sync += cp.eq(Mux(take_in, succ(wp), wp))
        with m.If(self.commit & ~self.rollback):
            m.d.sync += ready.eq(held + take_in - take_out)
        with m.Else():
            m.d.sync += ready.eq(ready - take_out)
        return m


class HostLink(wiring.Component):
    """UART pins to and from the accelerator's streams.

    Receives ``START, length (2 bytes, little-endian), payload`` where the payload is one
    input frame's beats, each ``tdata_bits / 8`` bytes little-endian; answers each frame
    with ``RESULT, length, payload`` of its output beats, or a malformed one with
    ``ERROR, code`` (:mod:`hwgen.flows.link`). ``timeout`` is in bit times: a frame that stops
    for that long is dropped, and after an error, bytes are ignored until the line has
    been quiet that long.

    Members: ``rx`` (In 1), ``tx`` (Out 1), ``o`` (Out stream, to the accelerator input),
    ``i`` (In stream, from its output), ``frames`` (Out 1, toggles per result sent),
    ``error`` (Out 1, high from an error to the next result).
    """

    def __init__(self, input_packing: StreamPacking, output_packing: StreamPacking,
                 cycles_per_bit: int, timeout: int = protocol.TIMEOUT_BITS):
        self.inp, self.out = input_packing, output_packing
        self.cycles_per_bit = cycles_per_bit
        self.timeout_cycles = timeout * cycles_per_bit
        super().__init__({
            "rx": In(1, init=1), "tx": Out(1, init=1),
            "o": Out(stream.Signature(input_packing.tdata_bits)),
            "i": In(stream.Signature(output_packing.tdata_bits)),
            "frames": Out(1), "error": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        idle_bits = (self.timeout_cycles + 1).bit_length()
        m.submodules.rx = rx = UartRx(self.cycles_per_bit, idle_bits)
        m.submodules.tx = tx = UartTx(self.cycles_per_bit)
        m.submodules.buffer = buf = FrameBuffer(8, self.inp.frame_bytes)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]
        self._assemble(m, buf, self.inp.beat_bytes)
        error_code = Signal(8)
        error_pending = Signal()
        # the receiver comes second: an error it raises wins over the responder clearing
        # the one it has just sent
        self._respond(m, tx, error_code, error_pending)
        self._receive(m, rx, buf, error_code, error_pending)
        return m

    def _assemble(self, m, buf, in_bytes: int) -> None:
        """Committed bytes from the buffer into beats for the accelerator: each byte
        shifts in from the top, so the first byte of a beat ends in its lowest bits."""
        beat = Signal(self.inp.tdata_bits)
        got = Signal(range(in_bytes + 1))
        full = got == in_bytes
        m.d.comb += [self.o.payload.eq(beat), self.o.valid.eq(full), buf.o.ready.eq(~full)]
        with m.If(buf.o.valid & ~full):
            m.d.sync += [beat.eq(buf.o.payload << (len(beat) - 8) | beat >> 8),
                         got.eq(got + 1)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += got.eq(0)

    def _receive(self, m, rx, buf, error_code, error_pending) -> None:
        frame_bytes = self.inp.frame_bytes
        length, second = Signal(8), Signal()  # the length's first byte; it has come
        count = Signal(range(frame_bytes + 1))
        timed_out = rx.idle >= self.timeout_cycles
        byte = rx.o.payload

        def fail(code: int):
            m.d.sync += [error_code.eq(code), error_pending.eq(1)]
            m.d.comb += buf.rollback.eq(1)
            m.next = "DRAIN"

        m.d.comb += buf.i.payload.eq(byte)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(rx.o.valid):
                    with m.If(byte == protocol.START):
                        m.d.sync += second.eq(0)
                        m.next = "LENGTH"
                    with m.Else():
                        fail(protocol.BAD_START)
                with m.Elif(rx.frame_error):
                    fail(protocol.BAD_START)
            with m.State("LENGTH"):  # two bytes, little-endian
                with m.If(rx.o.valid):
                    m.d.sync += [length.eq(byte), second.eq(1), count.eq(0)]
                    with m.If(second):
                        with m.If((byte == frame_bytes >> 8)
                                  & (length == frame_bytes & 0xff)):
                            m.next = "PAYLOAD"
                        with m.Else():
                            fail(protocol.BAD_LENGTH)
                with m.Elif(timed_out | rx.frame_error):
                    fail(protocol.TIMEOUT)
            with m.State("PAYLOAD"):
                with m.If(rx.o.valid):
                    m.d.sync += count.eq(count + 1)
                    with m.If(buf.i.ready):
                        m.d.comb += buf.i.valid.eq(1)
                        with m.If(count == frame_bytes - 1):
                            m.d.comb += buf.commit.eq(1)
                            m.next = "IDLE"
                    with m.Else():
                        fail(protocol.OVERRUN)
                with m.Elif(timed_out | rx.frame_error):
                    fail(protocol.TIMEOUT)
            with m.State("DRAIN"):
                with m.If(timed_out):
                    m.next = "IDLE"

    def _respond(self, m, tx, error_code, error_pending) -> None:
        out_bytes, frame_bytes = self.out.beat_bytes, self.out.frame_bytes
        header = [protocol.RESULT, frame_bytes & 0xff, frame_bytes >> 8]
        step = Signal(range(3))
        shift = Signal(self.out.tdata_bits)  # the beat being sent, lowest byte next
        left = Signal(range(out_bytes + 1))  # its bytes not yet sent
        beats = Signal(range(self.out.beats + 1))  # beats of the frame taken
        with m.FSM():
            with m.State("IDLE"):
                with m.If(error_pending):
                    m.d.comb += [tx.i.payload.eq(protocol.ERROR), tx.i.valid.eq(1)]
                    with m.If(tx.i.ready):
                        m.d.sync += self.error.eq(1)
                        m.next = "CODE"
                with m.Elif(self.i.valid):
                    m.d.sync += [step.eq(0), beats.eq(0), left.eq(0)]
                    m.next = "HEADER"
            with m.State("CODE"):
                m.d.comb += [tx.i.payload.eq(error_code), tx.i.valid.eq(1)]
                with m.If(tx.i.ready):
                    m.d.sync += error_pending.eq(0)
                    m.next = "IDLE"
            with m.State("HEADER"):
                m.d.comb += [tx.i.payload.eq(Mux(step == 0, header[0],
                                                 Mux(step == 1, header[1], header[2]))),
                             tx.i.valid.eq(1)]
                with m.If(tx.i.ready):
                    m.d.sync += step.eq(step + 1)
                    with m.If(step == 2):
                        m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                with m.If(left == 0):
                    m.d.comb += self.i.ready.eq(1)
                    with m.If(self.i.valid):
                        m.d.sync += [shift.eq(self.i.payload), left.eq(out_bytes),
                                     beats.eq(beats + 1)]
                with m.Else():
                    m.d.comb += [tx.i.payload.eq(shift[:8]), tx.i.valid.eq(1)]
                    with m.If(tx.i.ready):
                        m.d.sync += [shift.eq(shift >> 8), left.eq(left - 1)]
                        with m.If((left == 1) & (beats == self.out.beats)):
                            m.d.sync += [self.frames.eq(~self.frames), self.error.eq(0)]
                            m.next = "IDLE"
