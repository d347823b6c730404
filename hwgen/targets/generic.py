"""Generic gates for an ASIC flow: yosys' internal two-input gates, muxes and flip-flops,
memories as flip-flops; no block RAM, DSP or place-and-route."""

from hwgen.targets.family import Family

FAMILY = Family(
    name="generic",
    lut_inputs=2,
    level_ns=0.5,
    fast_mhz=500.0,
    synth="synth -flatten",
    # flip-flops first: every other internal cell ($_AND_, $_MUX_, ...) is a gate
    cells={"$_DFF": ("ff", 1), "$_SDFF": ("ff", 1), "$_DFFE": ("ff", 1),
           "$_SDFFE": ("ff", 1), "$_ALDFF": ("ff", 1), "$_": ("lut", 1)},
    lut_unit="gates",
)
