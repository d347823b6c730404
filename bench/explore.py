"""Design exploration measured: each row is one ``hwgen explore`` (resumed from the records
its folder already has), summarized as the fastest candidate that placed; the digits MLP's
seed sweep as fmax minimum / median / maximum per clock target; and the speed-up of the
Dask workers, measured on this machine and projected from the measured tool times.

    .venv/bin/python bench/explore.py [--rows mlp-seeds,cnn,...] [--root DIR] [--workers N]
    .venv/bin/python bench/explore.py --speedup [--workers 2]

With ``--docs`` the tables go into docs/benchmarks.md. A row's exploration keeps its
folder under ``--root`` (default ``bench/explore``, not in git): a rerun places nothing
already placed there.
"""

from __future__ import annotations

import argparse
import heapq
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from doctable import Table

from hwgen.boards import load_board
from hwgen.core.errors import FoldError
from hwgen.examples import graph_or_example
from hwgen.flows.explore import Exploration, candidates, explore

ROOT = Path(__file__).resolve().parent
# name: (graph, board, explore's options, what the row answers)
ROWS: dict[str, tuple[str, str, dict, str]] = {
    "mlp-seeds": ("digits-mlp", "ulx3s-85f", dict(foldings=0, clocks=[100, 150, 200], seeds=8),
                  "fmax over 8 seeds per clock target"),
    "cnn": ("digits-cnn", "icebreaker", dict(foldings=7, over=40),
            "the fastest folding that places"),
    "tfc-icebreaker": ("mnist-tfc", "icebreaker", dict(foldings=3),
                       "the fastest folding that places"),
    "tfc-ulx3s": ("mnist-tfc", "ulx3s-85f", dict(foldings=6), "the fastest folding that places"),
    "sfc-icebreaker": ("mnist-sfc", "icebreaker", dict(foldings=3),
                       "the fastest folding that places"),
    "sfc-ulx3s": ("mnist-sfc", "ulx3s-85f", dict(foldings=3), "the fastest folding that places"),
    "cnv-ulx3s": ("cnv-w1a1", "ulx3s-85f", dict(foldings=2, clocks=[100]),
                  "the fastest folding that places"),
}


def graph_of(name: str):
    if name == "cnv-w1a1":  # FINN's CNV with seeded weights, as bench/finn_topologies.py has it
        import numpy as np
        from finn_topologies import cnv
        return cnv(np.random.default_rng(0))
    return graph_or_example(name, 0)


def options_text(opts: dict) -> str:
    words = []
    for k, v in opts.items():
        if k == "foldings" and v == 0:
            words.append("--as-folded")
        elif isinstance(v, list):
            words.append(f"--{k} {' '.join(map(str, v))}")
        else:
            words.append(f"--{k} {v}")
    return " ".join(words)


def run_row(name: str, root: Path, workers: int | None, timeout: float | None
            ) -> Exploration | str:
    """The row's exploration, or why it has no candidate (the estimate fits none)."""
    graph, board, opts, _ = ROWS[name]
    print(f"\n== {name}: hwgen explore {graph} --board {board} {options_text(opts)}",
          flush=True)
    try:
        return explore(graph_of(graph), load_board(board), root / name, workers=workers,
                       timeout=timeout, progress=lambda m: print(m, flush=True), **opts)
    except FoldError as err:  # kept, for bench/mnist.py's table
        print(err)
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "error.txt").write_text(f"{err}\n")
        return str(err)


def fastest_row(table: Table, name: str, done: Exploration | str) -> None:
    graph, board, opts, _ = ROWS[name]
    command = f"hwgen explore {graph} --board {board} {options_text(opts)}"
    if isinstance(done, str):
        table.add(graph, board, command, "0 of 0", done.split(": ", 1)[-1], "-", "-", "-",
                  "-", "-", "0")
        return
    placed = [r for r in done.results if r.placed]
    tool_min = sum(r.tool_seconds for r in done.results) / 60
    head = (graph, board, command, f"{len(placed)} of {len(done.results)}")
    if not placed:
        why = {(r.error or "").split(";")[0] for r in done.results}
        table.add(*head, "none placed: " + " / ".join(sorted(why)), "-", "-", "-", "-", "-",
                  f"{tool_min:.1f}")
        return
    b = done.best
    table.add(*head, b.folding_text(), f"{b.cycles:,}", f"{b.fmax_mhz:g} (seed {b.seed})",
              f"{b.fps:,.0f}", f"{b.logic:,}", str(b.resources.get("bram", 0)),
              f"{tool_min:.1f}")


def seed_rows(table: Table, done: Exploration) -> None:
    """fmax over the seeds per clock target; targets the blocks pipeline alike share one
    Verilog, so one set of candidates (the exploration places it once)."""
    graph, board, opts, _ = ROWS["mlp-seeds"]
    by_key = {r.key: r for r in done.results}
    first: dict[frozenset, float] = {}
    model, target = graph_of(graph), load_board(board)
    for mhz in opts["clocks"]:
        keys = frozenset(c.key for c in candidates(model, target, 0, [mhz], opts["seeds"]))
        rs = [by_key[k] for k in keys]
        same = f" (the Verilog of {first[keys]:g} MHz)" if keys in first else ""
        first.setdefault(keys, mhz)
        fmax = sorted(r.fmax_mhz for r in rs if r.placed)
        if not fmax:
            table.add(f"{mhz:g}{same}", f"0 of {len(rs)}", "-", "-", "-", "-", "-")
            continue
        cycles = rs[0].cycles
        table.add(f"{mhz:g}{same}", f"{len(fmax)} of {len(rs)}", f"{fmax[0]:g}",
                  f"{statistics.median(fmax):g}", f"{fmax[-1]:g}", f"{cycles:,}",
                  f"{statistics.median(fmax) * 1e6 / cycles:,.0f}")


