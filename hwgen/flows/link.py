"""The host side of the framed protocol of :mod:`hwgen.core.protocol` (the board's side is
:class:`hwgen.hw.blocks.host_link.HostLink`): what ``hwgen run``, the cocotb bench of the
board top and the tests share."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hwgen import reference
from hwgen.boards import DEFAULT_BAUD
from hwgen.core.dtypes import DType
from hwgen.core.errors import BuildError, LinkError
from hwgen.core.packing import StreamPacking, pack, unpack
from hwgen.core.protocol import (
    BAD_LENGTH,
    BAD_START,
    BITS_PER_BYTE,
    ERROR,
    ERROR_NAMES,
    OVERRUN,
    RESULT,
    START,
    TIMEOUT,
    TIMEOUT_BITS,
)
from hwgen.flows.record import BuildReport
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph

__all__ = ["BAD_LENGTH", "BAD_START", "DEFAULT_BAUD", "ERROR", "OVERRUN", "RESULT", "START",
           "TIMEOUT", "TIMEOUT_BITS", "Accelerator", "LinkError", "Run",
           "decode_payload", "encode_payload", "line_seconds", "open_port", "read_response",
           "request", "run_frames"]




def encode_payload(values: np.ndarray, dtype: DType, packing: StreamPacking) -> bytes:
    """One frame of input values -> its bytes on the link: the codes back to back, element 0
    in the lowest bits of the first byte, the last byte padded with zeros."""
    codes = dtype.encode(np.asarray(values, dtype=np.int64).ravel())
    frame = pack(codes, packing.bits, codes.size)[0] if codes.size else 0
    return frame.to_bytes(packing.frame_bytes, "little")


def decode_payload(payload: bytes, dtype: DType, packing: StreamPacking) -> np.ndarray:
    """One output frame's bytes on the link -> its values (flat); the padding is ignored."""
    return dtype.decode(unpack([int.from_bytes(payload, "little")], packing.bits,
                               packing.elems * packing.beats))


def request(payload: bytes, head: int = START) -> bytes:
    """A frame as the host sends it (``head=RESULT``: as the board answers)."""
    if len(payload) >= 1 << 16:
        raise LinkError(f"a frame of {len(payload):,} bytes does not fit the 16-bit length")
    return bytes([head]) + len(payload).to_bytes(2, "little") + payload


def read_response(read: Callable[[int], bytes], expected: int) -> bytes:
    """The payload of the board's next answer, read through ``read(n)`` (which returns
    fewer bytes on a timeout); LinkError for an error answer, nonsense or silence."""
    def exactly(n: int, what: str) -> bytes:
        got = read(n)
        if len(got) != n:
            raise LinkError(f"the board stopped answering after {len(got)} of {n} bytes of "
                            f"{what}")
        return got

    first = read(1)
    if not first:
        raise LinkError("no answer from the board (is the bitstream loaded, the port and "
                        "baud rate right?)")
    if first[0] == ERROR:
        code = exactly(1, "an error answer")[0]
        raise LinkError(f"the board refused the frame: "
                        f"{ERROR_NAMES.get(code, f'unknown error code {code}')}")
    if first[0] != RESULT:
        raise LinkError(f"the board answered 0x{first[0]:02x}, not a result (0x{RESULT:02x}) "
                        f"or an error (0x{ERROR:02x}): wrong baud rate or bitstream?")
    length = int.from_bytes(exactly(2, "the result length"), "little")
    if length != expected:
        raise LinkError(f"the board answered {length} bytes where the model's output frame "
                        f"has {expected}: the bitstream is of another build")
    return exactly(length, "the result")


@dataclass(frozen=True)
class Run:
    outputs: np.ndarray  # (frames, *output shape)
    seconds: float  # first byte sent to last byte received

    @property
    def fps(self) -> float:
        return len(self.outputs) / self.seconds if self.seconds else float("inf")


def run_frames(port, inputs: np.ndarray, input_dtype: DType, in_packing: StreamPacking,
               output_dtype: DType, out_packing: StreamPacking, output_shape: tuple,
               progress: Callable[[int], None] | None = None) -> Run:
    """Send each frame of ``inputs`` through ``port`` (``write``/``read`` of a serial port)
    and read its result, one frame at a time."""
    outputs = []
    start = time.monotonic()
    for k, frame in enumerate(inputs):
        port.write(request(encode_payload(frame, input_dtype, in_packing)))
        payload = read_response(port.read, out_packing.frame_bytes)
        outputs.append(decode_payload(payload, output_dtype, out_packing).reshape(output_shape))
        if progress:
            progress(k + 1)
    return Run(np.stack(outputs), time.monotonic() - start)


def line_seconds(in_bytes: int, out_bytes: int, baud: int) -> float:
    """Seconds the UART needs per frame (request and answer, framing included)."""
    return (in_bytes + out_bytes + 6) * BITS_PER_BYTE / baud


def open_port(name: str, baud: int, timeout: float = 2.0):
    """The serial port ``name`` at ``baud`` (pyserial, the ``board`` extra); LinkError if it
    cannot be opened."""
    try:
        import serial
    except ImportError:
        raise LinkError("pyserial is not installed: pip install 'hwgen[board]'") from None
    try:
        return serial.Serial(name, baud, timeout=timeout)
    except (serial.SerialException, ValueError) as err:
        raise LinkError(f"--port {name}: {err}") from None


@dataclass(frozen=True)
class Accelerator:
    """A build folder with a bitstream, as the host talks to it over the UART: its graph and
    the packing of its streams, from the build's report."""

    folder: Path
    report: BuildReport
    graph: Graph

    @classmethod
    def load(cls, folder: str | Path) -> Accelerator:
        """The build in ``folder``; BuildError if it is not a build or has no bitstream."""
        folder = Path(folder)
        report = BuildReport.load(folder)
        if not report.bitstream:
            raise BuildError(f"{folder}: built without a bitstream; build it with hwgen build "
                             "--board BOARD --bitstream")
        return cls(folder, report, load_graph(folder / "graph.json"))

    @property
    def input_packing(self) -> StreamPacking:
        return self.report.input.packing()

    @property
    def output_packing(self) -> StreamPacking:
        return self.report.output.packing()

    @property
    def baud(self) -> int:
        """The rate the bitstream's host link was built for."""
        return self.report.bitstream["baud"]

    @property
    def clock_mhz(self) -> float:
        return self.report.bitstream["clock_mhz"]

    @property
    def fps(self) -> float:
        """Frames per second the accelerator computes at the board clock."""
        return self.clock_mhz * 1e6 / self.report.cycles_per_frame

    def line_fps(self, baud: int) -> float:
        """Frames per second the UART carries at ``baud`` (request and answer)."""
        return 1 / line_seconds(self.input_packing.frame_bytes,
                                self.output_packing.frame_bytes, baud)

    def frames(self, inputs: np.ndarray) -> np.ndarray:
        """``inputs`` as a batch of the graph's input frames, or GraphError saying why not."""
        return reference.batch(self.graph, inputs)

    def run(self, port, inputs: np.ndarray,
            progress: Callable[[int], None] | None = None) -> Run:
        """Classify each frame of ``inputs`` (a batch, see :meth:`frames`) through ``port``
        (:func:`open_port`)."""
        g = self.graph
        return run_frames(port, inputs, g.input.dtype, self.input_packing, g.output.dtype,
                          self.output_packing, tuple(g.output.shape), progress=progress)
