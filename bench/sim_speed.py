"""Simulation speed of the three benches on a small CNN and on FINN's CNV-w1a1 (FINN's
folding, 32,768 cycles per frame), all in one run:

- per-cycle cocotb: hwgen's bench before this change (bench/percycle_bench.py), Python
  wakes every cycle;
- cocotb: hwgen.sim.bench, wakes on handshakes and idle periods only;
- compiled: Verilator and sim/harness.cpp, no Python while it runs.

Every run streams the same frames through two phases (random stalls, then none);
"frame cycles/s" is frames x 2 x cycles per frame over the wall time of the run,
checks against the reference included (simulator builds excluded: each bench runs
once before it is timed; the compiled bench runs 20 times the frames). The cocotb
and compiled benches draw the same stalls, so their records must be identical.

    .venv/bin/python bench/sim_speed.py [--frames N] [--cnv-frames N] [--skip-slow]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.flows.record import BuildReport
from hwgen.sim import runner
from hwgen.sim.runner import simulate

sys.path.insert(0, str(Path(__file__).parent))
import finn_topologies
from doctable import Table

os.environ["PYTHONPATH"] = os.pathsep.join(  # cocotb imports the baseline bench from here
    [str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])


COMPILED_MORE = 20  # the compiled bench runs this many times the frames, to time it at all


def small_cnn() -> ir.Graph:
    """8x8 uint4 image, 3x3 conv to 8 channels (1-bit weights, 2-bit activations), 2x2 max
    pool, dense to 10 labels, argmax: 576 cycles per frame."""
    rng = np.random.default_rng(0)
    conv = ops.Conv2d("conv", weight_dtype="bin", weights=rng.choice([-1, 1], (8, 3, 3, 1)),
                     padding=1, pe=8, simd=1,
                     activation=ir.Threshold("uint2", np.sort(rng.integers(-60, 60, (8, 3)))))
    dense = ops.Dense("fc", weight_dtype="bin", weights=rng.choice([-1, 1], (10, 128)), pe=1,
                     simd=8)
    return ir.Graph("small_cnn", ir.Tensor((8, 8, 1), DType.parse("uint4")),
                    [conv, ops.MaxPool2d("pool", kernel=2), dense, ops.ArgMax("top")])


def _percycle(out: Path, frames: int, simulator: str) -> tuple[float, dict]:
    """Time the baseline bench through hwgen's runner (its checks included)."""
    real = runner.run_bench

    def baseline(*args, **kwargs):
        return real(*args, **{**kwargs, "test_module": "percycle_bench"})
    runner.run_bench = baseline
    try:
        simulate(out, frames=1, simulator=simulator, seed=1)  # build, untimed
        start = time.monotonic()
        r = simulate(out, frames=frames, simulator=simulator, seed=1)
        return time.monotonic() - start, r
    finally:
        runner.run_bench = real


def _timed(out: Path, frames: int, simulator: str):
    simulate(out, frames=1, simulator=simulator, seed=1)  # build, untimed
    start = time.monotonic()
    r = simulate(out, frames=frames, simulator=simulator, seed=1)
    return time.monotonic() - start, r


TABLE = Table("sim-speed", ["design", "cycles/frame", "bench", "frames", "wall s", "frames/s",
                            "frame cycles/s", "mismatches"])


def measure(name: str, graph: ir.Graph, frames: int, benches: list[tuple[str, str]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / name
        start = time.monotonic()
        build(graph, out)
        cycles = BuildReport.load(out).cycles_per_frame
        print(f"\n{name}: {cycles:,} cycles/frame, Verilog in {time.monotonic() - start:.1f} s, "
              f"{frames} frames x 2 phases per run", flush=True)
        print(f"  {'bench':<26} {'wall s':>8} {'frames/s':>9} {'frame cycles/s':>15} "
              f"{'mismatches':>10}")
        for bench, simulator in benches:
            run = _percycle if bench == "per-cycle cocotb" else _timed
            n = frames * COMPILED_MORE if simulator == "compiled" else frames
            wall, r = run(out, n, simulator)
            rate = 2 * n / wall
            print(f"  {bench + ' ' + simulator:<26} {wall:8.2f} {rate:9.1f} "
                  f"{rate * cycles:15,.0f} {r.mismatches:>10}"
                  f"{f'  ({n} frames)' if n != frames else ''}", flush=True)
            TABLE.add(name, f"{cycles:,}", f"{bench} {simulator}", n, f"{wall:.2f}",
                      f"{rate:.1f}", f"{rate * cycles:,.0f}", r.mismatches)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=20)
    ap.add_argument("--cnv-frames", type=int, default=10)
    ap.add_argument("--skip-slow", action="store_true",
                    help="leave out the per-cycle bench on CNV-w1a1 (about a minute a frame)")
    ap.add_argument("--docs", action="store_true", help="write the table into docs/benchmarks.md")
    args = ap.parse_args()
    everything = [("per-cycle cocotb", "icarus"), ("per-cycle cocotb", "verilator"),
                  ("cocotb", "icarus"), ("cocotb", "verilator"), ("compiled", "compiled")]
    measure("small CNN", small_cnn(), args.frames, everything)
    cnv = [b for b in everything if b[1] != "icarus"]
    if args.skip_slow:
        cnv = [b for b in cnv if b[0] != "per-cycle cocotb"]
    measure("CNV-w1a1", finn_topologies.cnv(np.random.default_rng(0)), args.cnv_frames, cnv)
    if args.docs:
        TABLE.write(note="Frames x 2 phases per run; simulator builds excluded.")


if __name__ == "__main__":
    main()
