"""Design exploration: which folding, clock target and placement seed give the most frames/s
that really place on a board.

The candidates are the fastest foldings on the fold search's Pareto front (estimated frames/s
against estimated logic) that the estimate says fit, each pipelined for every clock target,
each placed with every nextpnr seed. One candidate is one job of :mod:`hwgen.core.jobs`: the
same synthesis, placement, routing and packing as ``hwgen build --bitstream``. A candidate
that does not place, or misses its clock, is a result like any other, with its tool log.

Results survive anything: each finished candidate is written to ``runs/KEY/`` and then
appended to ``explore.jsonl`` in one write, by the one process that gathers the results, so
a candidate is recorded once however often its worker died. KEY hashes the Verilog, the
board, the tool versions and the seed: a rerun skips the candidates already recorded, but
for those the timeout stopped, which it tries again when it is given more time.
"""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from hwgen.analysis.estimate import Estimate, estimate
from hwgen.analysis.fold import fold, refold
from hwgen.analysis.plan import plan
from hwgen.boards import Board
from hwgen.core.errors import FoldError, SynthTimeout
from hwgen.core.files import write_atomic
from hwgen.core.jobs import Tally, run_jobs
from hwgen.core.progress import Say
from hwgen.flows.bitstream import Placement, place_job, platform_of, tool_versions
from hwgen.flows.build import module_name
from hwgen.hw.top import Accelerator
from hwgen.hw.verilog import convert
from hwgen.ir.graph import Graph
from hwgen.targets import FAMILIES

__all__ = ["Candidate", "Exploration", "Result", "candidates", "explore", "run_candidate"]

RECORDS = "explore.jsonl"
LOGIC = ("cells", "lut", "ff")  # the capacities --over widens
COLUMNS = ["folding", "cycles/frame", "target MHz", "seed", "placed", "fmax MHz", "logic",
           "BRAM", "DSP", "frames/s", "tool s"]


@dataclass(frozen=True)
class Candidate:
    """One point to place and route: a folding pipelined for a clock target, one seed."""

    graph: Graph  # folded
    folding: dict[str, list[int]]  # layer: [PE, SIMD] (SIMD 0 where the op has none)
    board: Board  # its clock_mhz: the target the blocks are pipelined for
    seed: int  # nextpnr's placement seed
    key: str  # hash of the Verilog, the board, the tool versions and the seed
    timeout: float | None  # seconds the flow may take


@dataclass(frozen=True)
class Result:
    """What one candidate gave: a line of ``explore.jsonl``."""

    key: str
    folding: dict[str, list[int]]  # layer: [PE, SIMD] (SIMD 0 where the op has none)
    cycles: int  # per frame
    clock_mhz: float  # the target it is pipelined for
    seed: int
    placed: bool
    fmax_mhz: float | None
    resources: dict[str, int]  # as placed, per kind the family's nextpnr reports (lut/cells...)
    fps: float | None  # frames/s at fmax, the clock it meets
    tool_seconds: float
    error: str | None  # why it did not place, or None
    stopped: bool = False  # by the timeout: a rerun with a longer one tries it again
    timeout: float | None = None  # the seconds it was given

    @property
    def meets_clock(self) -> bool:
        return self.placed and self.fmax_mhz is not None and self.fmax_mhz >= self.clock_mhz

    @property
    def logic(self) -> int:
        """Placed logic: logic cells on iCE40, LUTs elsewhere."""
        return self.resources.get("cells", self.resources.get("lut", 0))

    def folding_text(self) -> str:
        return ", ".join(f"{name} {pe}x{simd}" if simd else f"{name} {pe}"
                         for name, (pe, simd) in self.folding.items())


def _logic(est: Estimate) -> float:
    return est.cells if "cells" in est.board.capacity else est.total.lut


