"""What the tests share: the boards whose clocks set the pipelining, building and simulating a
graph in cocotb with every check the op matrix makes, and the fixtures folder. Random values,
weights and activations come from :mod:`hwgen.ops.samples`, which the ops' examples use."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from hwgen import ir
from hwgen.analysis.estimate import estimate
from hwgen.boards import Board, load_board
from hwgen.flows.build import build
from hwgen.sim.runner import SimResult, simulate

__all__ = ["FAST", "FIXTURES", "SLOW", "simulate_graph"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"

# A clock that makes every block pipeline as deeply as it can (one level per stage).
FAST = dataclasses.replace(load_board("ulx3s-85f"), clock_mhz=400.0)
SLOW = load_board("icebreaker")  # 12 MHz: no extra registers


def simulate_graph(graph: ir.Graph, tmp_path: Path, *, frames: int = 4, seed: int = 1,
                   simulator: str = "icarus", stall: float = 0.3,
                   board: Board = SLOW) -> SimResult:
    """Build ``graph`` for ``board`` (its clock sets the pipelining), simulate it with
    random stalls and free-running, and check every output element against the
    reference, and the cycles per frame and the latency against the estimate (exactly, or
    within 5 % when a layer's beat schedule is approximate: sliding windows)."""
    build(graph, tmp_path / "out", board)
    result = simulate(tmp_path / "out", frames=frames, seed=seed, stall=stall,
                      simulator=simulator)
    assert result.mismatches == 0, result.first_mismatch
    est = estimate(graph, board)
    assert result.cycles_per_frame == est.cycles
    if all(layer.exact_schedule for layer in graph.layers):
        assert result.latency_cycles == est.latency
    else:
        assert abs(result.latency_cycles - est.latency) <= 0.05 * result.latency_cycles
    return result
