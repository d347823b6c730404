"""Several kernel positions a beat: single 3x3 padded conv layers at SIMD within a pixel
and spanning whole pixels of the window (a kernel row, the whole window), the cycles per
frame and the estimate beside what yosys maps, for iCE40 and ECP5.

    .venv/bin/python bench/window_positions.py
"""

from __future__ import annotations

import numpy as np

from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.analysis.plan import plan
from hwgen.boards import load_board
from hwgen.core.dtypes import DType
from hwgen.flows.synth import synth_resources
from hwgen.hw.top import Accelerator

# input dtype, input shape, weight dtype, filters, PE, SIMDs (a pixel or less, then spanning)
LAYERS = [("uint4", (8, 8, 1), "bin", 32, 32, (1, 3, 9)),
          ("uint2", (8, 8, 8), "int4", 8, 4, (8, 24, 72))]


def conv(in_dt: str, shape: tuple[int, int, int], w_dt: str, filters: int, pe: int,
         simd: int, rng: np.random.Generator) -> ir.Graph:
    wshape = (filters, 3, 3, shape[2])
    w = (rng.choice([-1, 1], wshape) if w_dt == "bin"
         else rng.integers(DType.parse(w_dt).min, DType.parse(w_dt).max + 1, wshape))
    return ir.Graph("conv", ir.Tensor(shape, DType.parse(in_dt)), [
        ops.Conv2d("c", weight_dtype=w_dt, weights=w, padding=1, pe=pe, simd=simd)])


def main() -> None:
    rng = np.random.default_rng(0)
    print("| family | layer | PE | SIMD | cycles/frame | est LUT / FF | yosys LUT / FF / BRAM |")
    print("|---|---|---|---|---|---|---|")
    for family, board_name in (("ice40", "icebreaker"), ("ecp5", "ulx3s-85f")):
        board = load_board(board_name)
        for in_dt, shape, w_dt, filters, pe, simds in LAYERS:
            for simd in simds:
                g = conv(in_dt, shape, w_dt, filters, pe, simd, rng)
                est = estimate(g, board)
                got = synth_resources(Accelerator(plan(g, board.timing)), family)
                print(f"| {family} | {'x'.join(map(str, shape))} {in_dt}, {filters} {w_dt} "
                      f"filters | {pe} | {simd} | {est.cycles} | {est.total.lut:,.0f} / "
                      f"{est.total.ff:,.0f} | {got.lut:,.0f} / {got.ff:,.0f} / "
                      f"{got.bram:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
