"""MNIST in the BNN-PYNQ topologies (hwgen.examples.mnist): per model, the accuracy of the
exported graph on all 10,000 test images (hwgen.reference, equal to torch on every image)
beside Brevitas' published figure, the training time, the weights, the cycles per frame at
the example's folding, and LUT/FF/BRAM per family as the estimate says and, with
``--synth FAMILY``, as yosys maps them; the fastest folding that placed on the iCEBreaker
and the ULX3S-85F, with its fmax and frames/s, from the table ``bench/explore.py`` wrote
into the benchmarks page (the w1a1 models it explores). finn-examples' tfc-w1a1 figure
sits beside it.

    .venv/bin/python bench/mnist.py [--models tfc-w1a1,...] [--synth ice40] [--docs]

Training is cached ($HWGEN_CACHE/examples): a rerun only measures."""

from __future__ import annotations

import argparse
import time

import numpy as np
from doctable import Table, read_table

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


PLACED_ON = {"icebreaker": "iCEBreaker", "ulx3s-85f": "ULX3S-85F"}


def fastest_placed(variant: str, board: str, explored: list[dict[str, str]]) -> str:
    """The fastest folding of ``variant`` that placed on ``board`` and met its clock, from
    the rows bench/explore.py wrote into the benchmarks page (its w1a1 models); "-" where
    it has no row."""
    graph = f"mnist-{variant.removesuffix('-w1a1')}"
    row = next((r for r in explored if r["graph"] == graph and r["board"] == board), None)
    if row is None or variant.split("-")[1] != "w1a1":
        return "-"
    if row["cycles/frame"] == "-":
        return f"none placed: {row['fastest that placed']}"
    unit = "cells" if board == "icebreaker" else "LUT"
    fmax, _, seed = row["fmax MHz"].partition(" ")
    return (f"{row['cycles/frame']} cycles ({row['fastest that placed']}), "
            f"{fmax} MHz {seed}, {row['frames/s']}/s, {row['logic as placed']} {unit}, "
            f"{row['BRAM']} BRAM")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(PUBLISHED))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--synth", action="append", default=[], choices=list(BOARDS),
                    help="also synthesize with yosys for this family")
    ap.add_argument("--docs", action="store_true", help="write the table into the docs")
    args = ap.parse_args()
    fams = list(BOARDS)
    explored_at, explored = read_table("explore")
    explored_at = explored_at.split(" at ", 1)[1].split(".*", 1)[0]
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
               *(fastest_placed(variant, b, explored) for b in PLACED_ON),
               FINN.get(variant, "-")]
        table.add(*row)
        print(" | ".join(row), f"({time.monotonic() - start:.0f} s)", flush=True)
    if args.docs:
        table.write(note="Accuracy on all 10,000 MNIST test images by hwgen.reference (equal "
                    "to the torch model's on every image); training on one core, wall "
                    "time; estimates at each board's clock. Fastest placed: the fastest "
                    f"candidate of bench/explore.py (the w1a1 models) that meets the board "
                    f"clock, from its table above ({explored_at}), frames/s at its fmax. "
                    "cycles/frame: TFC at finn-examples' folding, SFC and LFC at the "
                    "example's (finn-examples has neither).")


if __name__ == "__main__":
    main()
