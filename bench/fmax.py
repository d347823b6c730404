"""Clock frequency after place-and-route: the digits MLP, the digits CNN and FINN's TFC-w1a1
on the iCEBreaker (iCE40UP5K) and the ULX3S (ECP5-85F, speed 6), each built without
pipeline registers ("flat", hwgen before timing-driven pipelining) and pipelined for a
target clock. Prints fmax from yowasp-nextpnr, cycles per frame (unchanged by the
pipelining), latency in cycles and the resulting frames/s. The graphs keep their own
folding on the ULX3S; on the iCEBreaker, where they do not fit as folded, each takes
the fastest folding the estimator says fits (``hwgen fold --board icebreaker``).

    .venv/bin/python bench/fmax.py [--only digits-mlp|digits-cnn|tfc-w1a1]
                                   [--ice40 MHZ ...] [--ecp5 MHZ ...] [--families ...]

The digits examples are trained first (about a minute); every design is routed with
the same seed, inputs and outputs behind two pins (hwgen.flows.synth.PinWrapper).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np

from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.errors import FoldError, SynthError
from hwgen.examples import get_example
from hwgen.flows.synth import place_and_route
from hwgen.hw.top import Accelerator
from hwgen.targets import UNPIPELINED, Timing

sys.path.insert(0, str(Path(__file__).parent))
import finn_topologies
from doctable import Table

BOARDS = {"ice40": "icebreaker", "ecp5": "ulx3s-85f"}


def graphs(only: str | None) -> dict:
    makers = {
        "digits-mlp": lambda: get_example("digits-mlp")(progress=lambda s: None).graph,
        "digits-cnn": lambda: get_example("digits-cnn")(progress=lambda s: None).graph,
        "tfc-w1a1": lambda: finn_topologies.tfc(np.random.default_rng(0)),
    }
    return {name: make() for name, make in makers.items() if only in (None, name)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["digits-mlp", "digits-cnn", "tfc-w1a1"])
    ap.add_argument("--ice40", type=float, nargs="*", default=[50.0])
    ap.add_argument("--ecp5", type=float, nargs="*", default=[150.0])
    ap.add_argument("--families", nargs="*", choices=list(BOARDS), default=list(BOARDS))
    ap.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args()
    table = Table("fmax", ["graph", "board", "built for", "fmax MHz", "cycles/frame",
                           "latency", "frames/s", "est. LUT", "route s"])
    print(f"{'graph':<11} {'board':<11} {'built for':<12} {'fmax MHz':>9} {'cycles':>7} "
          f"{'latency':>8} {'frames/s':>11} {'est. LUT':>9} {'route s':>8}", flush=True)
    for name, graph in graphs(args.only).items():
        for family, board_name in BOARDS.items():
            if family not in args.families:
                continue
            board = load_board(board_name)
            for target in [None, *getattr(args, family)]:
                timing = UNPIPELINED if target is None else Timing(family, target)
                folded = graph
                if family == "ice40":
                    try:
                        folded = fold(graph, dataclasses.replace(
                            board, clock_mhz=target or board.clock_mhz)).graph
                    except FoldError as err:
                        print(f"  {name}: {err}", flush=True)
                        continue
                p = plan(folded, timing)
                est = estimate(p, board)
                start = time.monotonic()
                try:
                    fmax = place_and_route(Accelerator(p), family, list(board.nextpnr),
                                           target or board.clock_mhz,
                                           pins=board.pnr_pins).fmax_mhz
                    shown = f"{fmax:9.1f}"
                    fps = f"{fmax * 1e6 / p.cycles:11,.0f}"
                except SynthError as err:
                    shown, fps = f"{'failed':>9}", f"{'-':>11}"
                    print(f"  {err}", flush=True)
                label = "flat" if target is None else f"{target:g} MHz"
                route = time.monotonic() - start
                print(f"{name:<11} {board_name:<11} {label:<12} {shown} {p.cycles:7,} "
                      f"{est.latency:8,} {fps} {est.total.lut:9,.0f} {route:8.0f}", flush=True)
                table.add(name, board_name, label, shown.strip(), f"{p.cycles:,}",
                          f"{est.latency:,}", fps.strip(), f"{est.total.lut:,.0f}", f"{route:.0f}")
    if args.docs:
        table.write(note="nextpnr, seed 1; on the iCEBreaker each graph takes the fastest "
                    "folding the estimate says fits.")


if __name__ == "__main__":
    main()
