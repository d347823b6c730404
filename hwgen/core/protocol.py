"""The framed protocol between a host and a board top: its bytes, error codes and timing, one
definition for both sides (the board's :class:`hwgen.hw.blocks.host_link.HostLink` and the
host's :mod:`hwgen.flows.link`).

Host to board: ``START``, the payload length (2 bytes, little-endian), the payload: one
input frame's codes back to back, element 0 in bit 0 of the first byte, the last byte
padded with zeros (98 bytes for 784 binary pixels, whatever the beats are).
Board to host: ``RESULT``, length, the output frame's codes the same way; or, for a
malformed frame, ``ERROR`` and a code. After an error the board ignores the line until
it has been quiet for ``TIMEOUT_BITS`` bit times, so a host waits that long before the
next frame; a frame that stops for that long mid-way is dropped with ``TIMEOUT``.
"""

from __future__ import annotations

__all__ = ["BAD_LENGTH", "BAD_START", "BITS_PER_BYTE", "ERROR", "ERROR_NAMES", "OVERRUN",
           "RESULT", "START", "TIMEOUT", "TIMEOUT_BITS"]

START, RESULT, ERROR = 0xA5, 0x5A, 0xEE
BAD_START, BAD_LENGTH, TIMEOUT, OVERRUN = 1, 2, 3, 4
ERROR_NAMES = {BAD_START: "a byte that is not a frame start",
               BAD_LENGTH: "a length that is not the model's input frame",
               TIMEOUT: "a frame that stopped before its last byte",
               OVERRUN: "a frame sent before the last one was taken"}
TIMEOUT_BITS = 256
BITS_PER_BYTE = 10  # start, 8 data, stop
