"""Does "fits" agree with nextpnr? The examples (digits MLP, CNN, ResNet) on the iCEBreaker
(iCE40UP5K, 5,280 logic cells), unpipelined and pipelined for 50 MHz: the estimate's
LUTs, flip-flops, logic cells and verdict beside the LUTs and flip-flops yosys maps
and the logic cells nextpnr places (or needs, when it does not fit).

    .venv/bin/python bench/fit_check.py

The pins wrapper around each design (hwgen.synth.PinWrapper) adds a flip-flop per
port bit that packs with no LUT; the logic cells are printed with those taken out.
"""

from __future__ import annotations

import re

from hwgen.boards import load_board
from hwgen.estimate import estimate
from hwgen.examples import get_example
from hwgen.formulas import UNPIPELINED, Timing
from hwgen.hw.top import Accelerator
from hwgen.plan import plan
from hwgen.synth import SynthError, place_and_route, synth_resources


def main() -> None:
    board = load_board("icebreaker")
    print(f"{'graph':<13} {'built for':<10} {'est LUT':>8} {'est FF':>7} {'est cells':>9} "
          f"{'fits':>5} | {'yosys LUT':>9} {'yosys FF':>8} {'nextpnr cells':>13} {'fits':>5}",
          flush=True)
    for name in ("digits-mlp", "digits-cnn", "digits-resnet"):
        graph = get_example(name)(progress=lambda s: None).graph
        for timing in (UNPIPELINED, Timing("ice40", 50.0)):
            p = plan(graph, timing)
            est = estimate(p, board)
            top = Accelerator(p)
            got = synth_resources(Accelerator(p), "ice40")
            pins = len(top.s_axis_tdata) + len(top.m_axis_tdata) + 3
            try:
                placed = place_and_route(top, "ice40", list(board.nextpnr), 50.0)
                cells, fits = placed.utilization["ICESTORM_LC"][0], True
            except SynthError as err:
                need = re.search(r"needs (\d+)|out of", str(err))
                if need is None:
                    raise
                # nextpnr counts the cells only where it fails to expand a region
                cells, fits = int(need[1]) if need[1] else None, False
            label = "flat" if timing is UNPIPELINED else "50 MHz"
            shown = (f">{board.capacity['cells']:,.0f}" if cells is None
                     else f"{cells - pins:,}")
            print(f"{name:<13} {label:<10} {est.total.lut:8,.0f} {est.total.ff:7,.0f} "
                  f"{est.cells:9,.0f} {est.fits()!s:>5} | {got.lut:9,.0f} {got.ff:8,.0f} "
                  f"{shown:>13} {fits!s:>5}", flush=True)


if __name__ == "__main__":
    main()
