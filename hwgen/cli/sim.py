"""``hwgen sim``: simulate a build folder and check it bit-exact against the reference."""

from __future__ import annotations

import math
from functools import partial
from pathlib import Path

from hwgen.cli.common import CliError, cluster_args, load_frames, print_sim, say, seed
from hwgen.flows.record import BuildReport
from hwgen.sim.runner import SIMULATORS, simulate_and_record
from hwgen.sim.shard import simulate_sharded


def add_parser(sub) -> None:
    s = sub.add_parser("sim", help="simulate a build folder and check it bit-exact")
    s.add_argument("dir", help="a folder written by 'hwgen build'")
    s.add_argument("--frames", type=int, help="random input frames (default 20)")
    s.add_argument("--inputs", help="npz with an array 'x' of input values (frames, ...), "
                   "and optionally 'y', labels to score against (hwgen dataset writes one)")
    s.add_argument("--simulator", choices=SIMULATORS, default="icarus",
                   help="icarus or verilator: the cocotb bench; compiled: Verilator with a "
                   "C++ bench, the same stalls and checks at the simulator's speed (for long "
                   "runs; built once per design and cached)")
    s.add_argument("--seed", type=seed, default=0)
    s.add_argument("--stall", type=float, default=0.3,
                   help="probability of a tvalid gap / tready stall per cycle (default 0.3)")
    cluster_args(s, "one simulation of all frames; with either, the frames are split into "
                 "shards, one Dask job each, and merged in frame order")
    s.set_defaults(func=run)


def run(args) -> int:
    if args.inputs and args.frames is not None:
        raise CliError("--frames and --inputs exclude each other: the frames are the inputs'")
    inputs, labels = load_frames(args.inputs) if args.inputs else (None, None)
    if inputs is not None:
        shape = BuildReport.load(Path(args.dir)).input.shape
        if inputs.ndim >= 2 and math.prod(inputs.shape[1:]) == math.prod(shape):
            inputs = inputs.reshape(len(inputs), *shape)  # a data set's flat images
        if labels is not None and len(labels) != len(inputs):
            raise CliError(f"{args.inputs}: {len(labels)} labels 'y' for {len(inputs)} frames "
                           "'x'")
    frames = 20 if args.frames is None else args.frames
    run = simulate_and_record
    if args.cluster or args.workers:
        run = partial(simulate_sharded, cluster=args.cluster, workers=args.workers)
    result = run(Path(args.dir), inputs, frames=frames, simulator=args.simulator,
                 seed=args.seed, stall=args.stall, progress=say)
    print_sim(result)
    if labels is not None and result.outputs[0].size == 1:
        right = int((result.outputs.reshape(-1) == labels.reshape(-1)).sum())
        ref = int((result.expected.reshape(-1) == labels.reshape(-1)).sum())
        say(f"  accuracy against the labels 'y': RTL {right}/{len(labels)} = "
            f"{right / len(labels):.2%}, reference {ref}/{len(labels)} = "
            f"{ref / len(labels):.2%}")
    say(f"  wrote {Path(args.dir) / 'sim.json'}")
    return 0 if result.mismatches == 0 else 1
