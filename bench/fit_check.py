"""Does "fits" agree with nextpnr? The examples (digits MLP, CNN, ResNet) on the iCEBreaker
(iCE40UP5K, 5,280 logic cells) at the foldings ``hwgen fold`` explores near the part's
size (estimated logic cells from 45 % of it up to 1.3x; where nothing fits, the least
parallel folding), at the board clock: the
estimate's LUTs, flip-flops and logic cells (before the margin) beside what yosys maps
and nextpnr places (or needs, when it does not fit), and the ratio of the two, whose
largest value is the margin ``logic_margin`` of ``hwgen/targets/ice40.py`` should hold.

    .venv/bin/python bench/fit_check.py [--per-example N] [--save bench/fit_check.json] [--docs]
    .venv/bin/python bench/fit_check.py --docs-from bench/fit_check.json

``--save`` writes every measured design (estimated LUTs and flip-flops, nextpnr's cells)
with the commit and date to the file that ``tests/analysis/test_margins.py`` holds the margin to:
the margin changes only with the measurement it comes from. ``--docs`` writes the table of
docs/benchmarks.md from this run's measurements; ``--docs-from FILE`` from a saved file,
with the commit and date it holds, measuring nothing.

The pins wrapper around each design (hwgen.flows.synth.PinWrapper) adds a flip-flop per
port bit that packs with no LUT; the logic cells are printed with those taken out.
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import subprocess
from pathlib import Path

import numpy as np
from doctable import Table

from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold, refold
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.errors import FoldError, SynthError
from hwgen.examples import get_example
from hwgen.flows.synth import place_and_route, synth_resources
from hwgen.hw.top import Accelerator
from hwgen.targets import FAMILIES


def docs_table(doc: dict) -> Table:
    """The benchmarks page's table of a measurement document (what ``--save`` writes)."""
    unit = "cells" if doc.get("logic", "cells") == "cells" else "LUTs"
    name = "fit-check" if doc["board"] == "icebreaker" else f"fit-check-{doc['board']}"
    table = Table(name, ["graph", "cycles/frame", "est. LUT", "est. FF",
                         f"est. {unit} (no margin)", f"nextpnr {unit}", "places", "ratio"],
                  when=f"commit {doc['commit']} on {doc['date']}")
    for r in doc["rows"]:
        est_cells = r["est_lut"] + doc["ff_unpacked"] * r["est_ff"]
        cells = r["nextpnr_cells"]
        table.add(r["graph"], f"{r['cycles']:,}", f"{r['est_lut']:,.0f}", f"{r['est_ff']:,.0f}",
                  f"{est_cells:,.0f}", "-" if cells is None else f"{cells:,}",
                  "yes" if r["places"] else "no",
                  "-" if cells is None else f"{cells / est_cells:.2f}")
    return table


NOTE = ("{title} ({device}), pins taken out; est. cells = LUTs + the flip-flops that find "
        "no LUT (ff_unpacked per flip-flop) where a logic cell holds both, else est. LUTs; "
        "the largest ratio is what `logic_margin` in hwgen/targets/{family}.py holds.")


