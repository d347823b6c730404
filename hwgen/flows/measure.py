"""The measured twin of every estimate: yosys counts per layer stage and for the whole top,
and nextpnr's fmax (:class:`hwgen.analysis.estimate.Measured`)."""

from __future__ import annotations

from hwgen.analysis.estimate import Measured
from hwgen.analysis.plan import as_plan
from hwgen.boards import Board
from hwgen.core.errors import SynthError, SynthTimeout
from hwgen.core.progress import step
from hwgen.flows.synth import place_and_route, synth_resources
from hwgen.hw.top import Accelerator, Stage
from hwgen.ir.graph import Graph
from hwgen.ir.plan import Plan

__all__ = ["measure"]


def measure(source: Plan | Graph, board: Board, progress=None, *, pnr: bool = True,
            timeout: float | None = None) -> Measured:
    """Synthesize every layer stage and the top for the board's family; place and route
    the top (behind two pins) where the family has nextpnr, unless ``pnr`` is False.
    ``timeout``: seconds each tool run may take; a run past it is stopped and noted."""
    p = as_plan(source, board.timing)
    layers = []
    try:
        for k, lp in enumerate(p.layers):
            with step(progress, f"  synthesizing layer {k + 1}/{len(p.layers)} "
                      f"{lp.layer.name} ({board.family})"):
                stage = Stage(lp, k == len(p.layers) - 1)
                layers.append(synth_resources(stage, board.family, "stage", timeout))
        with step(progress, f"  synthesizing the top ({board.family})"):
            top = synth_resources(Accelerator(p), board.family, "top", timeout)
    except SynthTimeout as err:
        raise SynthError(f"--measure: {err} (raise --timeout, or measure a smaller "
                         "folding)") from None
    fmax, note = None, f"no place-and-route for {board.family} here"
    if board.nextpnr and not pnr:
        note = "place-and-route skipped (--no-pnr)"
    elif board.nextpnr:
        try:
            with step(progress, f"  placing and routing on {board.device} (nextpnr; a large "
                      "design takes minutes)"):
                fmax = place_and_route(Accelerator(p), board.family, list(board.nextpnr),
                                       board.clock_mhz, timeout=timeout,
                                       pins=board.pnr_pins).fmax_mhz
            note = f"nextpnr-{board.family} on {board.device}, inputs/outputs behind two pins"
        except SynthError as err:
            note = f"place-and-route failed: {err}"
    return Measured(layers, top, fmax, note)
