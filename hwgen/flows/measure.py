"""The measured twin of every estimate: yosys counts per layer stage and for the whole top,
and nextpnr's fmax (:class:`hwgen.analysis.estimate.Measured`)."""

from __future__ import annotations

from hwgen.analysis.estimate import Measured
from hwgen.analysis.plan import as_plan
from hwgen.boards import Board
from hwgen.core.errors import SynthError
from hwgen.flows.synth import place_and_route, synth_resources
from hwgen.hw.top import Accelerator, Stage
from hwgen.ir.graph import Graph
from hwgen.ir.plan import Plan

__all__ = ["measure"]


def measure(source: Plan | Graph, board: Board, progress=None) -> Measured:
    """Synthesize every layer stage and the top for the board's family; place and route
    the top (behind two pins) for iCE40 and ECP5."""
    say = progress or (lambda msg: None)
    p = as_plan(source, board.timing)
    layers = []
    for k, lp in enumerate(p.layers):
        say(f"  synthesizing layer {k + 1}/{len(p.layers)} {lp.layer.name} "
            f"({board.family}) ...")
        stage = Stage(lp, k == len(p.layers) - 1)
        layers.append(synth_resources(stage, board.family, "stage"))
    say(f"  synthesizing the top ({board.family}) ...")
    top = synth_resources(Accelerator(p), board.family, "top")
    fmax, note = None, f"no place-and-route for {board.family} here"
    if board.nextpnr:
        say(f"  placing and routing on {board.device} ...")
        try:
            fmax = place_and_route(Accelerator(p), board.family, list(board.nextpnr),
                                   board.clock_mhz).fmax_mhz
            note = f"nextpnr-{board.family} on {board.device}, inputs/outputs behind two pins"
        except SynthError as err:
            note = f"place-and-route failed: {err}"
    return Measured(layers, top, fmax, note)
