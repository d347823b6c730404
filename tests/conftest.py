"""Helpers shared by the tests: random values of a dtype, activations over an accumulator
range, and building + simulating a graph in cocotb. Seeds are fixed numbers."""

from __future__ import annotations

import dataclasses

import numpy as np

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.boards import Board, load_board
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.sim.runner import simulate


def draw(dt: DType | str, shape, rng) -> np.ndarray:
    """Random values of ``dt`` (its whole range)."""
    dt = DType.parse(dt)
    if dt.kind == "bin":
        return rng.choice([-1, 1], shape)
    return rng.integers(dt.min, dt.max + 1, shape)


def extreme_weights(dt: DType | str, shape, rng) -> np.ndarray:
    """Random weights whose first two rows are the dtype's max and min, so the accumulator
    reaches both ends of its range on all-max / all-min inputs."""
    dt = DType.parse(dt)
    w = draw(dt, shape, rng)
    w[0], w[1] = dt.max, dt.min
    return w


def activation(kind: str, channels: int, acc: tuple[int, int], rng, out: str = "uint2"):
    """None, a threshold activation to ``out`` with thresholds spread over (and just past)
    the accumulator range ``acc``, or a requantizer to int4."""
    if kind == "none":
        return None
    lo, hi = acc
    if kind == "threshold":
        count = ir.Threshold.count(DType.parse(out))
        return ir.Threshold(out, np.sort(rng.integers(lo - 1, hi + 2, (channels, count)),
                                         axis=1))
    span = max(1, hi - lo)
    shift = max(0, span.bit_length() - 3)
    return ir.Requant("int4", rng.integers(-3, 4, channels), np.full(channels, shift))


# A clock that makes every block pipeline as deeply as it can (one level per stage).
FAST = dataclasses.replace(load_board("ulx3s-85f"), clock_mhz=400.0)
SLOW = load_board("icebreaker")  # 12 MHz: no extra registers


def simulate_graph(graph: ir.Graph, tmp_path, *, frames: int = 4, seed: int = 1,
                   simulator: str = "icarus", stall: float = 0.3, board: Board = SLOW):
    """Build ``graph`` for ``board`` (its clock sets the pipelining), simulate it with
    random stalls and free-running, and check every output element against the
    reference, and the cycles per frame and the latency against the estimate."""
    build(graph, tmp_path / "out", board)
    result = simulate(tmp_path / "out", frames=frames, seed=seed, stall=stall,
                      simulator=simulator)
    assert result.mismatches == 0, result.first_mismatch
    est = estimate(graph, board)
    assert result.cycles_per_frame == est.cycles
    if windowed(graph):  # the schedule approximates sliding-window generators
        assert abs(result.latency_cycles - est.latency) <= 0.05 * result.latency_cycles
    else:
        assert result.latency_cycles == est.latency
    return result


def windowed(graph: ir.Graph) -> bool:
    """Whether a sliding-window generator is built (conv with a window, max pool)."""
    return any(isinstance(layer, ops.MaxPool2d)
               or (isinstance(layer, ops.Conv2d) and layer.needs_window) for layer in graph.layers)
