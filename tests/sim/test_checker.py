"""The checker behind every "bit-exact": it must fail, and name the element, when the RTL is
wrong in one place only, wherever that place is.

A fault is put into the real simulation: the generated top is renamed and wrapped in a
Verilog module that, in one phase only (counted by the benches' resets), XORs one element
of one output beat, drops that beat, or sends it twice. The design under test has
several elements per beat and several beats per frame; the fault is never in the first
frame, the first beat of its frame or the first element of its beat. Each case runs on
the three benches (cocotb on Icarus, cocotb on Verilator, the compiled Verilator bench).
"""

from __future__ import annotations

import json
import random
import re

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.sim.runner import check_phase, simulate

FRAMES = 5
UNITS, PE = 8, 2  # 4 output beats of 2 elements per frame
PHASES = ("stalls", "free")  # the order the runner runs them in

WRAPPER = """
module {top} (
  input clk, input rst,
  input [{iw}:0] s_axis_tdata, input s_axis_tvalid, output s_axis_tready,
  output [{ow}:0] m_axis_tdata, output m_axis_tvalid, input m_axis_tready);
  wire [{ow}:0] d; wire v; wire r;
  {top}_inner inner (.clk(clk), .rst(rst), .s_axis_tdata(s_axis_tdata),
    .s_axis_tvalid(s_axis_tvalid), .s_axis_tready(s_axis_tready), .m_axis_tdata(d),
    .m_axis_tvalid(v), .m_axis_tready(r));
  reg [7:0] phase = 0; reg was_rst = 0; reg [31:0] beat = 0; reg sent_once = 0;
  wire hit = phase == {phase} && beat == {beat};
  // mode 0: one element XORed; 1: the beat dropped; 2: the beat sent twice
  assign m_axis_tdata = (hit && {mode} == 0) ? d ^ {mask} : d;
  assign m_axis_tvalid = (hit && {mode} == 1) ? 1'b0 : v;
  assign r = (hit && {mode} == 1) ? 1'b1 : (hit && {mode} == 2 && !sent_once) ? 1'b0
             : m_axis_tready;
  always @(posedge clk) begin
    was_rst <= rst;
    if (was_rst && !rst) phase <= phase + 1;
    if (rst) begin beat <= 0; sent_once <= 0; end
    else begin
      if (v && r) beat <= beat + 1;
      if (hit && {mode} == 2 && m_axis_tvalid && m_axis_tready) sent_once <= 1;
    end
  end
endmodule
"""


def _graph() -> ir.Graph:
    rng = np.random.default_rng(3)
    weights = rng.integers(-8, 8, (UNITS, 6))
    dense = ops.Dense("fc", weight_dtype="int4", weights=weights, pe=PE, simd=3)
    return ir.Graph("chk", ir.Tensor((6,), DType.parse("uint2")), [dense])


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("checker") / "b"
    build(_graph(), out)
    return out


def _inject(built, tmp_path, mode: int, phase: int, beat: int, mask: int):
    """A copy of the build whose top has the fault."""
    import shutil

    out = tmp_path / "faulty"
    shutil.copytree(built, out)
    report = json.loads((out / "report.json").read_text())
    verilog = out / report["verilog"]
    top = report["top"]
    text = re.sub(rf"\bmodule {top}\b", f"module {top}_inner", verilog.read_text())
    verilog.write_text(text + WRAPPER.format(
        top=top, iw=report["input"]["tdata_bits"] - 1, ow=report["output"]["tdata_bits"] - 1,
        phase=phase + 1, beat=beat, mode=mode, mask=f"{report['output']['tdata_bits']}'d{mask}"))
    return out, report


def _place(seed: int):
    """A random fault position: (phase, frame >= 1, beat of the frame >= 1, element >= 1)."""
    rnd = random.Random(seed)
    beats = UNITS // PE
    return (rnd.randrange(2), rnd.randrange(1, FRAMES), rnd.randrange(1, beats),
            rnd.randrange(1, PE))


def _flip_lowest_bit(value: int, bits: int) -> int:
    """The two's complement value whose code differs from ``value``'s in bit 0."""
    code = (value & ((1 << bits) - 1)) ^ 1
    return code - (1 << bits) if code >> (bits - 1) else code


SIMULATORS = ["icarus", "verilator", "compiled"]
BENCHES = [pytest.param(sim, marks=[] if sim == "icarus" else pytest.mark.verilator)
           for sim in SIMULATORS]


