"""The "sync" clock domain of a board top from the family's PLL (:mod:`hwgen.targets.pll`):
the oscillator pin in, the PLL's clock out; the domain is held in reset until the PLL locks
and then for :data:`SETTLE_US` more (iCE40 block RAMs read zero for about 3 us after
configuration)."""

from __future__ import annotations

from amaranth import ClockDomain, ClockSignal, Const, Elaboratable, Instance, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.targets.pll import PllSetting

__all__ = ["SETTLE_US", "LockReset", "PllDomain"]

SETTLE_US = 15.0


class PllDomain(Elaboratable):
    """Drive the "sync" domain from ``setting``'s PLL, fed by the board's default clock
    resource, and tell nextpnr its frequency."""

    def __init__(self, setting: PllSetting):
        self.setting = setting

    def elaborate(self, platform) -> Module:
        m = Module()
        s = self.setting
        m.domains.sync = sync = ClockDomain("sync")
        platform.add_clock_constraint(sync.clk, s.f_out_mhz * 1e6)
        locked = Signal()
        params = {f"p_{k}": v for k, v in s.params.items()}
        params |= {f"a_{k}": v for k, v in s.attrs.items()}
        if s.primitive == "SB_PLL40":  # the pad feeds only the PLL: its _PAD form
            pin = platform.request(platform.default_clk, dir="-")
            m.submodules.pll = Instance("SB_PLL40_PAD", **params, io_PACKAGEPIN=pin.io,
                                        i_RESETB=Const(1), i_BYPASS=Const(0),
                                        o_PLLOUTGLOBAL=sync.clk, o_LOCK=locked)
        elif s.primitive == "EHXPLLL":
            clk = platform.request(platform.default_clk).i
            m.submodules.pll = Instance("EHXPLLL", **params, i_CLKI=clk, i_CLKFB=sync.clk,
                                        i_RST=Const(0), i_STDBY=Const(0),
                                        i_PHASESEL0=Const(0), i_PHASESEL1=Const(0),
                                        i_PHASEDIR=Const(0), i_PHASESTEP=Const(0),
                                        i_PHASELOADREG=Const(0), i_PLLWAKESYNC=Const(0),
                                        i_ENCLKOP=Const(0), o_CLKOP=sync.clk, o_LOCK=locked)
        elif s.primitive == "rPLL":
            clk = platform.request(platform.default_clk).i
            m.submodules.pll = Instance("rPLL", **params, i_CLKIN=clk, i_CLKFB=Const(0),
                                        i_RESET=Const(0), i_RESET_P=Const(0),
                                        i_FBDSEL=Const(0, 6), i_IDSEL=Const(0, 6),
                                        i_ODSEL=Const(0, 6), i_PSDA=Const(0, 4),
                                        i_DUTYDA=Const(0, 4), i_FDLY=Const(0, 4),
                                        o_CLKOUT=sync.clk, o_LOCK=locked)
        else:
            raise ValueError(f"no board-top clocking for PLL primitive {s.primitive}")
        m.submodules.hold = hold = LockReset(int(SETTLE_US * s.f_out_mhz))
        m.d.comb += [hold.locked.eq(locked), sync.rst.eq(hold.rst)]
        return m


class LockReset(wiring.Component):
    """``rst`` for the domain a PLL clocks: high while the PLL is not locked and for
    ``settle`` cycles of the "sync" clock after it locks; a lost lock raises it again at
    the next edge. Its counter runs in a domain of its own, reset by the lock, so it does
    not hold itself in reset.

    Members: ``locked`` (In 1), ``rst`` (Out 1, init 1).
    """

    def __init__(self, settle: int):
        self.settle = settle
        super().__init__({"locked": In(1), "rst": Out(1, init=1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.domains.por = por = ClockDomain("por", local=True)
        timer = Signal(range(self.settle + 1))
        ready = Signal()
        m.d.comb += [por.clk.eq(ClockSignal("sync")), por.rst.eq(~self.locked),
                     self.rst.eq(~ready)]
        with m.If(timer == self.settle):
            m.d.por += ready.eq(1)
        with m.Else():
            m.d.por += timer.eq(timer + 1)
        return m
