"""Sharded verification: the frames of one simulation split over the workers of a Dask
cluster (:mod:`hwgen.core.jobs`), their records merged in frame order into one result.

Each shard is one job that simulates its frames on a copy of the build folder (its files
travel with the job, so a worker on another machine needs no shared disk) and checks them
against the reference. The merged result is the unsharded one's: its mismatches summed, the
first mismatch the earliest (phase, then frame), outputs in frame order, cycles per frame
the shards' steady state weighed by their frames, the latency that of frame 0. Each shard
starts its own stall pattern from the same seed; a missing or extra beat is said with the
frames of its shard.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen.core.jobs import run_jobs
from hwgen.flows.record import STAMP, BuildReport
from hwgen.ir.codec import load_graph
from hwgen.sim.runner import SimResult, random_inputs, simulate

__all__ = ["Shard", "simulate_sharded"]

MAX_SHARDS = 64  # jobs per run: enough to keep a large cluster busy
MIN_FRAMES = 8  # per shard: fewer and the per-job start-up dominates


@dataclass(frozen=True)
class Shard:
    """Frames ``first``.. of a simulation, with the build folder's files to run them on."""

    first: int
    inputs: np.ndarray
    files: dict[str, bytes]  # build folder file name: contents
    simulator: str
    seed: int
    stall: float


def _run_shard(shard: Shard) -> SimResult:
    """Simulate one shard in a temporary copy of the build folder (a job on a worker)."""
    with tempfile.TemporaryDirectory(prefix="hwgen-shard-") as tmp:
        for name, data in shard.files.items():
            (Path(tmp) / name).write_bytes(data)
        return simulate(tmp, shard.inputs, simulator=shard.simulator, seed=shard.seed,
                        stall=shard.stall)


def _merge(parts: list[tuple[int, SimResult]], wall: float) -> SimResult:
    """One result from the shards' (first frame, result), as the unsharded run gives it."""
    parts = sorted(parts, key=lambda p: p[0])
    first_result = parts[0][1]
    mismatches = [dict(r.first_mismatch, frame=r.first_mismatch["frame"] + first)
                  for first, r in parts if r.first_mismatch]
    order = {"stalls": 0, "free": 1}
    first = min(mismatches, key=lambda m: (order.get(m["phase"], 2), m["frame"]),
                default=None)
    steady = [(r.cycles_per_frame, r.frames) for _, r in parts]
    cycles = (sum(c * n for c, n in steady) / sum(n for _, n in steady)
              if all(c is not None for c, _ in steady) else None)
    errors = [f"frames {first}..{first + r.frames - 1}: {e}" for first, r in parts
              for e in r.beat_errors]
    return SimResult(first_result.simulator, sum(r.frames for _, r in parts),
                     sum(r.mismatches for _, r in parts), first, cycles,
                     first_result.expected_cycles_per_frame, first_result.latency_cycles,
                     round(wall, 2), np.concatenate([r.outputs for _, r in parts]),
                     np.concatenate([r.expected for _, r in parts]), errors)


def simulate_sharded(build_dir: str | os.PathLike, inputs: np.ndarray | None = None, *,
                     frames: int = 20, simulator: str = "compiled", seed: int = 0,
                     stall: float = 0.3, cluster: str | None = None,
                     workers: int | None = None, progress=print) -> SimResult:
    """:func:`hwgen.sim.runner.simulate_and_record` with the frames split into shards run
    on the Dask scheduler at ``cluster`` or a local cluster of ``workers`` processes; the
    merged result is written to the build folder's ``sim.json``."""
    build_dir = Path(build_dir)
    report = BuildReport.load(build_dir)
    if inputs is None:
        inputs = random_inputs(load_graph(build_dir / "graph.json"), frames, seed)
    inputs = np.asarray(inputs)
    names = [STAMP, "report.json", "graph.json", "graph.npz", report.verilog]
    files = {name: (build_dir / name).read_bytes() for name in names
             if (build_dir / name).is_file()}
    count = max(1, min(MAX_SHARDS, len(inputs) // MIN_FRAMES))
    size = math.ceil(len(inputs) / count)
    shards = [Shard(first, inputs[first:first + size], files, simulator, seed, stall)
              for first in range(0, len(inputs), size)]
    progress(f"simulating {build_dir} on {simulator} in {len(shards)} shards of up to {size} "
             f"frames ({len(inputs)} frames, random stalls p={stall}, then free-running)")
    start = time.monotonic()
    parts = []
    for k, result in run_jobs(_run_shard, shards, cluster=cluster, workers=workers,
                              retries=0, say=progress):
        parts.append((shards[k].first, result))
        progress(f"  shard {len(parts)}/{len(shards)} done: frames {shards[k].first}.."
                 f"{shards[k].first + result.frames - 1}, {result.mismatches} mismatches")
    merged = _merge(parts, time.monotonic() - start)
    merged.save(build_dir / "sim.json")
    return merged
