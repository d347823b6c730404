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
    input frame's codes back to back, least significant bit first, the last byte padded
    with zeros (:attr:`StreamPacking.frame_bytes`); answers each frame with ``RESULT,
    length, payload`` of its output codes the same way, or a malformed one with
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
        self._assemble(m, buf)
        error_code = Signal(8)
        error_pending = Signal()
        # the receiver comes second: an error it raises wins over the responder clearing
        # the one it has just sent
        self._respond(m, tx, error_code, error_pending)
        self._receive(m, rx, buf, error_code, error_pending)
        return m

    def _assemble(self, m, buf) -> None:
        """Committed bytes from the buffer into beats for the accelerator, ``wire_unit``
        bits a cycle: each unit shifts into a beat from the top, so a beat's first code ends
        in its lowest bits. The frame's last byte's padding is dropped after its last
        beat."""
        g, bits, beats = self.inp.wire_unit, self.inp.payload_bits, self.inp.beats
        beat = Signal(bits)
        got = Signal(range(bits // g + 1))  # units in the beat
        byte = Signal(8)  # the byte being taken apart, next unit lowest
        left = Signal(range(8 // g + 1))  # its units not yet moved
        sent = Signal(range(beats))  # beats of the frame taken
        full = got == bits // g
        m.d.comb += [self.o.payload.eq(beat), self.o.valid.eq(full),
                     buf.o.ready.eq((left == 0) & ~full)]
        with m.If(buf.o.valid & buf.o.ready):
            m.d.sync += [byte.eq(buf.o.payload), left.eq(8 // g)]
        with m.Elif((left != 0) & ~full):
            m.d.sync += [beat.eq(byte[:g] << (bits - g) | beat >> g), byte.eq(byte >> g),
                         left.eq(left - 1), got.eq(got + 1)]
        with m.If(self.o.valid & self.o.ready):
            m.d.sync += [got.eq(0), sent.eq(Mux(sent == beats - 1, 0, sent + 1))]
            with m.If(sent == beats - 1):
                m.d.sync += left.eq(0)

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
        """Errors, and each output frame as ``RESULT``, length, its codes back to back:
        ``wire_unit`` bits a cycle from the beat into a byte, zeros after the last code
        until the byte is whole."""
        g, bits, frame_bytes = self.out.wire_unit, self.out.payload_bits, self.out.frame_bytes
        header = [protocol.RESULT, frame_bytes & 0xff, frame_bytes >> 8]
        step = Signal(range(3))
        shift = Signal(bits)  # the beat being sent, next unit lowest
        left = Signal(range(bits // g + 1))  # its units not yet moved
        byte = Signal(8)  # units shift in from the top
        have = Signal(range(8 // g + 1))  # units in the byte
        beats = Signal(range(self.out.beats + 1))  # beats of the frame taken
        done = (beats == self.out.beats) & (left == 0)  # every code of the frame moved
        with m.FSM():
            with m.State("IDLE"):
                with m.If(error_pending):
                    m.d.comb += [tx.i.payload.eq(protocol.ERROR), tx.i.valid.eq(1)]
                    with m.If(tx.i.ready):
                        m.d.sync += self.error.eq(1)
                        m.next = "CODE"
                with m.Elif(self.i.valid):
                    m.d.sync += [step.eq(0), beats.eq(0), left.eq(0), have.eq(0)]
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
                with m.If(have == 8 // g):
                    m.d.comb += [tx.i.payload.eq(byte), tx.i.valid.eq(1)]
                    with m.If(tx.i.ready):
                        m.d.sync += have.eq(0)
                        with m.If(done):
                            m.d.sync += [self.frames.eq(~self.frames), self.error.eq(0)]
                            m.next = "IDLE"
                with m.Elif((left != 0) | done):  # a unit of the beat, or (shift has
                    # been shifted empty by then) padding
                    m.d.sync += [byte.eq(shift[:g] << (8 - g) | byte >> g),
                                 shift.eq(shift >> g), have.eq(have + 1)]
                    with m.If(~done):
                        m.d.sync += left.eq(left - 1)
                with m.Else():
                    m.d.comb += self.i.ready.eq(1)
                    with m.If(self.i.valid):
                        m.d.sync += [shift.eq(self.i.payload), left.eq(bits // g),
                                     beats.eq(beats + 1)]
