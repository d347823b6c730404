"""``hwgen demo``: train, export, build and simulate an example (digits or MNIST)
(:func:`hwgen.examples.demo.demo` does it; this prints each step and the comparison)."""

from __future__ import annotations

import numpy as np

from hwgen.cli.common import print_build, print_sim, say, seed
from hwgen.examples import EXAMPLES
from hwgen.examples.demo import demo
from hwgen.sim.runner import SIMULATORS


def add_parser(sub) -> None:
    d = sub.add_parser("demo", help="train, export, build and simulate an example "
                       "(the digits MLP by default; mnist-tfc: all 10,000 MNIST test images)")
    d.add_argument("--example", choices=list(EXAMPLES), default="digits-mlp")
    d.add_argument("--out", help="output folder (default build/EXAMPLE)")
    d.add_argument("--frames", type=int, help="test images to simulate (default 0: all of "
                   "them: 449 digits, 10,000 MNIST images)")
    d.add_argument("--simulator", choices=SIMULATORS,
                   help="default: icarus for the digits MLP, compiled (Verilator) for the "
                   "others")
    d.add_argument("--seed", type=seed, default=0)
    d.set_defaults(func=run)


def run(args) -> int:
    result = demo(args.example, args.out, frames=0 if args.frames is None else args.frames,
                  simulator=args.simulator, seed=args.seed, progress=say,
                  on_build=print_build, on_sim=print_sim)
    n = len(result.labels)
    say("")
    say(f"results on {n:,} held-out test images (seed {result.seed}):")
    rtl = "RTL (Verilator)" if result.simulator == "compiled" else f"RTL ({result.simulator})"
    for label, pred in (("torch model", result.torch), ("reference", result.reference),
                        (rtl, result.rtl)):
        correct = int(np.sum(pred == result.labels))
        say(f"  accuracy {label:<15} {100 * correct / n:6.2f} %  ({correct}/{n})")
    say(f"  image by image, torch == reference == RTL: {result.agree}/{n}")
    sim, built = result.sim, result.built
    say(f"  cycles per frame (simulated): {sim.cycles_per_frame} "
        f"(formula {sim.expected_cycles_per_frame}); latency {sim.latency_cycles} cycles")
    say(f"  files: {built.out_dir} ({built.verilog.name}, report.md, sim.json)")
    say(f"  total {result.seconds:.1f} s")
    if not result.ok:
        say("demo FAILED: the three models disagree")
    return 0 if result.ok else 1
