"""What hwgen writes for tools that do not run here: the Vivado projects of the Xilinx boards
(checked against reviewed fixtures, and their tops mapped by yosys synth_xilinx), the
PYNQ driver's packing (against hwgen's own), and the ASIC gate-level netlist."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import numpy as np
import pytest

from hwgen import ir, ops, reference
from hwgen.cli import main
from hwgen.core.dtypes import DType
from hwgen.core.packing import pack
from hwgen.flows.vivado import synth_check
from tests import helpers
from tests.flows.test_host_link import small_graph

FIXTURES = helpers.FIXTURES / "vivado"
VERSION = re.compile(r"hwgen \S+ for")


def _build(tmp_path, board: str, graph: ir.Graph | None = None, *flags: str) -> Path:
    path = (graph or small_graph()).save(tmp_path / "g")
    out = tmp_path / board
    assert main(["build", str(path), "--board", board, "--out", str(out), *flags]) == 0
    return out


@pytest.mark.synth
@pytest.mark.parametrize(("board", "flow"), [("arty-a7-35", "arty_a7"), ("pynq-z2", "pynq_z2")])
def test_vivado_project_matches_its_fixture_and_maps_with_synth_xilinx(tmp_path, board, flow):
    out = _build(tmp_path, board, None, "--bitstream")
    written = sorted(f.name for f in (out / "vivado").iterdir())
    expected = sorted(f.name for f in (FIXTURES / flow).iterdir())
    assert [f for f in written if f != "board_top.v"] == expected
    for name in expected:  # the generated Amaranth top (board_top.v) is not a template
        got = VERSION.sub("hwgen VERSION for", (out / "vivado" / name).read_text())
        assert got == (FIXTURES / flow / name).read_text(), name
    got = synth_check(out / "vivado", None if flow == "arty_a7" else out / "link.v")
    assert got.lut > 50 and got.ff > 20


def test_pynq_driver_packs_as_hwgen_does(tmp_path):
    """The driver's encode/pack/unpack/decode (numpy only, for the board) against hwgen's
    packing, on a graph with signed input words wider than a byte."""
    rng = np.random.default_rng(5)
    layer = ops.Dense("fc", weight_dtype="int3", weights=rng.integers(-4, 4, (6, 10)), pe=3,
                     simd=5)
    graph = ir.Graph("drv", ir.Tensor((10,), DType.parse("int5")), [layer])
    out = _build(tmp_path, "pynq-z2", graph, "--bitstream")
    sys.modules.setdefault("pynq", types.SimpleNamespace(Overlay=None, allocate=None))
    namespace: dict = {}
    exec((out / "vivado" / "drv.py").read_text(), namespace)
    x = rng.integers(-16, 16, (4, 10))
    words = namespace["_pack"](namespace["_encode"](x.ravel(), 5, "int"), 5, 5, 32)
    beats = pack(DType.parse("int5").encode(x), 5, 5)
    assert [int.from_bytes(bytes(w), "little") for w in words] == beats
    y = reference.run(graph, x)
    out_dt = graph.output.dtype
    y_beats = pack(out_dt.encode(y), out_dt.bits, 3)
    y_words = np.array([list(b.to_bytes(namespace["OUT_WORD"] // 8, "little"))
                        for b in y_beats], dtype=np.uint8)
    back = namespace["_decode"](namespace["_unpack"](y_words, out_dt.bits, 3), out_dt.bits,
                                out_dt.kind)
    np.testing.assert_array_equal(back.reshape(y.shape), y)


@pytest.mark.synth
def test_asic_netlist_is_plain_gates_with_a_count(tmp_path):
    out = _build(tmp_path, "asic", None, "--netlist")
    text = (out / "netlist.v").read_text()
    assert not re.search(r"\b(SB_|LUT\d|TRELLIS|FD[A-Z]*\b|RAMB|DSP48)", text)
    cells = __import__("json").loads((out / "report.json").read_text())["netlist"]
    assert set(cells) <= {"$_AND_", "$_NAND_", "$_OR_", "$_NOR_", "$_XOR_", "$_XNOR_",
                          "$_ANDNOT_", "$_ORNOT_", "$_MUX_", "$_NOT_", "$_DFF_P_"}
    assert cells["$_DFF_P_"] == text.count("always @(posedge clk)")
    assert "negedge" not in text and "posedge rst" not in text  # synchronous reset only


def test_bitstream_refusals_name_the_flag_and_the_board(tmp_path, capsys):
    path = small_graph().save(tmp_path / "g")
    for args, message in (
            (["--board", "asic", "--bitstream"], "board asic has no bitstream flow"),
            (["--board", "pynq-z2", "--bitstream", "--fit"], "--fit folds until nextpnr"),
            (["--board", "icebreaker", "--fit"], "--fit folds until nextpnr"),
            (["--board", "icebreaker", "--baud", "9600"], "--baud sets the host link"),
            (["--board", "icebreaker", "--bitstream", "--baud", "4000000"],
             "baud 4,000,000 is too fast for a 12 MHz clock"),
            (["--board", "arty-a7-35", "--bitstream", "--baud", "30000000"],
             "baud 30,000,000 is too fast for a 100 MHz clock")):
        assert main(["build", str(path), "--out", str(tmp_path / "o"), *args]) == 2
        assert message in capsys.readouterr().err
        assert not (tmp_path / "o").exists()
