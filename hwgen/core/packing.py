"""How tensors travel on a stream: codes packed into beats, element 0 in the lowest bits."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["StreamPacking", "pack", "unpack"]


@dataclass(frozen=True)
class StreamPacking:
    """``elems`` codes of ``bits`` per beat, ``beats`` per frame, tdata padded to whole bytes."""

    elems: int
    bits: int
    beats: int

    @property
    def payload_bits(self) -> int:
        return self.elems * self.bits

    @property
    def tdata_bits(self) -> int:
        return -(-self.payload_bits // 8) * 8

    @property
    def beat_bytes(self) -> int:
        return self.tdata_bits // 8

    @property
    def frame_bytes(self) -> int:
        """Bytes of a frame on the host link: its codes back to back, without the beats'
        padding, the last byte padded with zeros (98 for 784 binary pixels)."""
        return -(-self.payload_bits * self.beats // 8)

    @property
    def wire_unit(self) -> int:
        """Bits the host link moves at a time between bytes and beats: the largest that
        divides both a byte and a beat's codes (8 where the beats are whole bytes)."""
        return math.gcd(self.payload_bits, 8)

    def as_dict(self) -> dict[str, int]:
        return {"elements_per_beat": self.elems, "bits_per_element": self.bits,
                "beats_per_frame": self.beats, "tdata_bits": self.tdata_bits}


def pack(codes: np.ndarray, bits: int, per_beat: int) -> list[int]:
    """Flat codes -> beats (Python ints, any width), ``per_beat`` codes each."""
    codes = np.asarray(codes, dtype=np.uint64).ravel()
    if codes.size % per_beat:
        raise ValueError(f"{codes.size} elements do not split into beats of {per_beat}")
    beats = []
    for start in range(0, codes.size, per_beat):
        word = 0
        for k, code in enumerate(codes[start:start + per_beat].tolist()):
            word |= int(code) << (k * bits)
        beats.append(word)
    return beats


def unpack(beats: list[int], bits: int, per_beat: int) -> np.ndarray:
    """Beats -> flat codes (uint64); bits above ``per_beat * bits`` are ignored."""
    mask = (1 << bits) - 1
    return np.array([(int(beat) >> (k * bits)) & mask for beat in beats for k in range(per_beat)],
                    dtype=np.uint64)
