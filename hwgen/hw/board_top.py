"""A board top: the accelerator behind a UART host link, with two status LEDs."""

from __future__ import annotations

from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.core import protocol
from hwgen.hw.blocks.host_link import HostLink
from hwgen.hw.top import Accelerator
from hwgen.ir.plan import Plan

__all__ = ["BoardTop"]


class BoardTop(wiring.Component):
    """The accelerator of ``plan`` fed and read by a :class:`HostLink` at ``baud``
    (``cycles_per_bit`` clock cycles a bit, :func:`hwgen.hw.blocks.uart.bit_cycles`).

    Members: ``uart_rx`` (In 1), ``uart_tx`` (Out 1), ``leds`` (Out 2: a result frame
    toggles ``leds[0]``; ``leds[1]`` lights from an error answer to the next result).
    """

    def __init__(self, plan: Plan, cycles_per_bit: int,
                 timeout_bits: int = protocol.TIMEOUT_BITS):
        self.plan = plan
        self.cycles_per_bit, self.timeout_bits = cycles_per_bit, timeout_bits
        super().__init__({"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1),
                          "leds": Out(2)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.accel = accel = Accelerator(self.plan)
        m.submodules.host = host = HostLink(self.plan.input, self.plan.output,
                                            self.cycles_per_bit, self.timeout_bits)
        m.d.comb += [
            host.rx.eq(self.uart_rx), self.uart_tx.eq(host.tx),
            self.leds.eq(host.frames | host.error << 1),
            accel.s_axis_tdata.eq(host.o.payload), accel.s_axis_tvalid.eq(host.o.valid),
            host.o.ready.eq(accel.s_axis_tready),
            host.i.payload.eq(accel.m_axis_tdata), host.i.valid.eq(accel.m_axis_tvalid),
            accel.m_axis_tready.eq(host.i.ready),
        ]
        return m
