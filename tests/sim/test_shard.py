"""Merging shards (:func:`hwgen.sim.shard._merge`): frame order, the first mismatch by
phase then frame with the shard's offset, weighed cycles, beat errors with their frames.
The sharded run itself is compared with the unsharded one on a real cluster in
``tests/flows/test_cluster.py``."""

import numpy as np

from hwgen.sim.runner import SimResult
from hwgen.sim.shard import _merge


def result(frames, first_value, mismatch=None, cycles=9.0, errors=()):
    out = np.arange(first_value, first_value + frames).reshape(frames, 1)
    return SimResult("compiled", frames, 0 if mismatch is None else 1, mismatch, cycles, 9,
                     17 + first_value, 0.5, out, out.copy(), list(errors))


def test_frame_order_first_mismatch_and_errors():
    stalls = {"phase": "stalls", "frame": 3, "index": [0], "expected": 1, "got": 2}
    free = {"phase": "free", "frame": 0, "index": [0], "expected": 1, "got": 2}
    parts = [(8, result(8, 8, stalls, cycles=10.0, errors=["phase stalls: 2 more"])),
             (0, result(8, 0, free)), (16, result(4, 16))]
    got = _merge(parts, 3.25)
    assert got.frames == 20 and got.mismatches == 2 and got.wall_seconds == 3.25
    assert got.outputs.reshape(-1).tolist() == list(range(20))
    assert got.first_mismatch == {**stalls, "frame": 11}  # stalls come before free
    assert got.cycles_per_frame == (8 * 10.0 + 8 * 9.0 + 4 * 9.0) / 20
    assert got.latency_cycles == 17  # frame 0's shard
    assert got.beat_errors == ["frames 8..15: phase stalls: 2 more"]


def test_unknown_steady_state_stays_unknown():
    assert _merge([(0, result(8, 0)), (8, result(1, 8, cycles=None))], 1.0
                  ).cycles_per_frame is None
