"""PLL settings: the fastest clock at or below a target that a family's PLL makes from its
board's oscillator, with the primitive's parameters. Each family's PLL is a table of
divider ranges and frequency limits from its datasheet (the same limits ``icepll`` and
``ecppll`` use); :func:`solve` searches it exhaustively, so the answer is the best there
is, not the first found."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["DEVICES", "PLL_OF", "PllSetting", "solve"]


@dataclass(frozen=True)
class PllSetting:
    """One PLL configuration: ``primitive`` with its ``params`` (Verilog parameters) and
    ``attrs`` (synthesis attributes), ``f_in_mhz`` in, ``f_out_mhz`` out."""

    primitive: str
    f_in_mhz: float
    f_out_mhz: float
    params: dict[str, int | str]
    attrs: dict[str, str]

    def describe(self) -> str:
        knobs = ", ".join(f"{k} {v}" for k, v in self.params.items() if isinstance(v, int))
        return f"{self.primitive} {self.f_in_mhz:g} -> {self.f_out_mhz:.4g} MHz ({knobs})"


def _ice40(f_in: float) -> Iterator[PllSetting]:
    """SB_PLL40 in SIMPLE feedback (iCE40 sysCLOCK PLL guide, FPGA-TN-02052): PFD 10-133
    MHz, VCO 533-1066 MHz, output 16-275 MHz; the loop filter range follows the PFD."""
    for divr in range(16):
        pfd = f_in / (divr + 1)
        if not 10 <= pfd <= 133:
            continue
        filt = next(k for k, top in enumerate((17, 26, 44, 66, 101, 1e9), 1) if pfd < top)
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533 <= vco <= 1066:
                continue
            for divq in range(1, 7):
                out = vco / 2 ** divq
                if 16 <= out <= 275:
                    yield PllSetting("SB_PLL40", f_in, out,
                                     {"FEEDBACK_PATH": "SIMPLE", "DIVR": divr, "DIVF": divf,
                                      "DIVQ": divq, "FILTER_RANGE": filt}, {})


def _ecp5(f_in: float) -> Iterator[PllSetting]:
    """EHXPLLL fed back from CLKOP (ECP5 sysCLOCK guide, FPGA-TN-02200): PFD 3.125-400
    MHz, VCO 400-800 MHz, output 3.125-400 MHz."""
    for clki in range(1, 129):
        pfd = f_in / clki
        if not 3.125 <= pfd <= 400:
            continue
        for clkfb in range(1, 81):
            out = pfd * clkfb
            if not 3.125 <= out <= 400:
                continue
            for clkop in range(1, 129):
                if 400 <= out * clkop <= 800:
                    yield PllSetting(
                        "EHXPLLL", f_in, out,
                        {"PLLRST_ENA": "DISABLED", "INTFB_WAKE": "DISABLED",
                         "STDBY_ENABLE": "DISABLED", "DPHASE_SOURCE": "DISABLED",
                         "OUTDIVIDER_MUXA": "DIVA", "CLKOP_ENABLE": "ENABLED",
                         "FEEDBK_PATH": "CLKOP", "CLKI_DIV": clki, "CLKFB_DIV": clkfb,
                         "CLKOP_DIV": clkop, "CLKOP_CPHASE": clkop - 1, "CLKOP_FPHASE": 0},
                        {"ICP_CURRENT": "12", "LPF_RESISTOR": "8",
                         "MFG_ENABLE_FILTEROPAMP": "1", "MFG_GMCREF_SEL": "2"})
                    break  # the VCO's value does not change the output: one divider is enough


def _gowin(f_in: float) -> Iterator[PllSetting]:
    """rPLL of the GW1NR-9 (Gowin UG286): PFD 3-400 MHz, VCO 400-1200 MHz, output
    3.125-600 MHz, ODIV one of eleven values."""
    for idiv in range(64):
        pfd = f_in / (idiv + 1)
        if not 3 <= pfd <= 400:
            continue
        for fbdiv in range(64):
            out = pfd * (fbdiv + 1)
            if not 3.125 <= out <= 600:
                continue
            for odiv in (2, 4, 8, 16, 32, 48, 64, 80, 96, 112, 128):
                if 400 <= out * odiv <= 1200:
                    yield PllSetting(
                        "rPLL", f_in, out,
                        {"FCLKIN": f"{f_in:g}", "DEVICE": "GW1NR-9C", "IDIV_SEL": idiv,
                         "FBDIV_SEL": fbdiv, "ODIV_SEL": odiv, "DYN_IDIV_SEL": "false",
                         "DYN_FBDIV_SEL": "false", "DYN_ODIV_SEL": "false",
                         "CLKFB_SEL": "internal", "CLKOUT_BYPASS": "false",
                         "CLKOUTP_BYPASS": "false", "CLKOUTD_BYPASS": "false",
                         "DYN_SDIV_SEL": 2, "CLKOUTD_SRC": "CLKOUT", "CLKOUTD3_SRC": "CLKOUT",
                         "PSDA_SEL": "0000", "DYN_DA_EN": "false", "DUTYDA_SEL": "1000"},
                        {})
                    break


# family: every setting its PLL can take from an oscillator
PLL_OF = {"ice40": _ice40, "ecp5": _ecp5, "gowin": _gowin}
# family: the device its table holds for and that device's part-name prefixes, where
# devices differ: the rPLL's ranges and DEVICE parameter are the GW1NR-9's (the Tang Nano
# 9K, GW1NR-LV9...), not the GW2A's
DEVICES = {"gowin": ("GW1NR-9", ("GW1NR-9", "GW1NR-LV9", "GW1NR-UV9"))}


def solve(family: str, f_in_mhz: float, target_mhz: float,
          device: str | None = None) -> PllSetting:
    """The setting of ``family``'s PLL (on ``device``, when given) whose output is the
    highest at or below ``target_mhz`` from ``f_in_mhz``; ValueError, in one line, when
    there is none."""
    if family not in PLL_OF:
        raise ValueError(f"no PLL for family {family!r}; hwgen has one for "
                         f"{', '.join(PLL_OF)}")
    if device is not None and family in DEVICES:
        name, prefixes = DEVICES[family]
        if not device.startswith(prefixes):
            raise ValueError(f"no {family} PLL table for {device}; hwgen has the {name}'s")
    settings = [s for s in PLL_OF[family](f_in_mhz) if s.f_out_mhz <= target_mhz + 1e-9]
    if not settings:
        lowest = min((s.f_out_mhz for s in PLL_OF[family](f_in_mhz)), default=None)
        raise ValueError(f"the {family} PLL cannot make {target_mhz:g} MHz or less from "
                         f"{f_in_mhz:g} MHz" + (f"; its lowest is {lowest:.4g} MHz"
                                                if lowest else ""))
    return max(settings, key=lambda s: s.f_out_mhz)