@pytest.mark.parametrize("simulator", BENCHES)
def test_one_wrong_element_is_found_where_it_is(built, tmp_path, monkeypatch, simulator):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    phase, frame, beat, elem = _place(SIMULATORS.index(simulator))
    report = json.loads((built / "report.json").read_text())
    bits = report["output"]["bits_per_element"]
    out, _ = _inject(built, tmp_path, 0, phase, frame * UNITS // PE + beat, 1 << (elem * bits))
    result = simulate(out, frames=FRAMES, simulator=simulator, seed=2)
    index = beat * PE + elem
    expected = int(result.expected[frame, index])
    assert result.mismatches == 1
    assert result.first_mismatch == {"phase": PHASES[phase], "frame": frame, "index": [index],
                                     "expected": expected,
                                     "got": _flip_lowest_bit(expected, bits)}
    assert result.beat_errors == []


@pytest.mark.parametrize("simulator", BENCHES)
def test_a_dropped_beat_is_named(built, tmp_path, monkeypatch, simulator):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    phase, frame, beat, _ = _place(10 + SIMULATORS.index(simulator))
    at = frame * UNITS // PE + beat
    out, _ = _inject(built, tmp_path, 1, phase, at, 0)
    result = simulate(out, frames=FRAMES, simulator=simulator, seed=2)
    total = FRAMES * UNITS // PE
    assert result.mismatches >= PE
    assert result.first_mismatch["phase"] == PHASES[phase]
    assert result.first_mismatch["frame"] == frame
    assert beat * PE <= result.first_mismatch["index"][0] < (beat + 1) * PE
    error, = result.beat_errors
    assert error.startswith(f"phase {PHASES[phase]}: {total - 1} of the {total} output beats "
                            "arrived")
    assert f"beat {at} (frame {frame}, beat {beat} of the frame" in error
    assert "the next beat came in its place (this one was lost)" in error


@pytest.mark.parametrize("simulator", BENCHES)
def test_a_repeated_beat_is_named(built, tmp_path, monkeypatch, simulator):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    phase, frame, beat, _ = _place(20 + SIMULATORS.index(simulator))
    frame = min(frame, FRAMES - 2)  # a copy of the run's last beat is only an extra beat
    at = frame * UNITS // PE + beat
    out, _ = _inject(built, tmp_path, 2, phase, at, 0)
    result = simulate(out, frames=FRAMES, simulator=simulator, seed=2)
    total = FRAMES * UNITS // PE
    assert result.first_mismatch["phase"] == PHASES[phase]
    # the copy takes the place of the next beat
    nxt = at + 1
    assert result.first_mismatch["frame"] == nxt // (UNITS // PE)
    error, = result.beat_errors
    assert error.startswith(f"phase {PHASES[phase]}: 1 output beats more than the {total} "
                            "expected")
    assert f"beat {nxt} (frame {nxt // (UNITS // PE)}" in error
    assert "it repeats the beat before it" in error


def test_a_copy_of_the_last_beat_is_an_extra_beat(built, tmp_path):
    total = FRAMES * UNITS // PE
    out, _ = _inject(built, tmp_path, 2, 1, total - 1, 0)
    result = simulate(out, frames=FRAMES, simulator="icarus", seed=2)
    assert result.mismatches == PE and result.first_mismatch is None
    assert result.beat_errors == [f"phase free: 1 output beats more than the {total} expected"]


def test_the_fault_free_wrapper_is_exact(built, tmp_path):
    """The wrapper itself changes nothing when its fault is in a phase that never runs."""
    out, _ = _inject(built, tmp_path, 0, 5, 3, 1)
    result = simulate(out, frames=FRAMES, simulator="icarus", seed=2)
    assert result.mismatches == 0 and result.beat_errors == [] and result.first_mismatch is None


# -- the comparison on its own, on beats written by hand --------------------------------------

INT4 = DType.parse("int4")


def _beats(values: list[list[int]]) -> list[int]:
    """Beats of two int4 elements each, element 0 in the low nibble."""
    return [(a & 15) | (b & 15) << 4 for a, b in values]


EXPECTED = [[1, -2], [3, 4], [-5, 6], [7, -8]]  # two frames of (2, 2)


def test_check_phase_passes_what_equals_the_reference():
    got = check_phase("free", _beats(EXPECTED), _beats(EXPECTED), INT4, 2, (2, 2))
    assert (got.mismatches, got.first_mismatch, got.beat_error) == (0, None, None)
    assert got.values.tolist() == EXPECTED


def test_check_phase_names_the_last_element_of_the_last_frame():
    wrong = [row[:] for row in EXPECTED]
    wrong[3][1] = 7
    got = check_phase("stalls", _beats(wrong), _beats(EXPECTED), INT4, 2, (2, 2))
    assert got.mismatches == 1 and got.beat_error is None
    assert got.first_mismatch == {"phase": "stalls", "frame": 1, "index": [1, 1],
                                  "expected": -8, "got": 7}


def test_check_phase_counts_every_wrong_element():
    wrong = [[v + 1 if v < 7 else v - 1 for v in row] for row in EXPECTED]
    got = check_phase("free", _beats(wrong), _beats(EXPECTED), INT4, 2, (2, 2))
    assert got.mismatches == 8
    assert got.first_mismatch["frame"] == 0 and got.first_mismatch["index"] == [0, 0]


def test_check_phase_on_missing_and_extra_beats():
    short = check_phase("free", _beats(EXPECTED[:3]), _beats(EXPECTED), INT4, 2, (2, 2),
                        stopped="waited")
    assert short.mismatches == 2
    assert short.first_mismatch == {"phase": "free", "frame": 1, "index": [1, 0],
                                    "expected": 7, "got": None}
    assert short.beat_error == ("phase free: 3 of the 4 output beats arrived (waited); the "
                                "first beat that differs is beat 3 (frame 1, beat 1 of the "
                                "frame, elements 2..3): it never came")
    extra = check_phase("free", _beats(EXPECTED), _beats(EXPECTED), INT4, 2, (2, 2), extra=2)
    assert extra.mismatches == 4 and extra.first_mismatch is None
    assert extra.beat_error == "phase free: 2 output beats more than the 4 expected"


def test_check_phase_says_a_beat_repeats_or_was_lost():
    repeated = [*EXPECTED[:2], EXPECTED[1], *EXPECTED[2:]]  # beat 1 twice: one extra
    got = check_phase("stalls", _beats(repeated)[:4], _beats(EXPECTED), INT4, 2, (2, 2),
                      extra=1)
    assert got.beat_error == ("phase stalls: 1 output beats more than the 4 expected; the "
                              "first beat that differs is beat 2 (frame 1, beat 0 of the "
                              "frame, elements 0..1): it repeats the beat before it")
    assert got.first_mismatch == {"phase": "stalls", "frame": 1, "index": [0, 0],
                                  "expected": -5, "got": 3}
    lost = EXPECTED[:1] + EXPECTED[2:]  # beat 1 never came
    got = check_phase("free", _beats(lost), _beats(EXPECTED), INT4, 2, (2, 2), stopped="w")
    assert got.beat_error == ("phase free: 3 of the 4 output beats arrived (w); the first beat "
                              "that differs is beat 1 (frame 0, beat 1 of the frame, elements "
                              "2..3): the next beat came in its place (this one was lost)")
    # beats 1 and 2 hold the wrong values, beat 3 is missing: 3 beats of 2 elements
    assert got.mismatches == 6
    assert got.first_mismatch == {"phase": "free", "frame": 0, "index": [1, 0],
                                  "expected": 3, "got": -5}


@pytest.mark.parametrize("got, extra, stopped, message", [
    # a repeat of beat 0 at beat 1
    ([EXPECTED[0], EXPECTED[0], EXPECTED[1], EXPECTED[2]], 1, None,
     "phase p: 1 output beats more than the 4 expected; the first beat that differs is beat 1 "
     "(frame 0, beat 1 of the frame, elements 2..3): it repeats the beat before it"),
    # beat 2 lost: the last beat comes in its place, nothing after it
    ([EXPECTED[0], EXPECTED[1], EXPECTED[3]], 0, None,
     "phase p: 3 of the 4 output beats arrived; the first beat that differs is beat 2 (frame 1, "
     "beat 0 of the frame, elements 0..1): the next beat came in its place (this one was lost)"),
    # two beats missing at the end, the bench stopped
    (EXPECTED[:2], 0, "stopped",
     "phase p: 2 of the 4 output beats arrived (stopped); the first beat that differs is beat "
     "2 (frame 1, beat 0 of the frame, elements 0..1): it never came"),
    # one beat more than expected in the record itself
    ([*EXPECTED, EXPECTED[0]], 0, None, "phase p: 1 output beats more than the 4 expected"),
    # the last beat wholly wrong, nothing missing: named, with nothing after it to compare
    ([*EXPECTED[:3], [0, 0]], 0, None,
     "phase p: the first beat that differs is beat 3 (frame 1, beat 1 of the frame, elements "
     "2..3)"),
    # a wrong whole first beat that matches the last one: no repeat, no loss
    ([EXPECTED[3], EXPECTED[1], EXPECTED[2], EXPECTED[3]], 2, None,
     "phase p: 2 output beats more than the 4 expected; the first beat that differs is beat 0 "
     "(frame 0, beat 0 of the frame, elements 0..1)"),
])
def test_check_phase_words_every_case(got, extra, stopped, message):
    check = check_phase("p", _beats(got), _beats(EXPECTED), INT4, 2, (2, 2), extra=extra,
                        stopped=stopped)
    assert check.beat_error == message
