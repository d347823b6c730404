"""What N:M pruning buys (issue 25): one table for the digits MLP and CNN and an MNIST
model, rows dense, 2:4 and 1:4, and what skipping zero activations would give.

Per row:
- accuracy of the exported integer graph on the example's test split (449 digits or
  MNIST's 10,000), after ``hwgen.compress(NAME, "prune", pattern=...)`` fine-tuned
  on the training split (``--epochs``, or :data:`EPOCHS`: the digits' 1,348 images take
  more epochs than MNIST's 60,000); the dense row is the example as trained;
- the lanes (sum of PE x SIMD over the weighted layers: a pruned layer takes the slot
  count closest to its SIMD) and the cycles per frame measured in simulation (Icarus, a
  few frames of test inputs, free-running phase), beside the estimate;
- yosys LUT / FF / BRAM for ``--family`` at that folding (``--no-synth`` skips it);
- the fastest folding ``hwgen fold`` finds for the iCEBreaker (by the estimate).

The zero-skipping row is computed from the test activations, not simulated: for every
dense layer whose input dtype holds 0 (not binary), they give per frame the SIMD slices
that are all zero, and the matrix unit built with ``zero_skip`` (which skips them in its
replays; the first row group reads every beat as it arrives) takes sf + (nf - 1) x (slices
not all zero, the last one always) cycles, exactly (tests/ops/test_zero_skip.py). The
row gives, for the layer that bounds the frame, the mean over the test frames beside the
worst case (dense). ``--skip-examples`` adds that row alone for models
whose activations hold zeros (the 2-bit MNIST variants: -1, 0, +1).

    .venv/bin/python bench/sparsity.py [--examples digits-mlp,digits-cnn,mnist-sfc]
        [--skip-examples mnist-sfc-w1a2] [--epochs N] [--family ice40] [--no-synth] [--docs]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from doctable import Table, command_line

import hwgen
from hwgen import reference
from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.errors import FoldError, SynthError
from hwgen.flows.build import build
from hwgen.flows.synth import synth_resources
from hwgen.hw.top import Accelerator
from hwgen.ops import Dense
from hwgen.ops.weighted import Weighted
from hwgen.sim.runner import simulate

FAMILY_BOARD = {"ice40": "icebreaker", "ecp5": "ulx3s-85f"}
PATTERNS = ("2:4", "1:4")
EPOCHS = {"digits-mlp": 60, "digits-cnn": 60}  # fine-tuning epochs; others 20


def log(message: str) -> None:
    print(message, flush=True)


def lanes(graph) -> int:
    return sum(layer.pe * layer.simd for layer in graph.layers if isinstance(layer, Weighted))


def measured_cycles(graph, test_x: np.ndarray, board) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        build(graph, Path(tmp) / "out", board, progress=lambda s: None)
        got = simulate(Path(tmp) / "out", test_x[:4], stall=0.0)
        if got.mismatches:
            raise SystemExit(f"{graph.name}: {got.mismatches} mismatches: {got.first_mismatch}")
        return got.cycles_per_frame


def fastest_fit(graph) -> str:
    try:
        got = fold(graph, "icebreaker")
    except FoldError as err:
        return f"none: {str(err).splitlines()[0]}"
    folding = ", ".join(f"{e.name} {e.pe}x{e.simd}" for e in got.estimate.layers
                        if e.pe and e.simd)
    return f"{got.estimate.cycles:,} cycles ({folding})"


def zero_skip(graph, test_x: np.ndarray) -> str:
    """Cycles a frame with zero slices skipped in the replays, over the test frames: the
    layer that bounds the frame, its mean and range against the dense worst case."""
    values = reference.values(graph, test_x)
    est = estimate(graph, "icebreaker")
    per_layer = {e.name: e.cycles for e in est.layers}
    skipping, zeros = {}, {}
    for layer, xs, _ in graph.layer_io():
        if not isinstance(layer, Dense) or not xs[0].dtype.contains(np.array([0])) or \
                xs[0].dtype.kind == "bin":
            continue
        x = values[layer.inputs[0]].reshape(len(test_x), -1)
        elems = layer.in_elems(layer.simd)
        sf, nf = x.shape[1] // elems, layer.units // layer.pe
        busy = (x.reshape(len(x), sf, elems) != 0).any(axis=2)
        busy[:, -1] = True  # the last slice closes the row group
        skipping[layer.name] = sf + (nf - 1) * busy.sum(axis=1)
        zeros[layer.name] = float(np.mean(x == 0))
    if not skipping:
        return "nothing to skip: no dense layer reads a dtype holding 0 (binary inputs)"
    frames = np.max([np.full(len(test_x), c) for name, c in per_layer.items()
                     if name not in skipping] + list(skipping.values()), axis=0)
    layers = ", ".join(f"{n} {c.mean():.1f} of {per_layer[n]} ({zeros[n]:.0%} of its inputs "
                       "zero)" for n, c in skipping.items())
    return (f"frame {frames.mean():.1f} mean ({frames.min()}..{frames.max()}) of "
            f"{est.cycles} worst; layers that skip: {layers}")


def reference_accuracy(ex) -> float:
    return float(np.mean(reference.run(ex.graph, ex.test_x).reshape(-1) == ex.test_y))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", default="digits-mlp,digits-cnn,mnist-sfc")
    ap.add_argument("--skip-examples", default="mnist-sfc-w1a2",
                    help="examples that get only the zero-skipping row")
    ap.add_argument("--epochs", type=int, help="fine-tuning epochs (default: EPOCHS)")
    ap.add_argument("--family", default="ice40", choices=sorted(FAMILY_BOARD))
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--docs", action="store_true", help="write the table into "
                    "docs/benchmarks.md")
    args = ap.parse_args()
    board = load_board(FAMILY_BOARD[args.family])
    table = Table("sparsity", ["example", "row", "accuracy", "lanes", "cycles/frame measured",
                               "estimated", f"yosys LUT/FF/BRAM {args.family}",
                               "fastest fit on iCEBreaker (estimate)"])
    for name in filter(None, args.examples.split(",")):
        start = time.monotonic()
        epochs = args.epochs or EPOCHS.get(name, 20)
        results = {p: hwgen.compress(name, "prune", pattern=p, epochs=epochs,
                                     progress=lambda s: None) for p in PATTERNS}
        first = results[PATTERNS[0]]
        ex = hwgen.examples.get_example(name)(progress=lambda s: None)
        rows = [("dense", first.original, first.accuracy_before)]
        rows += [(p, r.graph, r.accuracy_after) for p, r in results.items()]
        for label, graph, acc in rows:
            cycles = measured_cycles(graph, ex.test_x, board)
            synth = "-"
            if not args.no_synth:
                try:
                    got = synth_resources(Accelerator(plan(graph, board.timing)), board.family)
                    synth = f"{got.lut:,.0f} / {got.ff:,.0f} / {got.bram:.0f}"
                except SynthError as err:
                    synth = f"failed: {str(err).splitlines()[0]}"
            table.add(name, label if label == "dense" else f"{label}, {epochs} epochs",
                      f"{acc:.2%}", lanes(graph), f"{cycles:g}",
                      estimate(graph, board).cycles, synth, fastest_fit(graph))
            log(f"  {name} {label}: {acc:.2%}, {cycles:g} cycles, {synth}")
        table.add(name, "zero skipping (computed)", "as dense", lanes(first.original),
                  zero_skip(first.original, ex.test_x), "-", "-", "-")
        log(f"{name}: {time.monotonic() - start:.0f} s")
    for name in filter(None, args.skip_examples.split(",")):
        ex = hwgen.examples.get_example(name)(progress=lambda s: None)
        table.add(name, "zero skipping (computed)", f"{reference_accuracy(ex):.2%}",
                  lanes(ex.graph), zero_skip(ex.graph, ex.test_x), "-", "-", "-")
    print(table.markdown(command_line()))
    if args.docs:
        table.write(note="Cycles measured in Icarus over 4 test frames.")


if __name__ == "__main__":
    main()
