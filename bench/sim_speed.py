"""Prints generation time and simulation wall time per frame, Icarus vs Verilator, for the
digits MLP folding (64-64-64-10, binary, 32 cycles per frame) on random weights.

    .venv/bin/python bench/sim_speed.py [--frames N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hwgen import ir
from hwgen.build import build
from hwgen.dtypes import DType
from hwgen.sim.runner import simulate


def mlp() -> ir.Graph:
    rng = np.random.default_rng(0)
    layers = []
    for k, (units, fan_in, pe, simd) in enumerate([(64, 64, 8, 16), (64, 64, 8, 16),
                                                   (10, 64, 2, 16)]):
        w = rng.choice([-1, 1], (units, fan_in))
        act = ir.Threshold("bin", rng.integers(-30, 30, (units, 1))) if k < 2 else None
        layers.append(ir.Dense(f"fc{k + 1}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                               activation=act))
    return ir.Graph("mlp", ir.Tensor((64,), DType.parse("uint4")), [*layers, ir.ArgMax("top")])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=500)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mlp"
        start = time.monotonic()
        build(mlp(), out)
        print(f"generate Verilog: {time.monotonic() - start:.2f} s")
        for simulator in ("icarus", "verilator"):
            start = time.monotonic()
            r = simulate(out, frames=args.frames, simulator=simulator, seed=1)
            wall = time.monotonic() - start
            # two phases (stalls, free) stream every frame
            print(f"{simulator:<9}: {args.frames} frames x 2 phases in {wall:.1f} s "
                  f"({1000 * wall / (2 * args.frames):.2f} ms/frame incl. build), "
                  f"mismatches {r.mismatches}, cycles/frame {r.cycles_per_frame} "
                  f"(formula {r.expected_cycles_per_frame}), latency {r.latency_cycles}")


if __name__ == "__main__":
    main()
