"""``build --fit`` with workers: the foldings placed side by side, and the fastest that
places and meets the board clock, with every faster one failed, is the one kept."""

from __future__ import annotations

import json

import pytest

from hwgen.boards import load_board
from hwgen.core.errors import NoFit
from hwgen.flows.bitstream import BitstreamReport, Placed, _first_placed
from hwgen.flows.build import build
from tests.flows.test_host_link import small_graph


def placed(fmax: float | None) -> Placed:
    """A placement at ``fmax`` MHz on a 12 MHz board, or (None) one that did not fit."""
    if fmax is None:
        return Placed(None, NoFit("does not fit"), {}, 1.0)
    return Placed(BitstreamReport("icebreaker", "board_top.bin", 12.0, fmax, 115_200, {}, 1.0),
                  None, {}, 1.0)


@pytest.mark.parametrize("got, n, winner", [
    ({1: placed(30.0)}, 3, None),  # the fastest is still running
    ({0: placed(None), 1: placed(30.0)}, 3, 1),
    ({0: placed(None), 2: placed(30.0)}, 3, None),  # the second is still running
    ({0: placed(11.9), 1: placed(12.0)}, 2, 1),  # misses the 12 MHz clock by 0.1 MHz
    ({0: placed(12.0)}, 2, 0),  # exactly at the clock
    ({0: placed(None), 1: placed(None)}, 2, None),
])
def test_the_fastest_that_places_wins_once_every_faster_one_failed(got, n, winner):
    assert _first_placed(got, n) == winner


@pytest.mark.synth
@pytest.mark.cluster
def test_fit_on_two_workers_places_the_fastest_folding(tmp_path):
    said: list[str] = []
    result = build(small_graph(), tmp_path / "b", load_board("icebreaker"), bitstream=True,
                   fit=True, workers=2, progress=said.append)
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    assert (tmp_path / "b" / report["bitstream"]["bitstream"]).stat().st_size > 0
    assert report["bitstream"]["fmax_mhz"] >= 12
    assert any(line.startswith("--fit: placing") and "in parallel" in line for line in said)
    first = next(line for line in said if line.startswith("--fit: placing"))
    assert f"{result.report.cycles_per_frame:,} cycles/frame" in first.split(";")[0], said


def test_workers_without_fit_is_refused(tmp_path):
    from hwgen.core.errors import BuildError
    with pytest.raises(BuildError, match="need --fit"):
        build(small_graph(), tmp_path / "b", load_board("icebreaker"), bitstream=True,
              workers=2)
    assert not (tmp_path / "b").exists()
