"""What each compression method buys in hardware, against what it costs in accuracy
(issue 13): one row per method and setting on the digits MLP and the digits CNN, all
against the uncompressed baseline trained in the same run.

Per row: accuracy of the exported integer graph on the test split (what the hardware
computes), weights and stored weight bits (codebook layers: indices plus the table),
estimated and yosys-measured LUTs / flip-flops / block RAMs for ``--family`` at the
graph's own folding, and cycles per frame. A second table folds the baseline and each
channel-pruned graph (``hwgen fold`` on ``--budget-board``) and gives, for each folding of
the baseline, the fewest cycles per frame each graph reaches with no more estimated LUTs
(and no more block RAMs and DSPs than the baseline's largest folding): the cycle win of
pruning at equal area. A third gives the fastest folding of each that fits
``--fit-board``.

Fine-tuning protocol, the same for every method: the training split is cut 80/20 into
fit and held-out samples (seeded); the compressed model trains ``--epochs`` epochs on the
fit part (Adam, cosine decay, lr 3e-3), and the epoch with the best held-out accuracy
is kept (the untrained start included). The baseline gets the same fine-tuning as a row
of its own, so "points lost" compare like with like.

Codebooks need weights wider than their indices: those rows start from the example
trained with int8 weights (a baseline row of its own). Distillation trains a fresh copy
of the example from that int8 model's softened outputs (T=4, alpha 0.7) on the whole
training split for the example's own epochs, against the example trained on labels alone.

    .venv/bin/python bench/compression.py [--examples digits-mlp,digits-cnn] [--epochs 30]
        [--family ice40] [--no-synth] [--save DIR]
"""

from __future__ import annotations

import argparse
import copy
import inspect
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from doctable import Table

from hwgen import compress, reference
from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.compress import channels, codebook, distill, lowrank, prune
from hwgen.compress.codebook import storage_bits
from hwgen.core.errors import FoldError, SynthError
from hwgen.examples import get_example
from hwgen.examples.digits import load
from hwgen.flows.synth import synth_resources
from hwgen.frontends import quant
from hwgen.hw.top import Accelerator

FAMILY_BOARD = {"ice40": "icebreaker", "ecp5": "ulx3s-85f", "xilinx": "pynq-z2"}
SETTINGS = {  # example: (channel consumer and keeps, low-rank layer and ranks, sparsities)
    "digits-mlp": (("fc2", (32, 16)), ("fc2", (16, 8)), (0.5, 0.75, 0.9)),
    "digits-cnn": (("conv2", (24, 16, 8)), ("fc1", (5,)), (0.5, 0.75)),
}
CODEBOOK_BITS = (4, 3, 2)


@dataclass
class Row:
    example: str
    method: str
    setting: str
    graph: object
    accuracy: float
    reference_row: str  # the baseline it is compared with


def log(message: str) -> None:
    print(message, flush=True)


def quiet(_: str) -> None:
    pass


class Data:
    """The digits split for an example's input shape: fit / held-out / test."""

    def __init__(self, shape: tuple[int, ...], seed: int):
        train_x, train_y, test_x, test_y = load(seed)
        order = np.random.default_rng(seed + 1).permutation(len(train_x))
        cut = len(order) * 4 // 5
        fit, held = order[:cut], order[cut:]
        self.all_x, self.all_y = train_x.reshape(-1, *shape), train_y
        self.fit_x, self.fit_y = self.all_x[fit], train_y[fit]
        self.val = (self.all_x[held], train_y[held])
        self.test_x, self.test_y = test_x.reshape(-1, *shape), test_y


def test_accuracy(graph, data: Data) -> float:
    return float(np.mean(reference.run(graph, data.test_x).reshape(-1) == data.test_y))


def tuned(model, data: Data, epochs: int, seed: int, **kwargs):
    compress.finetune(model, data.fit_x, data.fit_y, epochs=epochs, seed=seed,
                      val=data.val, progress=quiet, **kwargs)
    return model