def pareto(points: list, x, y) -> list:
    """The points no other beats on both ``y`` (higher) and ``x`` (lower), highest y first."""
    ranked = sorted(points, key=lambda p: (-y(p), x(p)))
    front, least = [], math.inf
    for p in ranked:
        if x(p) < least:
            front.append(p)
            least = x(p)
    return front


def _key(verilog: str, board: Board, seed: int) -> str:
    """The record key: the clock target is not in it, since it acts through the Verilog."""
    doc = {**asdict(board), "clock_mhz": None}
    text = json.dumps([doc, tool_versions(board.family), seed], sort_keys=True, default=str)
    return hashlib.sha256(verilog.encode() + b"\0" + text.encode()).hexdigest()[:20]


def candidates(graph: Graph, board: Board, foldings: int = 3,
               clocks: Iterable[float] = (), seeds: int = 1,
               timeout: float | None = None, over: float = 0) -> list[Candidate]:
    """The ``foldings`` fastest foldings on the fold search's Pareto front that fit by the
    estimate (0: the graph's own folding, unsearched), x the ``clocks`` (MHz; default the
    board's), x nextpnr seeds 1..``seeds``. With ``over`` (percent), the search fits them
    to a board that much larger, since the estimate's margin is its worst case: nextpnr
    decides. Two with the same Verilog (clock targets that pipeline alike) are one."""
    platform_of(board)  # refuse a board without a flow before folding
    if foldings == 0:
        front = [estimate(graph, board)]
    else:
        larger = dataclasses.replace(board, capacity={  # logic only: memories are counted
            k: v * (1 + over / 100) if k in LOGIC else v for k, v in board.capacity.items()})
        explored = fold(graph, larger).explored
        front = pareto([e for e in explored if e.fits()], _logic, lambda e: e.fps)[:foldings]
    if not front:
        raise FoldError(f"{graph.name}: no folding fits {board.name} by the estimate"
                        + (f" with {over:g} % over" if over else ""))
    found: dict[str, Candidate] = {}
    for est in front:
        folding = {e.name: [e.pe, e.simd or 0] for e in est.layers if e.pe}
        folded = refold(graph, {name: (pe, simd or 1) for name, (pe, simd) in folding.items()})
        for mhz in clocks or [board.clock_mhz]:
            target = dataclasses.replace(board, clock_mhz=mhz)
            verilog = convert(Accelerator(plan(folded, target.timing)), module_name(folded))
            for seed in range(1, seeds + 1):
                key = _key(verilog, target, seed)
                found.setdefault(key, Candidate(folded, folding, target, seed, key, timeout))
    return list(found.values())


def run_candidate(c: Candidate) -> tuple[Result, dict[str, bytes]]:
    """Synthesize, place, route and pack one candidate (a job on a worker); return its
    result and the files to keep: the bitstream, nextpnr's report and ``bitstream.json``
    when it placed, the tool logs in any case."""
    p = plan(c.graph, c.board.timing)
    placed = place_job(Placement(p, c.board, c.seed, c.timeout))
    base = dict(key=c.key, folding=c.folding, cycles=p.cycles, clock_mhz=c.board.clock_mhz,
                seed=c.seed, tool_seconds=placed.seconds)
    r = placed.report
    if r is None:
        return Result(**base, placed=False, fmax_mhz=None, resources={}, fps=None,
                      error=str(placed.error),
                      stopped=isinstance(placed.error, SynthTimeout),
                      timeout=c.timeout), placed.files
    files = {**placed.files,
             "bitstream.json": json.dumps(r.as_dict(), indent=1).encode() + b"\n"}
    return Result(**base, placed=True, fmax_mhz=r.fmax_mhz,
                  resources=FAMILIES[c.board.family].placed(r.utilization),
                  fps=round(r.fmax_mhz * 1e6 / p.cycles, 1), error=None), files


