"""UART receiver and transmitter: 8 data bits, no parity, one stop bit, least significant
bit first; the line idles high. The bit time is a whole number of clock cycles."""

from __future__ import annotations

from amaranth import Module, Signal
from amaranth.lib import cdc, stream, wiring
from amaranth.lib.wiring import In, Out

__all__ = ["UartRx", "UartTx", "bit_cycles"]


def bit_cycles(clk_hz: float, baud: int) -> int:
    """Clock cycles per bit for ``baud`` at ``clk_hz``; refused where the rounding would
    put the last sample of a frame more than a quarter bit from the sender's."""
    if baud < 1:
        raise ValueError(f"baud must be positive, got {baud}")
    cycles = round(clk_hz / baud)
    if cycles < 4:
        raise ValueError(f"baud {baud:,} is too fast for a {clk_hz / 1e6:g} MHz clock: a bit "
                         f"needs at least 4 clock cycles (baud <= {int(clk_hz // 4):,})")
    if abs(cycles * baud / clk_hz - 1) * 9.5 > 0.25:
        raise ValueError(f"baud {baud:,} is {abs(cycles * baud / clk_hz - 1):.1%} off at "
                         f"{clk_hz / 1e6:g} MHz ({cycles} cycles a bit): more than a 9.5-bit "
                         "frame tolerates; pick a baud rate that divides the clock better")
    return cycles


class UartRx(wiring.Component):
    """Samples ``rx`` (synchronized here) in the middle of each bit. A byte is offered on
    ``o`` for one cycle when its stop bit is high (a UART cannot wait: ``o`` is always
    ready); a low stop bit pulses ``frame_error`` instead. ``idle`` counts the clock cycles
    the line has been high with no byte in progress (saturating), for timeouts.

    Members: ``rx`` (In 1), ``o`` (Out stream of 8 bits, always ready),
    ``frame_error`` (Out 1), ``idle`` (Out, ``idle_bits`` bits).
    """

    def __init__(self, cycles: int, idle_bits: int = 16):
        self.cycles = cycles
        super().__init__({"rx": In(1, init=1),
                          "o": Out(stream.Signature(8, always_ready=True)),
                          "frame_error": Out(1), "idle": Out(idle_bits)})

    def elaborate(self, platform) -> Module:
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync = cdc.FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.cycles + self.cycles // 2 + 1))
        bit = Signal(range(9))
        shift = Signal(8)
        m.d.sync += [self.o.valid.eq(0), self.frame_error.eq(0)]
        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += [timer.eq(self.cycles // 2 - 1), self.idle.eq(0)]
                    m.next = "START"
                with m.Elif(self.idle != (1 << len(self.idle)) - 1):
                    m.d.sync += self.idle.eq(self.idle + 1)
            with m.State("START"):  # a glitch shorter than half a bit is not a start bit
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.cycles - 1), bit.eq(0)]
                    m.next = "IDLE"
                    with m.If(~rx):
                        m.next = "DATA"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [timer.eq(self.cycles - 1), shift.eq(shift >> 1 | rx << 7),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer == 0):
                    m.d.sync += [self.o.payload.eq(shift), self.o.valid.eq(rx),
                                 self.frame_error.eq(~rx)]
                    m.next = "IDLE"
        return m


class UartTx(wiring.Component):
    """Sends each byte taken from ``i`` as a start bit, 8 data bits and a stop bit;
    ``i.ready`` is high while the line is idle.

    Members: ``i`` (In stream of 8 bits), ``tx`` (Out 1).
    """

    def __init__(self, cycles: int):
        self.cycles = cycles
        super().__init__({"i": In(stream.Signature(8)), "tx": Out(1, init=1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        timer = Signal(range(self.cycles))
        shift = Signal(10, init=(1 << 10) - 1)  # stop bit, data, start bit: sent from bit 0
        left = Signal(range(11))
        m.d.comb += [self.i.ready.eq(left == 0), self.tx.eq(shift[0])]
        with m.If(left == 0):
            with m.If(self.i.valid):
                m.d.sync += [shift.eq(1 << 9 | self.i.payload << 1), left.eq(10),
                             timer.eq(self.cycles - 1)]
        with m.Elif(timer == 0):
            m.d.sync += [shift.eq(shift >> 1 | 1 << 9), left.eq(left - 1),
                         timer.eq(self.cycles - 1)]
        with m.Else():
            m.d.sync += timer.eq(timer - 1)
        return m
