"""fmax floors: a design's clock after place-and-route may move from run to run of the
benchmarks, but it may not fall below the floor ``bench/fmax_floors.json`` states for it
unless that file changes, with the reason written beside the new floor. The place-and-route
is bench/fmax.py's and ``hwgen estimate --measure``'s (the accelerator behind two pins,
nextpnr seed 1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

FLOORS = Path(__file__).resolve().parents[2] / "bench" / "fmax_floors.json"


def floors() -> list[dict]:
    return json.loads(FLOORS.read_text())


def test_every_floor_says_where_it_comes_from():
    for f in floors():
        assert set(f) == {"graph", "board", "target_mhz", "floor_mhz", "measured", "reason"}
        assert 0 < f["floor_mhz"] <= f["target_mhz"], f
        assert "bench/fmax.py" in f["measured"] and len(f["reason"]) > 40, f


@pytest.mark.slow
@pytest.mark.synth
@pytest.mark.torch
@pytest.mark.parametrize("floor", floors(), ids=lambda f: f"{f['graph']}-{f['board']}")
def test_fmax_is_not_below_its_floor(floor):
    from hwgen.analysis.plan import plan
    from hwgen.boards import load_board
    from hwgen.examples import get_example
    from hwgen.flows.synth import place_and_route
    from hwgen.hw.top import Accelerator
    from hwgen.targets import Timing

    board = load_board(floor["board"])
    graph = get_example(floor["graph"])(progress=lambda s: None).graph
    p = plan(graph, Timing(board.family, floor["target_mhz"]))
    fmax = place_and_route(Accelerator(p), board.family, list(board.nextpnr),
                           floor["target_mhz"], pins=board.pnr_pins,
                           timeout=900).fmax_mhz  # some seeds never finish routing
    assert fmax >= floor["floor_mhz"], (
        f"{floor['graph']} on {floor['board']} pipelined for {floor['target_mhz']} MHz: "
        f"{fmax} MHz, below its floor of {floor['floor_mhz']} MHz ({floor['measured']})")
