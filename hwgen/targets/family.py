"""The record of an FPGA family: everything hwgen knows of it, measured with its open tools.

A family module (:mod:`hwgen.targets.ice40`, ...) holds one :class:`Family`; adding a family
is one such module and its line in :data:`hwgen.targets.FAMILIES`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Family"]


@dataclass(frozen=True)
class Family:
    """What decides how a design is built, estimated and placed on a family.

    Estimation: ``lut_inputs`` (a LUT's inputs: constants in logic count per 2^k entries),
    ``bram_shapes`` ((width, depth) of each block-RAM mode and its size in the family's
    unit), ``packs_narrow_rom`` (a ROM narrower than a mode's word puts entries side by
    side in it), ``lutram`` ((depth, width, LUTs) of each LUT-RAM primitive; none: memory
    in logic is flip-flops), ``dsp_limits`` (the operand bits a multiplier needs to go to a
    DSP block, and the widths one block takes; ``dsp_min_operand``, the narrower operand's
    least bits), ``const_mul_dsp`` (a counter times a constant that is not a power of two
    becomes a DSP), ``small_bram`` (bits and entries
    from which buffers go to block RAM where there is no LUT RAM), ``ff_unpacked`` (the
    flip-flops that take a logic cell of their own) and ``logic_margin`` (nextpnr's logic
    cells over the estimate's where a board counts cells, else its LUTs over the estimate's:
    the worst measured, ``bench/fit_check.py``).

    Timing: ``level_ns``, one level of datapath logic with its routing on the common speed
    grade (measured from nextpnr's critical paths); ``fast_mhz``, a clock near the fabric's
    practical top, which the calibration pipelines half its graphs for.

    Tools: the yosys ``synth`` command of the flow that builds bitstreams, its ``map_luts``
    step with the classic abc (where ABC9 dies), the ``cells`` yosys maps to (cell-name
    prefix: resource, weight), the ``nextpnr`` tool and its options, the environment
    variables of an amaranth-boards build, the suffixes of the bitstream and of the netlist
    the platform's script writes, the ``programmer`` (tool, environment override, Debian
    package), and which of nextpnr's bels hold what the estimate counts (``placed_bels``),
    for comparing the two; ``platform_adapter`` where
    the amaranth-boards platform needs adapting to the tools (Gowin: nextpnr-himbaechel).
    """

    name: str
    lut_inputs: int
    level_ns: float
    fast_mhz: float
    synth: str
    cells: dict[str, tuple[str, float]]
    bram_shapes: tuple[tuple[tuple[int, int], float], ...] = ()
    packs_narrow_rom: bool = False
    lutram: tuple[tuple[int, int, int], ...] = ()
    dsp_limits: tuple[int, int, int] | None = None
    dsp_min_operand: int = 2
    const_mul_dsp: bool = False
    small_bram: tuple[int, int] | None = None
    ff_unpacked: float = 0.0
    logic_margin: float = 1.0
    map_luts: tuple[str, ...] = ()
    nextpnr: str | None = None
    nextpnr_options: tuple[str, ...] = ()
    build_env: dict[str, str] = field(default_factory=dict)
    bitstream_suffix: str | None = None
    netlist_suffix: str = ".json"  # the synthesized netlist the platform's script writes
    programmer: tuple[str, str, str] | None = None
    bram_unit: str = "-"
    lut_unit: str = "LUTs"
    # nextpnr's bels that hold what the estimate counts: estimate key -> bel types, "+"
    # between several that take the same sites (Gowin's ALUs sit in LUT positions)
    placed_bels: dict[str, str] = field(default_factory=dict)
    # the constraints file and nextpnr options that place ports on pins ({port: pin}), where
    # nextpnr refuses unconstrained IO (None: it places them itself)
    io_constraints: Callable[[dict[str, str]], tuple[str, tuple[str, ...]]] | None = None
    # the amaranth-boards platform class as the flow needs it (None: as it comes)
    platform_adapter: Callable[[type], type] | None = None

    def placed(self, utilization: dict[str, list[int] | tuple[int, int]]) -> dict[str, int]:
        """What nextpnr placed of each resource the estimate counts, from its utilization
        report (bel type: used, available): the sum over the resource's bel types."""
        return {kind: sum(utilization[b][0] for b in bels.split("+") if b in utilization)
                for kind, bels in self.placed_bels.items()
                if any(b in utilization for b in bels.split("+"))}
