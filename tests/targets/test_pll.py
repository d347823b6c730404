"""The PLL solver: the fastest clock at or below a target, from parameters that keep every
frequency inside the datasheet's ranges; checked against icepll's and ecppll's published
settings and by recomputing each output from its dividers."""

import pytest

from hwgen.targets.pll import PLL_OF, solve


def out_mhz(s) -> float:
    """The output frequency, recomputed from the primitive's dividers (datasheet formulas)."""
    p = s.params
    if s.primitive == "SB_PLL40":
        return s.f_in_mhz * (p["DIVF"] + 1) / (p["DIVR"] + 1) / 2 ** p["DIVQ"]
    if s.primitive == "EHXPLLL":
        return s.f_in_mhz * p["CLKFB_DIV"] / p["CLKI_DIV"]
    return s.f_in_mhz * (p["FBDIV_SEL"] + 1) / (p["IDIV_SEL"] + 1)


def vco_mhz(s) -> float:
    p = s.params
    return {"SB_PLL40": lambda: out_mhz(s) * 2 ** p["DIVQ"],
            "EHXPLLL": lambda: out_mhz(s) * p["CLKOP_DIV"],
            "rPLL": lambda: out_mhz(s) * p["ODIV_SEL"]}[s.primitive]()


# (family, oscillator, target, output): icepll -i 12 -o 40 gives DIVF 52 DIVQ 4 (39.75);
# 12 -> 48 exactly (DIVF 63, DIVQ 4); ecppll -i 25 -o 100: CLKFB_DIV 4 (100 exactly);
# 25 -> 150 is 6 x 25; the tangnano9k's 27 MHz -> 99 (11/3 x 27)
KNOWN = [("ice40", 12, 40, 39.75), ("ice40", 12, 48, 48.0), ("ice40", 12, 100, 99.0),
         ("ecp5", 25, 100, 100.0), ("ecp5", 25, 150, 150.0), ("ecp5", 25, 63.7, 62.5),
         ("gowin", 27, 100, 99.0)]


@pytest.mark.parametrize("family,f_in,target,expected", KNOWN)
def test_the_fastest_clock_at_or_below_the_target(family, f_in, target, expected):
    s = solve(family, f_in, target)
    assert s.f_out_mhz == pytest.approx(expected) == pytest.approx(out_mhz(s))
    assert f"{f_in:g} -> {expected:.4g} MHz" in s.describe()


@pytest.mark.parametrize("family,f_in,vco,out", [
    ("ice40", 12, (533, 1066), (16, 275)), ("ecp5", 25, (400, 800), (3.125, 400)),
    ("gowin", 27, (400, 1200), (3.125, 600))])
def test_every_setting_keeps_the_datasheet_ranges_and_each_target_gets_the_best(
        family, f_in, vco, out):
    """Every setting the solver can pick: its output recomputed, its VCO in range; and for
    targets across the range, no setting lies between the chosen one and the target."""
    settings = list(PLL_OF[family](f_in))
    assert settings
    for s in settings:
        assert s.f_out_mhz == pytest.approx(out_mhz(s))
        assert vco[0] <= vco_mhz(s) <= vco[1] and out[0] <= s.f_out_mhz <= out[1]
    outs = sorted({round(s.f_out_mhz, 9) for s in settings})
    for target in [outs[0], outs[0] + 0.01, 33.3, 50, 77.7, outs[-1], outs[-1] + 1]:
        got = solve(family, f_in, target).f_out_mhz
        assert got <= target + 1e-9
        assert not [o for o in outs if got + 1e-9 < o <= target]


@pytest.mark.parametrize("family,f_in,lowest", [("ice40", 12, 16.12), ("ecp5", 25, 3.125)])
def test_a_target_below_the_lowest_output_is_refused_in_one_line(family, f_in, lowest):
    assert solve(family, f_in, lowest + 0.01).f_out_mhz <= lowest + 0.01
    with pytest.raises(ValueError) as err:
        solve(family, f_in, lowest - 0.01)
    assert str(err.value) == (f"the {family} PLL cannot make {lowest - 0.01:g} MHz or less "
                              f"from {f_in:g} MHz; its lowest is "
                              f"{min(s.f_out_mhz for s in PLL_OF[family](f_in)):.4g} MHz")


def test_a_family_without_a_pll_is_named():
    with pytest.raises(ValueError) as err:
        solve("xilinx", 100, 200)
    assert str(err.value) == "no PLL for family 'xilinx'; hwgen has one for ice40, ecp5, gowin"


def test_the_gowin_table_is_the_gw1nr9s_and_another_device_is_named():
    """The rPLL's ranges and DEVICE parameter are the Tang Nano 9K's GW1NR-9; the Tang
    Primer 20K's GW2A is refused rather than given them."""
    assert solve("gowin", 27, 100, "GW1NR-LV9QN88PC6/I5").params["DEVICE"] == "GW1NR-9C"
    with pytest.raises(ValueError) as err:
        solve("gowin", 27, 100, "GW2A-LV18PG256C8/I7")
    assert str(err.value) == "no gowin PLL table for GW2A-LV18PG256C8/I7; hwgen has the GW1NR-9's"
    assert solve("ecp5", 25, 100, "LFE5U-85F-6BG381C").f_out_mhz == 100.0
