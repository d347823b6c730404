"""Folding search: PE/SIMD per layer for a target frame rate, or the fastest that fits.

For a cycle budget T, every layer with folding knobs (dense, conv2d, add,
concat) takes, among its legal foldings (legality is the op's own rule) whose
cycles per frame are at most T, the one with the fewest estimated LUTs for the
board (ties: the fastest); on iCE40, where a logic cell holds a LUT and a flip-flop,
the fewest logic cells (LUTs plus the flip-flops that take a cell of their own), which
is what has to fit. Lanes are not a cost: PE and SIMD of the same
product cost differently (ROM width, adder trees, output width), and a folding
with more lanes can need fewer LUTs. A graph's frame rate is the board clock
over its slowest layer. The search walks the budgets every layer can reach,
estimates each folded graph, and keeps all the points it explored for the
report's resources-vs-frame-rate plot.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from hwgen.analysis.estimate import Estimate, Model, blocks_cost, estimate, load_model
from hwgen.analysis.plan import plan
from hwgen.boards import Board, as_board
from hwgen.core.errors import FoldError
from hwgen.hw import silenced
from hwgen.ir.graph import Graph
from hwgen.targets import FAMILIES

__all__ = ["FoldError", "FoldResult", "fold", "refold"]


@dataclass(frozen=True)
class FoldResult:
    graph: Graph
    estimate: Estimate
    explored: list[Estimate]  # every folding estimated, slowest first

    def __repr__(self) -> str:
        return (f"<FoldResult {self.graph.name!r}: {len(self.explored)} foldings explored, "
                f"chosen {self.estimate!r}>")


def refold(graph: Graph, choice: dict[str, tuple[int, int]]) -> Graph:
    """``graph`` with the (pe, simd) of the named layers replaced (simd ignored by ops
    without it); validated, so an illegal folding raises GraphError."""
    layers = [dataclasses.replace(layer, **_knobs(layer, choice[layer.name]))
              if layer.name in choice else dataclasses.replace(layer)
              for layer in graph.layers]
    return Graph(graph.name, graph.input, layers, graph.meta)


def _knobs(layer, fold: tuple[int, int]) -> dict[str, int]:
    """The folding knobs ``layer`` has, set from (pe, simd)."""
    return dict(zip(("pe", "simd")[:len(layer.folds)], fold, strict=False))


class _LayerLuts:
    """Estimated LUTs (logic cells on iCE40) of one layer's blocks at a folding, against
    the graph's unfolded plan (its neighbours' beat widths change only the glue in
    front, not counted here)."""

    def __init__(self, graph: Graph, board: Board, model: Model):
        self.plan, self.board, self.model = plan(graph, board.timing), board, model
        self.cache: dict[tuple[str, int, int], float] = {}

    def __call__(self, name: str, pe: int, simd: int) -> float:
        key = (name, pe, simd)
        if key not in self.cache:
            lp = self.plan[name]
            layer = dataclasses.replace(lp.layer, **_knobs(lp.layer, (pe, simd)))
            layer.infer(list(lp.xs))  # validates, and sets what the blocks read
            elems, out_elems, cycles = layer.stream_plan(list(lp.xs), lp.y,
                                                         list(lp.src_elems))
            lp = dataclasses.replace(lp, layer=layer, elems=tuple(elems), out_elems=out_elems,
                                     cycles=cycles)
            cost = blocks_cost(silenced(layer.blocks(lp)), self.board.family)
            got = self.model.resources(cost, self.board.family)
            self.cache[key] = got.lut + FAMILIES[self.board.family].ff_unpacked * got.ff
        return self.cache[key]


def _at_budget(options, budget: int, luts: _LayerLuts) -> dict[str, tuple[int, int]] | None:
    choice = {}
    for name, opts in options.items():
        fitting = [o for o in opts if o[0] <= budget]
        if not fitting:
            return None
        best = min(fitting, key=lambda o: (luts(name, o[1], o[2]), o[0]))
        choice[name] = (best[1], best[2])
    return choice


def fold(graph: Graph, board: Board | str, target_fps: float | None = None,
         model: Model | None = None, progress=None) -> FoldResult:
    """Fold ``graph`` for ``board`` (a board or its name): the cheapest folding reaching
    ``target_fps``, or (with no target) the fastest that fits the board."""
    board = as_board(board)
    model = model or load_model()
    options = {layer.name: layer.foldings(xs, y) for layer, xs, y in graph.layer_io()
               if layer.folds}
    if not options:
        raise FoldError(f"{graph.name}: no layer with a folding (dense, conv2d, add, concat)")
    budgets = sorted({o[0] for opts in options.values() for o in opts}, reverse=True)
    luts = _LayerLuts(graph, board, model)
    explored: list[Estimate] = []
    seen: set[tuple] = set()
    best = None
    if progress:
        progress("  each line: a cycle budget (every layer folded to at most that many cycles "
                 "per frame), the frame rate it gives (its slowest layer), and its size")
    for budget in budgets:
        choice = _at_budget(options, budget, luts)
        if choice is None:
            break
        key = tuple(sorted(choice.items()))
        if key in seen:
            continue
        seen.add(key)
        candidate = refold(graph, choice)
        est = estimate(candidate, board, model)
        explored.append(est)
        if progress:
            progress(f"  budget {budget:>8} cycles: {est.cycles} cycles/frame, "
                     f"{est.fps:,.0f} frames/s, {est.total.lut:,.0f} {board.lut_unit}; "
                     f"{est.fit_summary()}")
        if target_fps is not None:
            if est.fps >= target_fps:
                if not est.fits():
                    raise FoldError(_no_fit(board, est, target_fps))
                return FoldResult(candidate, est, explored)
        elif est.fits():
            best = (candidate, est)
        else:
            break
    if target_fps is not None:
        fastest = max(explored, key=lambda e: e.fps)
        fitting = [e for e in explored if e.fits()]
        reach = f"{max(e.fps for e in fitting):,.0f}" if fitting else "none"
        raise FoldError(f"target {target_fps:,.0f} frames/s is out of reach on {board.name} at "
                        f"{board.clock_mhz:g} MHz: the fastest folding gives "
                        f"{fastest.fps:,.0f} frames/s ({fastest.cycles} cycles/frame, limited "
                        f"by {fastest.bottleneck.name}); the fastest that fits gives {reach}")
    if best is None:
        raise FoldError(_no_fit(board, explored[0], None))
    return FoldResult(best[0], best[1], explored)


def _no_fit(board: Board, est: Estimate, target: float | None) -> str:
    over = ", ".join(f"{k} {u:.0%}" for k, u in est.utilization().items() if u > 1)
    what = f"reaching {target:,.0f} frames/s" if target else "the cheapest folding"
    return f"{what} does not fit {board.name}: {over} of its capacity"
