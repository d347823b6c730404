"""Resource and latency estimates from the ir alone, and the measurements that check them.

Resources: every block of a layer stage (the same blocks ``hw.top`` builds)
describes itself (its ``cost`` method, helpers in :mod:`hwgen.hw.cost`) by
analytic features: XNOR/popcount bits, LUT-multiplier bits, adder
tree and accumulator bits, comparator bits, register bits, constants in logic,
LUT-RAM and flip-flop memories. LUTs and flip-flops are a linear function of
them whose constants are fitted per family from yosys measurements
(``bench/calibrate.py`` writes ``estimate_model.json``). Block RAMs and DSPs are
counted exactly from the memory shapes and the multiplier widths, by the rules
each family's Yosys script follows (measured, see ``tests/analysis/test_estimate.py``).

Cycles per frame come from ``plan`` (the formulas the hardware is built with).
Latency comes from a beat schedule: every output beat of a layer waits for the
last input beat it needs plus the stage's pipeline depth, and for its
predecessor plus the layer's cycles per beat.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from amaranth.lib import wiring

from hwgen.analysis.plan import as_plan
from hwgen.analysis.schedule import beat_schedule
from hwgen.boards import Board, as_board
from hwgen.core.resources import Resources
from hwgen.hw import silenced
from hwgen.hw.cost import FEATURES, FF_FEATURES, BlockCost, Model, bram_blocks, load_model
from hwgen.hw.top import Stage
from hwgen.ir.graph import Graph
from hwgen.ir.plan import Plan
from hwgen.targets import FAMILIES

__all__ = [
    "FEATURES",
    "FF_FEATURES",
    "Estimate",
    "LayerEstimate",
    "Measured",
    "Model",
    "block_cost",
    "blocks_cost",
    "bram_blocks",
    "estimate",
    "latencies",
    "load_model",
    "stage_cost",
]


def _stage(p: Plan, k: int) -> list[wiring.Component]:
    """Layer ``k``'s blocks, built to be described here and never elaborated."""
    stage = Stage(p.layers[k], k == len(p.layers) - 1)
    silenced([stage])
    return silenced(stage.blocks)


def block_cost(block: wiring.Component, family: str) -> BlockCost:
    """Features, block RAMs and DSPs of one hardware block for ``family``, as the block
    states them (``cost``), plus the block itself."""
    c = block.cost(family)
    c.features["blocks"] += 1
    return c


def blocks_cost(blocks: list[wiring.Component], family: str) -> BlockCost:
    total = BlockCost()
    for block in blocks:
        total += block_cost(block, family)
    return total


def stage_cost(p: Plan, k: int, family: str) -> BlockCost:
    """Cost of layer ``k``'s stage: its blocks and the glue in front of it."""
    return blocks_cost(_stage(p, k), family)


# -- latency: a beat schedule ---------------------------------------------------------------


def latencies(p: Plan) -> list[int]:
    """Per layer, cycles from the first input beat of frame 0 to the layer's last output
    beat of it, in an empty pipeline with a source and sink that never wait
    (:func:`hwgen.analysis.schedule.beat_schedule`, with each block's own latency)."""
    times = beat_schedule(p, gap=1.0)
    return [round(times[lp.layer.name][-1]) for lp in p.layers]


# -- the estimate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    inputs: tuple[str, ...]  # the tensors it reads ("input": the graph input)
    pe: int | None
    simd: int | None
    cycles: int
    latency: int  # first input beat of the graph to this layer's last output beat
    resources: Resources


