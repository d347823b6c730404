"""Safety margins are measurements, not numbers someone typed: each is held to the file its
measurement wrote, so changing one without measuring again fails here.

``bench/fit_check*.json`` are written by ``bench/fit_check.py --save``: the examples placed
by nextpnr at the foldings ``hwgen fold`` explores near the part's size, with the
estimate's LUTs and flip-flops beside nextpnr's logic (cells on the iCEBreaker, where a
cell holds a LUT and a flip-flop; LUTs on the Tang Nano 9K).
"""

import json
import math
from pathlib import Path

import pytest

from hwgen.boards import load_board
from hwgen.targets import FAMILIES

BENCH = Path(__file__).resolve().parents[2] / "bench"
FILES = {"ice40": "fit_check.json", "gowin": "fit_check_tangnano9k.json"}
# designs placed per measurement: the Gowin one is a single design so far (a placement
# there takes 5 to 15 minutes on this machine), which the margin rests on
PLACED = {"ice40": 4, "gowin": 1}


@pytest.fixture(params=list(FILES))
def measured(request) -> tuple:
    return FAMILIES[request.param], json.loads((BENCH / FILES[request.param]).read_text())


def _logic(fam, row: dict) -> float:
    """The estimate's logic of a measured design, before the margin: LUTs plus the
    flip-flops that find no LUT where a cell holds both, else LUTs."""
    return row["est_lut"] + fam.ff_unpacked * row["est_ff"]


def test_the_flip_flop_packing_is_the_one_measured_with(measured):
    fam, doc = measured
    assert fam.ff_unpacked == doc["ff_unpacked"]
    assert doc.get("logic", "cells") == (
        "cells" if "cells" in load_board(doc["board"]).capacity else "lut")


def test_the_logic_margin_is_the_worst_measured_ratio(measured):
    """Rounded up to two decimals: "fits" errs on the safe side for every design measured,
    and by no more than rounding."""
    fam, doc = measured
    ratios = [row["nextpnr_cells"] / _logic(fam, row) for row in doc["rows"]
              if row["nextpnr_cells"]]
    assert len(ratios) >= PLACED[fam.name]
    assert fam.logic_margin == math.ceil(max(ratios) * 100) / 100


def test_no_design_that_nextpnr_refused_is_estimated_to_fit(measured):
    fam, doc = measured
    board = load_board(doc["board"])
    cap = board.capacity["cells" if doc.get("logic", "cells") == "cells" else "lut"]
    for row in doc["rows"]:
        if not row["places"]:
            assert _logic(fam, row) * fam.logic_margin > cap, row
        else:
            assert row["nextpnr_cells"] <= cap, row