class Store:
    """``explore.jsonl`` and ``runs/`` of an exploration folder. A key's last line counts:
    a candidate has a second only when the timeout stopped its first."""

    def __init__(self, out: Path):
        self.out = out
        self.records = out / RECORDS
        self.results: dict[str, Result] = {}
        text = self.records.read_text() if self.records.is_file() else ""
        self.cut = bool(text) and not text.endswith("\n")  # the machine died mid-line
        for line in text.splitlines():
            try:
                result = Result(**json.loads(line))
            except (ValueError, TypeError):  # that line
                continue
            self.results[result.key] = result

    def done(self, key: str, timeout: float | None = None) -> bool:
        """Recorded, and not stopped by a timeout shorter than ``timeout`` (None: none)."""
        r = self.results.get(key)
        if r is None:
            return False
        if not r.stopped:
            return True
        return r.timeout is not None and timeout is not None and timeout <= r.timeout

    def add(self, result: Result, files: dict[str, bytes], graph: Graph) -> None:
        """Keep the candidate's files in ``runs/KEY``, then append its line in one write."""
        if self.done(result.key):
            return
        run = self.out / "runs" / result.key
        stage = Path(tempfile.mkdtemp(dir=self.out, prefix=f".{result.key}-"))
        try:
            for name, data in files.items():
                (stage / name).write_bytes(data)
            graph.save(stage / "graph.json")
            (stage / "result.json").write_text(json.dumps(asdict(result), indent=1) + "\n")
            shutil.rmtree(run, ignore_errors=True)
            run.parent.mkdir(exist_ok=True)
            stage.rename(run)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        line = ("\n" if self.cut else "") + json.dumps(asdict(result)) + "\n"
        fd = os.open(self.records, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        self.cut = False
        self.results[result.key] = result


@dataclass(frozen=True)
class Exploration:
    out: Path
    results: list[Result]  # every candidate's, in the order of the candidates
    started: int  # jobs run this time (the others were recorded before)
    best: Result | None  # the placed candidate with the most frames/s

    def rows(self) -> list[list[str]]:
        """The results as table rows, fastest first, under :data:`COLUMNS`."""
        rows = []
        for r in sorted(self.results, key=lambda r: -(r.fps or 0)):
            placed = ("yes" if r.meets_clock else "yes, misses the target") if r.placed \
                else "no"
            rows.append([r.folding_text(), f"{r.cycles:,}", f"{r.clock_mhz:g}", str(r.seed),
                         placed, f"{r.fmax_mhz:g}" if r.fmax_mhz else "-", f"{r.logic:,}",
                         str(r.resources.get("bram", 0)), str(r.resources.get("dsp", 0)),
                         f"{r.fps:,.0f}" if r.fps else "-", f"{r.tool_seconds:g}"])
        return rows

    def table(self) -> str:
        """The results as a Markdown table, fastest first."""
        lines = [COLUMNS, ["---"] * len(COLUMNS), *self.rows()]
        return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)

    def html(self) -> str:
        """The results as an HTML table, fastest first."""
        def row(cells: list[str], tag: str) -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"
        return f"<table>{row(COLUMNS, 'th')}{''.join(row(r, 'td') for r in self.rows())}</table>"


def _plot(results: list[Result], out: Path, board: Board) -> list[str]:
    """Measured frames/s against placed logic, the Pareto front joined (PNG and SVG);
    nothing without matplotlib (the plot extra)."""
    placed = [r for r in results if r.placed]
    try:
        import matplotlib
    except ImportError:
        return []
    if not placed:
        return []
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for meets, label, marker in ((True, "meets its clock target", "o"),
                                 (False, "misses its clock target", "x")):
        points = [r for r in placed if r.meets_clock == meets]
        if points:
            ax.scatter([r.logic for r in points], [r.fps for r in points], marker=marker,
                       label=label)
    front = pareto(placed, lambda r: r.logic, lambda r: r.fps)
    ax.plot([r.logic for r in front], [r.fps for r in front], "--", color="gray",
            label="Pareto front")
    unit = "logic cells" if "cells" in placed[0].resources else "LUTs"
    ax.set_xlabel(f"{unit} as placed on {board.name}")
    ax.set_ylabel("frames/s at the measured fmax")
    ax.set_yscale("log")
    ax.set_title("design exploration: every placed candidate")
    ax.legend(fontsize="small")
    fig.tight_layout()
    names = []
    for ext in ("png", "svg"):
        fig.savefig(out / f"pareto.{ext}")
        names.append(f"pareto.{ext}")
    plt.close(fig)
    return names


