"""Prints, for each BNN-PYNQ model that ships in the brevitas wheel (seeded random weights
and batch-norm statistics): export and import time, the smallest threshold margin, build
time, cycles per frame at FINN's own folding where finn-examples publishes one (TFC-w1a1,
CNV-w1a1) and at the fastest folding that fits the board, and the estimate there.

    .venv/bin/python bench/qonnx_zoo.py [--board B] [--only NAME]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from doctable import Table

from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold, refold
from hwgen.boards import load_board
from hwgen.core.errors import FoldError
from hwgen.examples.bnn_pynq import FINN_FOLDING, INPUT_DTYPE, ZOO, export
from hwgen.flows.build import build
from hwgen.frontends import qonnx


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--board", default="pynq-z2")
    ap.add_argument("--only")
    ap.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args()
    board = load_board(args.board)
    table = Table("qonnx-zoo", ["model", "export s", "import s", "margin", "build s",
                                "cycles at FINN's folding", "cycles at the fit folding", "LUT",
                                "FF", "BRAM", "DSP", "frames/s"])
    print(f"{'model':<10} {'export':>7} {'import':>7} {'margin':>9} {'build':>6} "
          f"{'FINN fold':>10} {'fit fold':>9} {'LUT':>8} {'FF':>8} {'BRAM':>6} {'DSP':>4} "
          f"{'frames/s':>10}")
    for name in ZOO:
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            onnx = Path(tmp) / f"{name}.onnx"
            t0 = time.monotonic()
            export(name, onnx)
            t1 = time.monotonic()
            graph, report = qonnx.load(onnx, input_dtype=INPUT_DTYPE.get(name))
            t2 = time.monotonic()
            finn = "-"
            if name in FINN_FOLDING:
                weighted = [layer.name for layer in graph.layers if layer.folds]
                finn_graph = refold(graph, dict(zip(weighted, FINN_FOLDING[name], strict=True)))
                finn = f"{estimate(finn_graph, board).cycles:,}"
            try:
                graph = fold(graph, board).graph
            except FoldError as err:
                print(f"{name:<10} does not fit {board.name}: {err}")
                table.add(name, f"{t1 - t0:.1f}", f"{t2 - t1:.1f}", "-", "-", finn,
                          f"does not fit {board.name}", "-", "-", "-", "-", "-")
                continue
            t3 = time.monotonic()
            build(graph, Path(tmp) / "out")
            t4 = time.monotonic()
            e = estimate(graph, board)
            margin = min(report.margins.values())
            print(f"{name:<10} {t1 - t0:6.1f}s {t2 - t1:6.1f}s {margin:9.2g} {t4 - t3:5.1f}s "
                  f"{finn:>10} {e.cycles:>9,} {e.total.lut:>8,.0f} {e.total.ff:>8,.0f} "
                  f"{e.total.bram:>6g} {e.total.dsp:>4g} {e.fps:>10,.0f}", flush=True)
            table.add(name, f"{t1 - t0:.1f}", f"{t2 - t1:.1f}", f"{margin:.2g}",
                      f"{t4 - t3:.1f}", finn, f"{e.cycles:,}", f"{e.total.lut:,.0f}",
                      f"{e.total.ff:,.0f}", f"{e.total.bram:g}", f"{e.total.dsp:g}",
                      f"{e.fps:,.0f}")
    print(f"estimates for {board.name} ({board.device}) at {board.clock_mhz:g} MHz; "
          "fit fold: hwgen fold's fastest folding that fits the board")
    if args.docs:
        table.write(f"Estimates for {board.name} ({board.device}) at {board.clock_mhz:g} MHz; "
                    "the fit folding is hwgen fold's fastest that fits the board; seeded "
                    "random weights.")


if __name__ == "__main__":
    main()