def _logic(est, cells: bool) -> float:
    """What decides the fit: logic cells where a cell holds a LUT and a flip-flop (iCE40),
    else LUTs; before the margin."""
    return est.cells if cells else est.total.lut


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", default="icebreaker")
    ap.add_argument("--per-example", type=int, default=3)
    ap.add_argument("--examples", default="digits-mlp,digits-cnn,digits-resnet")
    ap.add_argument("--timeout", type=float, metavar="MIN",
                    help="stop a place-and-route after MIN minutes (the run stops: a placement "
                    "cut short says nothing of the fit)")
    ap.add_argument("--save", type=Path, help="write the measurements (JSON) here")
    ap.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    ap.add_argument("--docs-from", type=Path, metavar="FILE",
                    help="only write the docs table from saved measurements")
    args = ap.parse_args()
    if args.docs_from:
        doc = json.loads(args.docs_from.read_text())
        b = load_board(doc["board"])
        docs_table(doc).write(
            NOTE.format(title=b.title, device=b.device, family=b.family),
            command=f".venv/bin/python bench/fit_check.py --board {b.name} "
                    f"--save {args.docs_from}")
        return
    rows = []
    board = load_board(args.board)
    fam = FAMILIES[board.family]
    by_cells = "cells" in board.capacity
    unit = "cells" if by_cells else "lut"
    cap = board.capacity[unit]
    print(f"margin in hwgen/targets/{fam.name}.py: {fam.logic_margin:g} on {unit}")
    print(f"{'graph':<13} {'cycles':>7} {'est LUT':>8} {'est FF':>7} {'est ' + unit:>9} "
          f"{'fits':>5} | {'yosys LUT':>9} {'yosys FF':>8} {'nextpnr ' + unit:>13} "
          f"{'fits':>5} {'ratio':>6}", flush=True)
    ratios = []
    for name in args.examples.split(","):
        graph = get_example(name)(progress=lambda s: None).graph
        try:
            explored = fold(graph, board).explored
        except FoldError as err:  # nothing fits: the least parallel folding, as a data point
            print(f"  {name}: {err}", flush=True)
            explored = [estimate(refold(graph, {layer.name: (1, 1) for layer in graph.layers
                                                if layer.folds}), board)]
        near = [e for e in explored
                if 0.45 * cap <= _logic(e, by_cells) <= 1.3 * cap] or explored[:1]
        picks = [near[k] for k in sorted({round(x) for x in np.linspace(
            0, len(near) - 1, min(args.per_example, len(near)))})]
        for est in picks:
            folded = refold(graph, {e.name: (e.pe, e.simd or 1) for e in est.layers if e.pe})
            p = plan(folded, board.timing)
            top = Accelerator(p)
            got = synth_resources(Accelerator(p), board.family)
            # the pins' flip-flops take a logic cell each on iCE40; no LUT elsewhere
            pins = len(top.s_axis_tdata) + len(top.m_axis_tdata) + 3 if by_cells else 0
            try:
                placed = place_and_route(top, board.family, list(board.nextpnr),
                                         board.clock_mhz, pins=board.pnr_pins,
                                         timeout=args.timeout and 60 * args.timeout)
                cells, fits = fam.placed(placed.utilization)[unit] - pins, True
            except SynthError as err:
                need = re.search(r"needs (\d+)|out of|no legal placement", str(err))
                if need is None:
                    raise
                # nextpnr counts the cells only where it fails to expand a region
                cells, fits = (int(need[1]) - pins if need[1] else None), False
            ratio = cells / _logic(est, by_cells) if cells else None
            rows.append({"graph": name, "cycles": est.cycles, "est_lut": est.total.lut,
                         "est_ff": est.total.ff, "nextpnr_cells": cells, "places": fits})
            if ratio:
                ratios.append(ratio)
            shown = f">{cap:,.0f}" if cells is None else f"{cells:,}"
            logic = _logic(est, by_cells)
            print(f"{name:<13} {est.cycles:7,} {est.total.lut:8,.0f} {est.total.ff:7,.0f} "
                  f"{logic:9,.0f} {est.fits()!s:>5} | {got.lut:9,.0f} {got.ff:8,.0f} "
                  f"{shown:>13} {fits!s:>5} {'-' if ratio is None else f'{ratio:.2f}':>6}",
                  flush=True)
    if ratios:
        print(f"nextpnr {unit} / estimated {unit}: median {np.median(ratios):.2f}, largest "
              f"{max(ratios):.2f} over {len(ratios)} designs")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    doc = {"what": f"bench/fit_check.py: estimated {unit} against nextpnr's on the "
           f"{board.title} ({board.device}), pins taken out", "commit": commit,
           "date": datetime.date.today().isoformat(), "board": board.name, "logic": unit,
           "ff_unpacked": fam.ff_unpacked if by_cells else 0.0, "rows": rows}
    if args.save:
        args.save.write_text(json.dumps(doc, indent=1) + "\n")
        print(f"wrote {args.save}")
    if args.docs:
        docs_table(doc).write(NOTE.format(title=board.title, device=board.device,
                                          family=board.family))


if __name__ == "__main__":
    main()