def _best_folder(store: Store, best: Result) -> None:
    """``best/``: a copy of the best candidate's run folder (bitstream, graph, logs)."""
    dest = store.out / "best"
    stage = store.out / ".best-new"
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(store.out / "runs" / best.key, stage)
    shutil.rmtree(dest, ignore_errors=True)
    stage.rename(dest)


def explore(graph: Graph, board: Board, out: str | os.PathLike, *, foldings: int = 3,
            clocks: Iterable[float] = (), seeds: int = 1, cluster: str | None = None,
            workers: int | None = None, timeout: float | None = None, over: float = 0,
            progress: Say | None = None) -> Exploration:
    """Place and route the candidates (:func:`candidates`) not yet recorded in ``out``, on
    the Dask scheduler at ``cluster`` or a local cluster of ``workers`` processes; write
    the table (``explore.md``), the plot and ``best/``."""
    todo = candidates(graph, board, foldings, clocks, seeds, timeout, over)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    store = Store(out)
    jobs = [c for c in todo if not store.done(c.key, c.timeout)]
    by_key = {c.key: c for c in todo}
    if progress:
        progress(f"{len(todo)} candidates, {len(todo) - len(jobs)} recorded before, "
                 f"{len(jobs)} to place and route")
    say = progress or (lambda msg: None)

    def tell(t: Tally, r: Result) -> None:
        got = [store.results[c.key] for c in todo if c.key in store.results]
        failed = sum(not x.placed for x in got)
        best = max((x for x in got if x.placed), key=lambda x: x.fps, default=None)
        what = (f"fmax {r.fmax_mhz:g} MHz, {r.fps:,.0f} frames/s" if r.placed
                else f"not placed: {(r.error or '').split(';')[0]}")
        lead = f"; best so far {best.fps:,.0f} frames/s" if best else ""
        say(f"[{t.done}/{t.total} done, {t.running} running, {failed} not placed] "
            f"{r.folding_text()} @ {r.clock_mhz:g} MHz seed {r.seed}: {what}{lead}")

    tallies: list[Tally] = []
    for k, (result, files) in run_jobs(run_candidate, jobs, cluster=cluster, workers=workers,
                                       say=progress, tally=tallies.append):
        store.add(result, files, by_key[jobs[k].key].graph)
        tell(tallies[-1], result)
    results = [store.results[c.key] for c in todo]
    best = max((r for r in results if r.placed), key=lambda r: r.fps, default=None)
    done = Exploration(out, results, len(jobs), best)
    plots = _plot(results, out, board)
    figure = "".join(f"\n![Pareto]({n})\n" for n in plots if n.endswith(".png"))
    write_atomic(out / "explore.md", lambda f: f.write(
        f"# Exploration of {graph.name} on {board.name}\n\n{done.table()}\n{figure}".encode()))
    svg = "".join(f'<p><img src="{n}"></p>' for n in plots if n.endswith(".svg"))
    write_atomic(out / "explore.html", lambda f: f.write(
        (f"<!doctype html><meta charset='utf-8'><title>{html.escape(graph.name)}</title>"
         f"<h1>Exploration of {html.escape(graph.name)} on {html.escape(board.name)}</h1>"
         f"{done.html()}{svg}").encode()))
    if best is not None:
        _best_folder(store, best)
    return done
