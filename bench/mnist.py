"""MNIST in the BNN-PYNQ topologies (hwgen.examples.mnist): per model, the accuracy of the
exported graph on all 10,000 test images (hwgen.reference, equal to torch on every image)
beside Brevitas' published figure, the training time, the weights, the cycles per frame at
the example's folding, and LUT/FF/BRAM per family as the estimate says and, with
``--synth FAMILY``, as yosys maps them; the fastest folding that placed on the iCEBreaker
and the ULX3S-85F, with its fmax and frames/s, from ``bench/explore.py``'s records (the
w1a1 models it explores). finn-examples' tfc-w1a1 figure sits beside it.

    .venv/bin/python bench/mnist.py [--models tfc-w1a1,...] [--synth ice40] [--docs]

Training is cached ($HWGEN_CACHE/examples): a rerun only measures."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from doctable import Table

from hwgen import reference
from hwgen.analysis.estimate import estimate
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.errors import SynthError
from hwgen.examples.mnist import PUBLISHED, VARIANTS, make
from hwgen.flows.synth import synth_resources
from hwgen.hw.top import Accelerator

BOARDS = {"ice40": "icebreaker", "ecp5": "ulx3s-85f", "gowin": "tangnano9k",
          "xilinx": "pynq-z2"}
# finn-examples' bnn-pynq tfc-w1a1 on the Pynq-Z1 at 100 MHz, at the folding the
# example uses: 837,019 frames/s
FINN = {"tfc-w1a1": "837,019 frames/s on the Pynq-Z1 at 100 MHz (finn-examples)"}


EXPLORED = Path(__file__).resolve().parent / "explore"  # bench/explore.py's folders
PLACED_ON = {"icebreaker": "iCEBreaker", "ulx3s-85f": "ULX3S-85F"}


def fastest_placed(variant: str, board: str) -> str:
    """The fastest candidate bench/explore.py placed for ``variant`` on ``board`` that
    meets the board's clock, from its row's records; "-" where it has none."""
    row = EXPLORED / f"{variant.removesuffix('-w1a1')}-{board.split('-')[0]}"
    if (row / "error.txt").is_file():
        return (row / "error.txt").read_text().strip().split(": ", 1)[-1]
    if not (row / "explore.jsonl").is_file():
        return "-"
    clock = load_board(board).clock_mhz
    got = [json.loads(line) for line in (row / "explore.jsonl").read_text().splitlines()]
    placed = [r for r in got if r["placed"] and r["fmax_mhz"] >= clock]
    if not placed:
        return f"none of {len(got)} placed"
    b = max(placed, key=lambda r: r["fps"])
    logic = b["resources"].get("cells", b["resources"].get("lut", 0))
    unit = "cells" if "cells" in b["resources"] else "LUT"
    return (f"{b['cycles']:,} cycles, {b['fmax_mhz']:g} MHz, {b['fps']:,.0f}/s, "
            f"{logic:,} {unit}, {b['resources'].get('bram', 0)} BRAM")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(PUBLISHED))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synth", action="append", default=[], choices=list(BOARDS),
                    help="also synthesize with yosys for this family")
    ap.add_argument("--docs", action="store_true", help="write the table into the docs")
    args = ap.parse_args()
    fams = list(BOARDS)
    table = Table("mnist", ["model", "accuracy (hwgen)", "Brevitas published", "training",
                            "weights", "cycles/frame",
                            *(f"est. LUT/FF/BRAM {f}" for f in fams),
                            *(f"yosys LUT/FF/BRAM {f}" for f in args.synth),
                            *(f"fastest placed, {b}" for b in PLACED_ON.values()), "FINN"])
    for variant in args.models.split(","):
        if variant not in VARIANTS:
            raise SystemExit(f"unknown model {variant}; known: {', '.join(VARIANTS)}")
        ex = make(variant, seed=args.seed, progress=lambda s: None)
        start = time.monotonic()
        ref = reference.run(ex.graph, ex.test_x)[:, 0]
        accuracy = 100 * float(np.mean(ref == ex.test_y))
        weights = sum(layer.weights.size for layer in ex.graph.layers if layer.op == "dense")
        ests = {f: estimate(ex.graph, load_board(BOARDS[f])) for f in fams}
        cells = [f"{e.total.lut:,.0f} / {e.total.ff:,.0f} / {e.total.bram:.0f}"
                 for e in ests.values()]
        synth = []
        for f in args.synth:
            try:
                got = synth_resources(Accelerator(plan(ex.graph, load_board(BOARDS[f]).timing)),
                                      f)
                synth.append(f"{got.lut:,.0f} / {got.ff:,.0f} / {got.bram:.0f}")
            except SynthError as err:
                synth.append(f"failed: {str(err).splitlines()[0]}")
        published = PUBLISHED.get(variant)
        row = [f"mnist-{variant}", f"{accuracy:.2f} %",
               "-" if published is None else f"{published:.2f} %",
               f"{ex.train_seconds / 60:.1f} min", f"{weights:,}",
               f"{ests['ice40'].cycles:,}", *cells, *synth,
               *(fastest_placed(variant, b) for b in PLACED_ON), FINN.get(variant, "-")]
        table.add(*row)
        print(" | ".join(row), f"({time.monotonic() - start:.0f} s)", flush=True)
    if args.docs:
        table.write(note="Accuracy on all 10,000 MNIST test images by hwgen.reference (equal "
                    "to the torch model's on every image); training on one core, wall "
                    "time; estimates at each board's clock. Fastest placed: the fastest "
                    "candidate of bench/explore.py (the w1a1 models) that meets the board "
                    "clock, frames/s at its fmax.")


if __name__ == "__main__":
    main()