def rows_for(name: str, epochs: int, seed: int) -> list[Row]:
    make = get_example(name)
    (consumer, keeps), (split, ranks), sparsities = SETTINGS[name]
    start = time.monotonic()
    base = make(seed=seed, progress=quiet)
    wide = make(seed=seed, progress=quiet, weight_dtype="int8")
    shape = base.graph.input.shape
    data = Data(shape, seed)
    log(f"{name}: trained the baseline and the int8 variant in "
        f"{time.monotonic() - start:.0f} s")
    rows: list[Row] = []

    def add(method: str, setting: str, model, against: str) -> None:
        graph = quant.export(model, name=f"{base.graph.name}_{method}", input_shape=shape)
        rows.append(Row(name, method, setting, graph, test_accuracy(graph, data), against))
        log(f"  {method:<10} {setting:<22} {rows[-1].accuracy:.2%}")

    add("baseline", "bin weights", base.model, "baseline bin weights")
    add("baseline", f"fine-tuned {epochs} ep", tuned(copy.deepcopy(base.model), data, epochs,
                                                      seed), "baseline bin weights")
    ref = f"baseline fine-tuned {epochs} ep"
    for target in sparsities:
        model = prune.prune_magnitude(base.model, target)
        add("prune", f"{target:.0%} zeros", tuned(model, data, epochs, seed), ref)
    index = compress.module_index(base.model, consumer)
    for keep in keeps:
        model, _ = channels.prune_channels(base.model, index, keep, data.fit_x)
        compress.recalibrate(model, data.fit_x)
        add("channels", f"{consumer} reads {keep}", tuned(model, data, epochs, seed), ref)
    index = compress.module_index(base.model, split)
    for rank in ranks:
        model, _ = lowrank.factorize_dense(base.model, index, rank=rank)
        add("lowrank", f"{split} rank {rank}", tuned(model, data, epochs, seed), ref)
    add("baseline", "int8 weights", wide.model, "baseline int8 weights")
    for bits in CODEBOOK_BITS:
        model = codebook.share_weights(wide.model, bits)
        add("codebook", f"int8, {bits}-bit indices", tuned(model, data, epochs, seed),
            "baseline int8 weights")
    student = make(seed=seed, epochs=0, progress=quiet).model
    own_epochs = inspect.signature(make).parameters["epochs"].default
    distill.distill(student, wide.model, data.all_x, data.all_y, epochs=own_epochs,
                    seed=seed, progress=quiet)  # the baseline's data and epochs
    add("distill", "from the int8 model", student, "baseline bin weights")
    log(f"{name}: {len(rows)} rows in {time.monotonic() - start:.0f} s")
    return rows


def hardware(row: Row, board, synth: bool) -> dict:
    est = estimate(row.graph, board)
    stored, _ = storage_bits(row.graph)
    got = {"weights": sum(layer.weights.size for layer in compress.weighted_layers(row.graph)),
           "bits": stored, "est": est.total, "cycles": est.cycles, "synth": None}
    if synth:
        try:
            got["synth"] = synth_resources(Accelerator(plan(row.graph, board.timing)),
                                           board.family)
        except SynthError as err:
            log(f"  synthesis of {row.example} {row.method} {row.setting} failed: {err}")
    return got


def pareto(graph, board) -> list[tuple[tuple[float, float, float], int]]:
    """((estimated LUTs, BRAMs, DSPs), cycles per frame) of every folding ``fold``
    explores."""
    return [((e.total.lut, e.total.bram, e.total.dsp), e.cycles)
            for e in fold(graph, board).explored]