@dataclass(frozen=True)
class Estimate:
    graph: str
    board: Board
    layers: list[LayerEstimate]
    model: str

    def __repr__(self) -> str:
        return (f"<Estimate {self.graph!r} on {self.board.name}: {self.cycles:,} cycles/frame, "
                f"{self.fps:,.0f} frames/s; {self.fit_summary()}>")

    @property
    def total(self) -> Resources:
        total = Resources()
        for layer in self.layers:
            total = total + layer.resources
        return total

    @property
    def cycles(self) -> int:
        return max(layer.cycles for layer in self.layers)

    @property
    def bottleneck(self) -> LayerEstimate:
        return max(self.layers, key=lambda layer: layer.cycles)

    @property
    def latency(self) -> int:
        return self.layers[-1].latency

    @property
    def fps(self) -> float:
        return self.board.clock_mhz * 1e6 / self.cycles

    @property
    def latency_us(self) -> float:
        return self.latency / self.board.clock_mhz

    @property
    def cells(self) -> float:
        """Logic cells where a cell holds a LUT and a flip-flop (iCE40): the LUTs, and the
        flip-flops that find no LUT to share a cell with (the family's ``ff_unpacked``)."""
        total = self.total
        return total.lut + FAMILIES[self.board.family].ff_unpacked * total.ff

    def utilization(self) -> dict[str, float]:
        """Fraction of the board's capacity per resource (empty for an ASIC target)."""
        margin = FAMILIES[self.board.family].logic_margin
        total = self.total.as_dict()
        if "cells" in self.board.capacity:  # the margin goes on what decides the fit
            total["cells"] = self.cells * margin
        else:
            total["lut"] *= margin
        return {k: total[k] / cap for k, cap in self.board.capacity.items()
                if k in total and cap}

    def fits(self) -> bool:
        return all(u <= 1.0 for u in self.utilization().values())

    def fit_summary(self) -> str:
        """"fits BOARD (binding: RES N %)" or "DOES NOT FIT BOARD: RES N %, ...", the
        binding resource being the fullest one (logic cells on iCE40, with their margin)."""
        use = self.utilization()
        if not use:
            return f"no capacity to fit on {self.board.name}"
        if self.fits():
            most = max(use, key=use.get)
            return f"fits {self.board.name} (binding: {most.upper()} {use[most]:.0%})"
        over = sorted((k for k, u in use.items() if u > 1), key=use.get, reverse=True)
        return f"DOES NOT FIT {self.board.name}: " + ", ".join(
            f"{k.upper()} {use[k]:.0%}" for k in over)

    def as_dict(self) -> dict[str, Any]:
        return {
            "graph": self.graph, "board": self.board.name, "family": self.board.family,
            "clock_mhz": self.board.clock_mhz, "model": self.model,
            "cycles_per_frame": self.cycles, "bottleneck": self.bottleneck.name,
            "frames_per_second": self.fps, "latency_cycles": self.latency,
            "latency_us": self.latency_us, "total": self.total.as_dict(),
            "capacity": self.board.capacity, "utilization": self.utilization(),
            "fits": self.fits(), "fit": self.fit_summary(),
            "layers": [{"name": e.name, "op": e.op, "inputs": list(e.inputs), "pe": e.pe,
                        "simd": e.simd,
                        "cycles": e.cycles, "latency_cycles": e.latency,
                        **e.resources.as_dict()} for e in self.layers],
        }


def _fold(layer) -> tuple[int | None, int | None]:
    return getattr(layer, "pe", None), getattr(layer, "simd", None)


def estimate(source: Plan | Graph, board: Board | str, model: Model | None = None) -> Estimate:
    """Resources, cycles per frame and latency of every layer of a plan (or of a graph,
    planned here) on ``board`` (a :class:`~hwgen.boards.Board` or its name)."""
    board = as_board(board)
    model = model or load_model()
    p = as_plan(source, board.timing)
    graph = p.graph
    stages = [_stage(p, k) for k in range(len(p.layers))]
    lat = latencies(p)
    layers = []
    for k, lp in enumerate(p.layers):
        res = model.resources(blocks_cost(stages[k], board.family), board.family)
        layers.append(LayerEstimate(lp.layer.name, lp.layer.op, lp.sources, *_fold(lp.layer),
                                    lp.cycles, lat[k], res))
    return Estimate(graph.name, board, layers, model.source)


# -- measurement: the twin of every estimate ------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """yosys counts per layer stage and for the whole top, and nextpnr's fmax."""

    layers: list[Resources]
    top: Resources
    fmax_mhz: float | None
    fmax_note: str  # how fmax was obtained, or why not
