"""Prints, for a ResNet-style stack (stem conv, three residual blocks, the last with a 1x1
projection shortcut, pooling, dense) at two foldings: cycles per frame by formula and in
simulation, every join's FIFO depths (the skip path's from the other branch's latency),
and the estimate for one board.

    .venv/bin/python bench/resnet.py [--frames N] [--board B] [--simulator S]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from doctable import Table

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.sim.runner import simulate

FOLDINGS = {  # per conv: (pe, simd); per add: pe
    "slow": {"conv": (2, 4), "widen": (4, 8), "wide": (4, 8), "proj": (2, 4), "add": 1},
    "fast": {"conv": (8, 8), "widen": (8, 8), "wide": (8, 16), "proj": (8, 8), "add": 4},
}


def resnet(folding: str, seed: int = 0) -> ir.Graph:
    f, rng = FOLDINGS[folding], np.random.default_rng(seed)

    def conv(name, cin, cout, k, fold, src):
        w = rng.choice([-1, 1], (cout, k, k, cin))
        t = np.sort(rng.integers(-k * k * cin, k * k * cin, (cout, 3)), axis=1)
        return ops.Conv2d(name, weight_dtype="bin", weights=w, padding=k // 2, pe=fold[0],
                         simd=fold[1], inputs=[src], activation=ir.Threshold("uint2", t))

    def add(name, a, b, ch):
        t = np.sort(rng.integers(0, 7, (ch, 3)), axis=1)
        return ops.Add(name, inputs=[a, b], pe=f["add"], activation=ir.Threshold("uint2", t))

    layers = [conv("stem", 1, 8, 3, (8, 1), "input")]
    src = "stem"
    for b in (1, 2):  # identity shortcuts
        layers += [conv(f"b{b}c1", 8, 8, 3, f["conv"], src),
                   conv(f"b{b}c2", 8, 8, 3, f["conv"], f"b{b}c1"),
                   add(f"b{b}add", f"b{b}c2", src, 8)]
        src = f"b{b}add"
    layers += [ops.MaxPool2d("pool1", kernel=2, inputs=[src]),  # 4x4x8
               conv("b3c1", 8, 16, 3, f["widen"], "pool1"),
               conv("b3c2", 16, 16, 3, f["wide"], "b3c1"),
               conv("b3proj", 8, 16, 1, f["proj"], "pool1"),
               add("b3add", "b3c2", "b3proj", 16),
               ops.MaxPool2d("pool2", kernel=2),
               ops.Dense("fc", weight_dtype="int4", weights=rng.integers(-8, 8, (10, 64)), pe=2,
                        simd=16),
               ops.ArgMax("top")]
    return ir.Graph(f"resnet_{folding}", ir.Tensor((8, 8, 1), DType.parse("uint4")), layers)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--board", default="ulx3s-85f")
    ap.add_argument("--simulator", default="verilator")
    ap.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args()
    board = load_board(args.board)
    table = Table("resnet", ["graph", "cycles/frame (formula)", "simulated", "mismatches",
                             "latency simulated", "latency estimated", "join FIFO beats",
                             "LUT", "FF", "BRAM", "DSP", "frames/s"])
    for folding in FOLDINGS:
        g = resnet(folding)
        p = plan(g)
        est = estimate(p, board)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.monotonic()
            build(g, Path(tmp) / "out")
            gen = time.monotonic() - start
            r = simulate(Path(tmp) / "out", frames=args.frames, simulator=args.simulator, seed=1)
        t = est.total
        print(f"{g.name}: {p.cycles} cycles/frame by formula (bottleneck "
              f"{p.bottleneck.layer.name}), {r.cycles_per_frame} simulated on {args.simulator} "
              f"({r.frames} frames, {r.mismatches} mismatches, random stalls and free-running); "
              f"latency {r.latency_cycles} simulated, {est.latency} estimated; generated in "
              f"{gen:.1f} s")
        joins = []
        for lp in p.layers:
            if len(lp.sources) > 1:
                joins.append(f"{lp.layer.name}: " + ", ".join(
                    f"{s} {d} (of {x.size // e} per frame)" for s, d, x, e in
                    zip(lp.sources, lp.fifo_depths, lp.xs, lp.elems, strict=True)))
                print(f"  {lp.layer.name}: FIFO beats {joins[-1].split(': ', 1)[1]}")
        table.add(g.name, p.cycles, r.cycles_per_frame, r.mismatches, r.latency_cycles,
                  est.latency, "; ".join(joins), f"{t.lut:,.0f}", f"{t.ff:,.0f}", f"{t.bram:g}",
                  f"{t.dsp:g}", f"{est.fps:,.0f}")
        print(f"  estimate on {board.name}: {t.lut:,.0f} LUT, {t.ff:,.0f} FF, {t.bram:g} BRAM, "
              f"{t.dsp:g} DSP; {est.fps:,.0f} frames/s at {board.clock_mhz:g} MHz")
    if args.docs:
        table.write(f"Simulated on {args.simulator} ({args.frames} frames, random stalls then "
                    f"free-running); estimates for {board.name} at {board.clock_mhz:g} MHz.")


if __name__ == "__main__":
    main()