def fastest_within(points, budget: tuple[float, float, float]) -> int | None:
    """The fewest cycles of a folding that needs no more of any resource than ``budget``
    (LUTs, block RAMs, DSPs)."""
    within = [cycles for need, cycles in points
              if all(n <= b for n, b in zip(need, budget, strict=True))]
    return min(within) if within else None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--examples", default="digits-mlp,digits-cnn")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--family", default="ice40", choices=sorted(FAMILY_BOARD))
    ap.add_argument("--budget-board", default="ulx3s-85f")
    ap.add_argument("--fit-board", default="icebreaker")
    ap.add_argument("--save", help="write every row's graph into this folder")
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--docs", action="store_true", help="write the tables into docs/benchmarks.md")
    args = ap.parse_args()
    methods = Table("compression", ["example", "method", "setting", "accuracy", "vs (points)",
                                    "weights", "weight bits", "est. LUT", "est. FF",
                                    "est. BRAM", "yosys LUT", "yosys FF", "yosys BRAM",
                                    "yosys DSP", "cycles/frame"])
    fits = Table("compression-fit", ["example", "method", "setting", "fastest folding that fits"])
    board = load_board(FAMILY_BOARD[args.family])
    start = time.monotonic()
    rows = [row for name in args.examples.split(",")
            for row in rows_for(name, args.epochs, args.seed)]
    accuracy = {(r.example, f"{r.method} {r.setting}"): r.accuracy for r in rows}
    log(f"\nhardware for {board.name} ({args.family}, {board.clock_mhz:g} MHz: the "
        f"pipelining of that clock), own folding; yosys {'skipped' if args.no_synth else ''}")
    log(f"{'example':<11} {'method':<9} {'setting':<22} {'acc':>6} {'vs':>6} "
        f"{'weights':>7} {'w bits':>7} | {'est LUT':>7} {'FF':>5} {'BRAM':>4} | "
        f"{'yosys LUT':>9} {'FF':>5} {'BRAM':>4} {'DSP':>4} | {'cycles':>6}")
    for row in rows:
        hw = hardware(row, board, not args.no_synth)
        base = accuracy[(row.example, row.reference_row)]
        est, got = hw["est"], hw["synth"]
        measured = (f"{got.lut:>9,.0f} {got.ff:>5,.0f} {got.bram:>4.0f} {got.dsp:>4.0f}"
                    if got else f"{'-':>9} {'-':>5} {'-':>4} {'-':>4}")
        log(f"{row.example:<11} {row.method:<9} {row.setting:<22} {row.accuracy:>6.1%} "
            f"{(row.accuracy - base) * 100:>+6.1f} {hw['weights']:>7,} {hw['bits']:>7,} | "
            f"{est.lut:>7,.0f} {est.ff:>5,.0f} {est.bram:>4.0f} | {measured} | "
            f"{hw['cycles']:>6,}")
        yosys = ([f"{got.lut:,.0f}", f"{got.ff:,.0f}", f"{got.bram:.0f}", f"{got.dsp:.0f}"]
                 if got else ["-"] * 4)
        methods.add(row.example, row.method, row.setting, f"{row.accuracy:.1%}",
                    f"{(row.accuracy - base) * 100:+.1f}", f"{hw['weights']:,}",
                    f"{hw['bits']:,}", f"{est.lut:,.0f}", f"{est.ff:,.0f}", f"{est.bram:.0f}",
                    *yosys, f"{hw['cycles']:,}")
    log("('vs': points against the row named in the bench's docstring: the fine-tuned "
        "baseline, the int8 baseline for codebooks, the label-trained baseline for "
        "distillation)")

    budget_board = load_board(args.budget_board)
    log(f"\ncycles per frame at equal estimated budgets ({budget_board.name}, "
        f"{budget_board.family}): the fastest folding of each graph that needs no more LUTs "
        "than each of the baseline's foldings and no more block RAMs and DSPs than its "
        "largest (x: the baseline's cycles over the graph's)")
    for name in args.examples.split(","):
        graphs = [r for r in rows if r.example == name
                  and (r.method == "channels" or r.setting.startswith("fine-tuned"))]
        curves = [pareto(r.graph, budget_board) for r in graphs]
        own = estimate(graphs[0].graph, budget_board)
        # block RAMs and DSPs up to the most any folding of the baseline uses: a pruned
        # graph's buffers may leave block RAM for logic, which its LUTs then pay for
        cap = [max(need[k] for need, _ in curves[0]) for k in (1, 2)]
        mine = (own.total.lut, *cap)
        budgets = sorted({(need[0], *cap) for need, _ in curves[0]} | {mine})
        log(f"(* the baseline's own folding: {own.cycles:,} cycles)")
        log(f"{name}: {'LUT':>7} {'BRAM':>4} {'DSP':>3} " + " ".join(
            f"{r.setting:>16}" for r in graphs))
        for budget in budgets:
            cells = [fastest_within(c, budget) for c in curves]
            base_cycles = cells[0]
            mark = "*" if budget == mine else " "
            lut, bram, dsp = budget
            log(f"{'':<{len(name)}}{mark} {lut:>7,.0f} {bram:>4.0f} {dsp:>3.0f} " + " ".join(
                f"{'-':>16}" if c is None else
                f"{c:>8,} ({base_cycles / c:>4.2f}x)" for c in cells))
    fit_board = load_board(args.fit_board)
    log(f"\nthe fastest folding that fits {fit_board.name} (hwgen fold, estimated; build "
        "the saved graph with --bitstream --fit for nextpnr's word)")
    for row in rows:
        if row.method != "channels" and not row.setting.startswith("fine-tuned"):
            continue
        try:
            est = fold(row.graph, fit_board).estimate
            use = est.utilization()
            most = max(use, key=use.get)
            said = (f"{est.cycles:>7,} cycles/frame, {est.fps:>9,.0f} frames/s at "
                    f"{fit_board.clock_mhz:g} MHz, {use[most]:.0%} of the {most}")
        except FoldError as err:
            said = str(err)
        log(f"  {row.example:<11} {row.method:<9} {row.setting:<22} {said}")
        fits.add(row.example, row.method, row.setting, " ".join(said.split()))
    if args.docs:
        methods.write(f"Resources for {board.name} ({args.family}) at each graph's own "
                      "folding; accuracy on the test split (449 digits); 'vs': points "
                      "against the fine-tuned baseline (the int8 baseline for codebooks, the "
                      "label-trained one for distillation).")
        fits.write(f"The fastest folding that fits {fit_board.name} (hwgen fold, estimated).")
    if args.save:
        folder = Path(args.save)
        for row in rows:
            slug = re.sub(r"[^a-z0-9]+", "_", f"{row.method} {row.setting}".lower()).strip("_")
            row.graph.save(folder / f"{row.example.replace('-', '_')}_{slug}")
        log(f"graphs written to {folder}/")
    log(f"\ntotal {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
