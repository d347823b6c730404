"""Safety margins are measurements, not numbers someone typed: each is held to the file its
measurement wrote, so changing one without measuring again fails here.

``bench/fit_check.json`` is written by ``bench/fit_check.py --save``: the examples placed on
the iCEBreaker by nextpnr at the foldings ``hwgen fold`` explores near the part's size, with
the estimate's LUTs and flip-flops beside nextpnr's logic cells.
"""

import json
import math
from pathlib import Path

from hwgen.boards import load_board
from hwgen.targets import ice40

MEASURED = json.loads((Path(__file__).resolve().parents[2] / "bench" / "fit_check.json")
                      .read_text())


def _cells(row: dict) -> float:
    """The estimate's logic cells of a measured design, before the margin."""
    return row["est_lut"] + ice40.FAMILY.ff_unpacked * row["est_ff"]


def test_the_flip_flop_packing_is_the_one_measured_with():
    assert ice40.FAMILY.ff_unpacked == MEASURED["ff_unpacked"]


def test_the_ice40_logic_margin_is_the_worst_measured_ratio():
    """Rounded up to two decimals: "fits" errs on the safe side for every design measured,
    and by no more than rounding."""
    ratios = [row["nextpnr_cells"] / _cells(row) for row in MEASURED["rows"]
              if row["nextpnr_cells"]]
    assert len(ratios) >= 4
    assert ice40.FAMILY.logic_margin == math.ceil(max(ratios) * 100) / 100


def test_no_design_that_nextpnr_refused_is_estimated_to_fit():
    cap = load_board(MEASURED["board"]).capacity["cells"]
    refused = [row for row in MEASURED["rows"] if not row["places"]]
    for row in refused:
        assert _cells(row) * ice40.FAMILY.logic_margin > cap, row
    for row in MEASURED["rows"]:
        if row["places"]:
            assert row["nextpnr_cells"] <= cap, row
