"""Estimator: boards, exact BRAM/DSP rules, the fitted model against a layer synthesized
here, latency, the folding search and the estimate/fold commands."""

import dataclasses
import json

import numpy as np
import pytest
from amaranth import Module
from amaranth.lib import wiring
from amaranth.lib.memory import Memory
from amaranth.lib.wiring import In, Out

from hwgen import ir, ops
from hwgen.analysis.estimate import bram_blocks, estimate, latencies
from hwgen.analysis.fold import fold, refold
from hwgen.analysis.plan import plan
from hwgen.boards import BOARDS, load_board
from hwgen.cli import main
from hwgen.core.dtypes import DType
from hwgen.core.errors import BoardError, FoldError
from hwgen.flows.measure import measure
from hwgen.flows.synth import synth_resources
from hwgen.hw.top import Stage
from hwgen.ir.plan import Plan

rng = np.random.default_rng(7)


def mlp(pe=(1, 1), simd=(1, 1)) -> ir.Graph:
    r = np.random.default_rng(3)
    return ir.Graph("mlp", ir.Tensor((32,), DType.parse("uint4")), [
        ops.Dense("fc1", weight_dtype="int4", weights=r.integers(-8, 8, (16, 32)), pe=pe[0],
                 simd=simd[0], activation=ir.Threshold("uint2", np.sort(
                     r.integers(-200, 200, (16, 3)), axis=1))),
        ops.Dense("fc2", weight_dtype="bin", weights=r.choice([-1, 1], (8, 16)), pe=pe[1],
                 simd=simd[1]),
        ops.ArgMax("top")])


def test_every_board_loads_with_capacities():
    assert {"icebreaker", "ulx3s-85f", "arty-a7-35", "pynq-z2", "tangnano9k", "asic"} <= set(BOARDS)
    for name in BOARDS:
        b = load_board(name)
        assert b.family in ("ice40", "ecp5", "gowin", "xilinx", "generic") and b.clock_mhz > 0
        if b.family != "generic":
            assert {"lut", "ff", "bram", "dsp"} <= set(b.capacity)
    assert load_board("icebreaker").capacity["lut"] == 5280


def test_bad_board_names_and_files_say_what_is_allowed(tmp_path):
    with pytest.raises(BoardError, match="unknown board 'zedboard'; known: arty-a7-35"):
        load_board("zedboard")
    bad = tmp_path / "mine.toml"
    bad.write_text('title = "x"\nfamily = "ice40"\n')
    with pytest.raises(BoardError, match="board mine: malformed board file"):
        load_board(str(bad))


def test_block_ram_tiling_per_family():
    # iCE40 4 kbit blocks: 64 wide x 8 deep needs four 16-bit-wide blocks
    assert bram_blocks(64, 8, "ice40") == 4
    assert bram_blocks(4, 1024, "ice40") == 1
    # ECP5 DP16KD takes 36-bit words 512 deep
    assert bram_blocks(64, 64, "ecp5") == 2
    # Xilinx: a RAMB18 (half a RAMB36) holds 32 x 128
    assert bram_blocks(32, 128, "xilinx") == 0.5
    assert bram_blocks(64, 4, "generic") == 0