def makespan(seconds: list[float], workers: int) -> float:
    """Wall time of jobs taking ``seconds`` on ``workers``, longest first to the least
    loaded worker (as Dask's scheduler does for equal-priority tasks, near enough)."""
    loads = [0.0] * workers
    for s in sorted(seconds, reverse=True):
        heapq.heappush(loads, heapq.heappop(loads) + s)
    return max(loads)


def speedup(workers: int, docs: bool) -> None:
    """The digits MLP on the iCEBreaker, 2 foldings x 2 seeds, serial then on ``workers``
    local workers, each from an empty folder; then the projection of the measured CNV
    and MNIST tool times onto 1-16 workers."""
    table = Table("explore-speedup", ["workers", "candidates", "wall s", "tool s (sum)",
                                      "speed-up"])
    walls = {}
    for w in sorted({1, workers}):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.monotonic()
            done = explore(graph_or_example("digits-mlp", 0), load_board("icebreaker"), tmp,
                           foldings=2, seeds=2, workers=w)
            walls[w] = time.monotonic() - start
        tool = sum(r.tool_seconds for r in done.results)
        table.add(w, len(done.results), f"{walls[w]:.1f}", f"{tool:.1f}",
                  f"{walls[1] / walls[w]:.2f}x")
        print(f"{w} workers: {walls[w]:.1f} s wall, {tool:.1f} s of tools", flush=True)
    if docs:
        table.write(note="`hwgen explore digits-mlp --board icebreaker --foldings 2 --seeds 2 "
                    "--workers W` from an empty folder, on this 2-core machine: two nextpnr "
                    "runs at once share two cores with the Dask processes.")


def projection(root: Path, docs: bool) -> None:
    """What 1-16 workers make of the explorations measured under ``root``."""
    table = Table("explore-projection", ["exploration", "candidates", "serial min",
                                         "2 workers", "4 workers", "8 workers", "16 workers"])
    for name in ROWS:
        records = root / name / "explore.jsonl"
        if not records.is_file():
            continue
        seconds = [json.loads(line)["tool_seconds"] for line in records.read_text().splitlines()]
        cells = [f"{makespan(seconds, w) / 60:.1f}" for w in (1, 2, 4, 8, 16)]
        table.add(name, len(seconds), *cells)
    print(table.markdown("bench/explore.py --projection"))
    if docs:
        table.write(note="Minutes of wall time, from each candidate's measured tool time, "
                    "longest first to the least loaded worker; scheduling overhead (about "
                    "1 s a task) left out.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", default=",".join(ROWS),
                    help=f"comma-separated, of {', '.join(ROWS)}")
    ap.add_argument("--root", type=Path, default=ROOT / "explore",
                    help="where each row's exploration folder is kept")
    ap.add_argument("--workers", type=int, default=None,
                    help="local Dask workers (default: one per core)")
    ap.add_argument("--timeout", type=float, default=None, metavar="MIN",
                    help="minutes one candidate may take")
    ap.add_argument("--speedup", action="store_true",
                    help="measure 1 worker against --workers on a fresh exploration")
    ap.add_argument("--projection", action="store_true",
                    help="only project the recorded explorations onto 1-16 workers")
    ap.add_argument("--docs", action="store_true", help="write the tables into the docs")
    args = ap.parse_args()
    if args.speedup:
        speedup(args.workers or 2, args.docs)
        return
    if not args.projection:
        rows = [r.strip() for r in args.rows.split(",") if r.strip()]
        unknown = sorted(set(rows) - set(ROWS))
        if unknown:
            sys.exit(f"unknown rows {unknown}: choose from {', '.join(ROWS)}")
        fastest = Table("explore", ["graph", "board", "command", "placed", "fastest that "
                                    "placed", "cycles/frame", "fmax MHz", "frames/s",
                                    "logic as placed", "BRAM", "tool min"])
        seeds = Table("explore-seeds", ["target MHz", "placed", "fmax min", "fmax median",
                                        "fmax max", "cycles/frame", "frames/s at median"])
        timeout = None if args.timeout is None else 60 * args.timeout
        for name in rows:
            done = run_row(name, args.root, args.workers, timeout)
            (seed_rows(seeds, done) if name == "mlp-seeds" else
             fastest_row(fastest, name, done))
        print("\n" + fastest.markdown("bench/explore.py"))
        if seeds.rows:
            print("\n" + seeds.markdown("bench/explore.py"))
        if args.docs:
            fastest.write(note="frames/s at the fmax nextpnr reports (a PLL would give that "
                          "clock; the board tops run from the oscillator today); logic: "
                          "logic cells on iCE40, LUTs on ECP5.")
            if seeds.rows:
                seeds.write(note="The digits MLP at its own folding on the ULX3S-85F "
                            "(LFE5U-85F), pipelined for each target, placed with nextpnr "
                            "seeds 1-8.")
    projection(args.root, args.docs)


if __name__ == "__main__":
    main()
