"""Limits every part of hwgen holds a graph to: widths the reference and the hardware can
carry, and sizes beyond which a graph is refused before anything large is allocated."""

from __future__ import annotations

__all__ = [
    "MAX_ACC_BITS",
    "MAX_ARRAY_ELEMENTS",
    "MAX_IO_BITS",
    "MAX_JSON_BYTES",
    "MAX_LAYERS",
    "MAX_NAME_CHARS",
    "MAX_TENSOR_ELEMENTS",
    "MAX_WORD_BITS",
    "STORAGES",
]

MAX_ACC_BITS = 62  # the reference computes in int64; keep every accumulator clear of it
STORAGES = ("auto", "logic", "bram")  # where a layer's weights live in hardware
MAX_IO_BITS = 32
# The widest word (a ROM word, a stream beat) a block may have: Amaranth's netlist holds
# at most 2^16 bits per cell output.
MAX_WORD_BITS = (1 << 16) - 1
MAX_NAME_CHARS = 128  # graph and layer names
MAX_TENSOR_ELEMENTS = 1 << 22  # one frame of any tensor (4,194,304 elements)
MAX_ARRAY_ELEMENTS = 1 << 24  # any weight or threshold array (16,777,216 elements)
MAX_LAYERS = 10_000
MAX_JSON_BYTES = 64 << 20  # a graph file