def test_cycles_come_from_the_plan_and_latency_from_the_schedule():
    g = mlp(pe=(4, 2), simd=(8, 4))
    e = estimate(g, load_board("icebreaker"))
    p = plan(g)
    assert [layer.cycles for layer in e.layers] == [lp.cycles for lp in p.layers]
    assert e.cycles == (16 // 4) * (32 // 8)
    assert e.latency == latencies(p)[-1]
    # a stage cannot emit its last beat before it consumed the whole frame
    assert all(b > a for a, b in zip(latencies(p), latencies(p)[1:], strict=False))


@pytest.mark.synth
@pytest.mark.parametrize("family_board", ["icebreaker", "arty-a7-35"])
def test_estimate_of_a_layer_synthesized_here_is_within_bounds(family_board):
    """Within 25 % on LUTs and FFs of each stage and of the top; BRAM and DSP exact."""
    board = load_board(family_board)
    g = mlp(pe=(2, 2), simd=(8, 4))
    g.layers[0].weight_storage = "bram"
    g = ir.Graph(g.name, g.input, g.layers)
    e = estimate(g, board)
    m = measure(g, board)
    for est, got in [*zip((x.resources for x in e.layers), m.layers, strict=True),
                     (e.total, m.top)]:
        assert est.bram == got.bram and est.dsp == got.dsp, (est, got)
        for kind in ("lut", "ff"):
            want = getattr(got, kind)
            assert abs(getattr(est, kind) - want) <= 0.25 * want + 8, (kind, est, got)


def test_fold_reaches_a_target_with_the_fewest_estimated_cells():
    board = load_board("icebreaker")
    target = 500_000  # at 12 MHz: 24 cycles per frame at most
    result = fold(mlp(), board, target)
    assert result.estimate.fps >= target and result.estimate.fits()
    assert result.estimate.cycles <= 24
    slower = [e for e in result.explored if e is not result.estimate]
    assert slower and all(e.fps < target for e in slower)
    # every folding of one layer that meets the same budget, estimated whole: none needs
    # 5 % fewer iCE40 logic cells (LUTs and lone flip-flops) than the one fold chose (the
    # other layer as fold left it); fold weighs each layer's blocks, not the width
    # converter between layers, which depends on both neighbours' foldings
    chosen = {layer.name: layer for layer in result.graph.layers}
    for name, units, width in (("fc1", 16, 32), ("fc2", 8, 16)):
        options = [(pe, simd) for pe in range(1, units + 1) for simd in range(1, width + 1)
                   if units % pe == 0 and width % simd == 0
                   and (units // pe) * (width // simd) <= result.estimate.cycles]
        cells = {o: estimate(refold(result.graph, {name: o}), board).cells for o in options}
        assert cells[chosen[name].pe, chosen[name].simd] <= min(cells.values()) * 1.05


def test_fold_rejects_an_impossible_target_with_the_best_figure():
    with pytest.raises(FoldError, match=r"target 20,000,000 frames/s is out of reach on "
                                        r"icebreaker at 12 MHz: the fastest folding gives "
                                        r"12,000,000 frames/s \(1 cycles/frame"):
        fold(mlp(), load_board("icebreaker"), 20e6)


def test_fold_without_target_takes_the_fastest_that_fits():
    board = load_board("icebreaker")
    result = fold(mlp(), board)
    assert result.estimate.fits()
    faster = [e for e in result.explored if e.fps > result.estimate.fps]
    assert all(not e.fits() for e in faster)


def test_estimate_command_prints_json_and_writes_a_report(tmp_path, capsys):
    path = mlp(pe=(4, 2), simd=(8, 4)).save(tmp_path / "mlp")
    assert main(["estimate", str(path), "--board", "ulx3s-85f", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["board"] == "ulx3s-85f" and doc["cycles_per_frame"] == 16
    assert doc["frames_per_second"] == 25e6 / 16
    assert [r["name"] for r in doc["layers"]] == ["fc1", "fc2", "top"]
    assert main(["estimate", str(path), "--board", "asic", "--report",
                 str(tmp_path / "rep")]) == 0
    text = capsys.readouterr().out
    assert "gates" in text and "fc1 *" in text
    assert {"estimate.md", "estimate.html", "cycles.png", "cycles.svg"} <= {
        p.name for p in (tmp_path / "rep").iterdir()}


def test_fold_command_writes_a_folded_graph(tmp_path, capsys):
    path = mlp().save(tmp_path / "mlp")
    out = tmp_path / "folded.json"
    assert main(["fold", str(path), "--board", "icebreaker", "--target-fps", "500000",
                 "--out", str(out), "--report", str(tmp_path / "rep")]) == 0
    folded = ir.load_graph(out)
    assert estimate(folded, load_board("icebreaker")).fps >= 500_000
    assert (tmp_path / "rep" / "folding.svg").exists()
    assert main(["fold", str(path), "--board", "icebreaker", "--target-fps", "1e9",
                 "--out", str(tmp_path / "never.json")]) == 2
    assert "out of reach" in capsys.readouterr().err
    assert not (tmp_path / "never.json").exists()


def residual(pe_add=1) -> ir.Graph:
    r = np.random.default_rng(4)
    t = np.sort(r.integers(-20, 20, (4, 3)), axis=1)
    return ir.Graph("res", ir.Tensor((6, 6, 4), DType.parse("uint2")), [
        ops.Conv2d("c1", weight_dtype="bin", weights=r.choice([-1, 1], (4, 1, 1, 4)),
                  pe=4, simd=4, activation=ir.Threshold("uint2", t)),
        ops.Conv2d("c2", weight_dtype="bin", weights=r.choice([-1, 1], (4, 1, 1, 4)),
                  pe=4, simd=4, activation=ir.Threshold("uint2", t)),
        ops.Add("res", inputs=["c2", "input"], pe=pe_add),
        ops.GlobalSumPool("gsp"), ops.ArgMax("top")])


def test_estimate_and_fold_know_branches(tmp_path, capsys):
    board = load_board("icebreaker")
    g = residual()
    p = plan(g)
    skip, long = p["res"].fifo_depths[1], p["res"].fifo_depths[0]
    assert skip > long >= 2  # the identity path waits for two convs
    e = estimate(p, board)
    assert [x.inputs for x in e.layers][2] == ("c2", "input")
    assert e.bottleneck.name == "res" and e.cycles == 36 * 4  # the add, one channel a cycle
    # the skip FIFO's memory is counted in the join's row: a deeper FIFO costs more
    # flip-flops, or on iCE40 from 128 bits and 8 entries a block RAM
    deeper = dataclasses.replace(p["res"], fifo_depths=(long, 4 * skip))
    bigger = Plan(g, [deeper if lp.layer.name == "res" else lp for lp in p.layers],
                  p.input_elems)
    small, big = e.layers[2].resources, estimate(bigger, board).layers[2].resources
    assert big.bram > small.bram or big.ff > small.ff
    # fold folds the add too: at 12 MHz, 12e6/72 frames/s need the add at 2 channels a
    # cycle or more (144/2 = 72) and each 1x1 conv at 8 of its 16 products a cycle or more
    # (36*16/8 = 72); which of those it takes is the estimator's cheapest
    result = fold(g, board, target_fps=12e6 / 72)
    assert result.estimate.cycles == 72
    folded = {layer.name: (layer.pe, getattr(layer, "simd", 1)) for layer in result.graph.layers
              if layer.folds}
    assert folded["res"][0] >= 2 and folded["res"][1] == 1
    assert all(folded[c][0] * folded[c][1] >= 8 for c in ("c1", "c2"))
    path = g.save(tmp_path / "res")
    assert main(["estimate", str(path), "--board", "icebreaker"]) == 0
    assert "add(c2, input)" in capsys.readouterr().out


class _Rom(wiring.Component):
    """One block-RAM ROM of ``width`` x ``depth`` random bits, read through a register."""

    def __init__(self, width: int, depth: int):
        self.width, self.depth = width, depth
        super().__init__({"addr": In(range(depth)), "data": Out(width)})

    def elaborate(self, platform):
        m = Module()
        init = np.random.default_rng(self.width * self.depth).integers(
            0, 1 << min(self.width, 62), self.depth).tolist()
        m.submodules.rom = rom = Memory(shape=self.width, depth=self.depth, init=init,
                                        attrs={"rom_style": "block", "ram_style": "block"})
        read = rom.read_port()
        m.d.comb += [read.addr.eq(self.addr), self.data.eq(read.data)]
        return m


@pytest.mark.synth
@pytest.mark.parametrize("family,width,depth", [
    pytest.param("ecp5", 1, 16384, marks=pytest.mark.slow),  # inside a block; CI time
    ("ecp5", 1, 18432), ("ecp5", 1, 18433), ("ecp5", 4, 4609),
    ("ecp5", 18, 1024), ("ecp5", 18, 1025), ("ecp5", 36, 512), ("ecp5", 37, 512),
    ("ice40", 16, 256), ("ice40", 16, 257), ("ice40", 2, 2048), ("ice40", 2, 2049),
    ("ice40", 8, 512), ("ice40", 1, 4096), ("ice40", 1, 4097)])
def test_block_ram_count_at_the_block_boundaries(family, width, depth):
    """The tiling rule against yosys one entry and one bit either side of a block's size."""
    got = synth_resources(_Rom(width, depth), family)
    assert got.bram == bram_blocks(width, depth, family, rom=True)


def _one_layer(kind: str) -> ir.Graph:
    """A small graph whose first stage is one layer of ``kind``."""
    r = np.random.default_rng(11)
    if kind == "xnor":
        return ir.Graph("xnor", ir.Tensor((32,), DType.parse("bin")), [ops.Dense(
            "fc", weight_dtype="bin", weights=r.choice([-1, 1], (16, 32)), pe=4, simd=8,
            activation=ir.Threshold("bin", r.integers(-8, 8, (16, 1))))])
    x = ir.Tensor((6, 6, 4), DType.parse("uint2"))
    if kind == "conv":
        layer = ops.Conv2d("conv", weight_dtype="int2", weights=r.integers(-2, 2, (8, 3, 3, 4)),
                          pe=2, simd=2, activation=ir.Threshold("uint2", np.sort(
                              r.integers(-30, 30, (8, 3)), axis=1)))
    elif kind == "depthwise":
        layer = ops.Conv2d("dw", weight_dtype="tern", weights=r.integers(-1, 2, (4, 3, 3, 1)),
                          groups=4, padding=1, pe=2)
    elif kind == "maxpool":
        layer = ops.MaxPool2d("pool", kernel=2)
    else:
        layer = ops.GlobalSumPool("gsp")
    return ir.Graph(kind, x, [layer])


@pytest.mark.synth
@pytest.mark.parametrize("kind", ["xnor", "conv", "depthwise", "maxpool", "gsp"])
@pytest.mark.parametrize("board_name", ["icebreaker", "ulx3s-85f"])
def test_estimate_of_each_layer_kind_against_yosys(kind, board_name):
    """Per stage: BRAM and DSP exact; flip-flops within 15 % (registers are counted, not
    guessed: a forgotten output register of PE accumulators is more than that); LUTs
    within a factor of two. The LUT bound is today's accuracy on these stages (up to
    1.84x on a global sum pool), a guard against getting worse; issue 11's goal (25 %)
    is not reached yet."""
    board = load_board(board_name)
    g = _one_layer(kind)
    p = plan(g, board.timing)
    est = estimate(p, board).layers[0].resources
    got = synth_resources(Stage(p.layers[0], True), board.family, "stage")
    assert est.bram == got.bram and est.dsp == got.dsp, (est, got)
    assert abs(est.ff - got.ff) <= 0.15 * got.ff, (est, got)
    assert got.lut / 2 <= est.lut <= 2 * got.lut, (est, got)


@pytest.mark.synth
@pytest.mark.parametrize("a_dtype", ["bin", "uint3"])
def test_zero_weights_of_a_constant_weight_layer_remove_logic(a_dtype):
    """A fully unfolded layer holds its weights as constants: synthesis drops the products
    and adder-tree terms of zero weights. Measured on iCE40 with yosys, half the weights
    zero takes fewer LUTs than the dense twin, and the estimate sees the same saving."""
    board = load_board("icebreaker")
    r = np.random.default_rng(5)
    dense = r.choice([-7, -5, -3, 3, 5, 7], (8, 16))
    sparse = np.where(r.random(dense.shape) < 0.5, 0, dense)
    luts = {}
    for name, w in (("dense", dense), ("sparse", sparse)):
        g = ir.Graph(name, ir.Tensor((16,), DType.parse(a_dtype)), [ops.Dense(
            "fc", weight_dtype="int4", weights=w, pe=8, simd=16)])
        p = plan(g, board.timing)
        est = estimate(p, board).layers[0].resources.lut
        got = synth_resources(Stage(p.layers[0], True), board.family, "stage").lut
        assert got / 2 <= est <= 2 * got, (name, est, got)
        luts[name] = est, got
    (est_dense, got_dense), (est_sparse, got_sparse) = luts["dense"], luts["sparse"]
    assert got_sparse < 0.8 * got_dense, luts
    assert est_sparse < 0.8 * est_dense, luts


def test_fold_plot_shows_what_decides_the_fit(tmp_path, capsys):
    """The fold report's plot: utilization of each resource the board counts (logic cells
    on iCE40), the chosen point and the target; the console explains the budget lines."""
    rng = np.random.default_rng(0)
    g = ir.Graph("mlp", ir.Tensor((64,), DType.parse("uint4")), [
        ops.Dense("fc1", weight_dtype="bin", weights=rng.choice([-1, 1], (32, 64)), pe=1,
                  simd=1, activation=ir.Threshold("bin", rng.integers(-9, 9, (32, 1)))),
        ops.Dense("fc2", weight_dtype="bin", weights=rng.choice([-1, 1], (10, 32)), pe=1,
                  simd=1)])
    path = g.save(tmp_path / "mlp")
    assert main(["fold", str(path), "--board", "icebreaker", "--target-fps", "200000",
                 "--out", str(tmp_path / "f"), "--report", str(tmp_path / "r")]) == 0
    out = capsys.readouterr().out
    assert "each line: a cycle budget (every layer folded to at most that many cycles" in out
    assert "; fits icebreaker (binding: CELLS " in out
    svg = (tmp_path / "r" / "folding.svg").read_text()
    for label in ("logic cells (with the fit margin)", "flip-flops", "target: 200,000 frames/s",
                  "chosen: ", "the fullest resource decides the fit", "icebreaker: all of it"):
        assert label in svg, label
