"""The beat schedule of a planned graph: when every output beat of every layer leaves, for a
source that sends a beat every ``gap`` cycles and a sink that never waits. The estimator
reads latencies from it, and the plan sizes the FIFOs in front of joins with it."""

from __future__ import annotations

import numpy as np

from hwgen.ir.graph import INPUT
from hwgen.ir.plan import LayerPlan, Plan

__all__ = ["FIFO_MARGIN", "SCHEDULE_FRAMES", "arrivals", "beat_schedule", "join_fifo_depth"]

FIFO_MARGIN = 2  # beats a join FIFO holds beyond the occupancy the schedule predicts
SCHEDULE_FRAMES = 3  # frames the FIFO sizing schedule runs: fill, then steady state


def _beats_at(times: np.ndarray, elems_from: int, elems_to: int) -> np.ndarray:
    """Arrival of each regrouped beat: when the producer beat holding its last element
    arrives."""
    n = len(times) * elems_from // elems_to
    last = (np.arange(1, n + 1) * elems_to - 1) // elems_from
    return times[last]


def _schedule(arrive: np.ndarray, gap: float) -> np.ndarray:
    """t[j] = max(arrive[j], t[j-1] + gap), vectorized."""
    j = np.arange(len(arrive))
    return j * gap + np.maximum.accumulate(arrive - j * gap)


def _frames(per_frame: np.ndarray, beats: int, frames: int) -> np.ndarray:
    """A per-frame index array repeated over ``frames`` frames of ``beats`` beats."""
    return np.concatenate([per_frame + f * beats for f in range(frames)])


def arrivals(times: dict[str, np.ndarray], lp: LayerPlan, k: int) -> np.ndarray:
    """When each beat of input ``k`` of ``lp`` reaches the layer (before its FIFO)."""
    return _beats_at(times[lp.sources[k]], lp.src_elems[k], lp.elems[k])


def beat_schedule(p: Plan, gap: float, frames: int = 1) -> dict[str, np.ndarray]:
    """Output beat times of every layer (and of the graph ``input``) for ``frames`` frames
    when the source sends a beat every ``gap`` cycles and the sink never waits.

    Each output beat waits for the last input beats it needs (:meth:`Layer.needs`)
    plus the layer's work on them and its pipeline depth, and for the beat before
    it plus the layer's cycles per beat; every input takes at most one beat a cycle.
    """
    times = {INPUT: np.arange(frames * p.input.beats) * gap}
    for lp in p.layers:
        needs, work = lp.layer.needs(lp)
        ready = np.full(frames * lp.out_packing.beats, -np.inf)
        for k, packing in enumerate(lp.in_packings):
            taken = _schedule(arrivals(times, lp, k), 1.0)
            need = _frames(needs[k], packing.beats, frames)
            ready = np.maximum(ready, np.where(need >= 0, taken[np.maximum(need, 0)], -np.inf))
        times[lp.layer.name] = _schedule(ready + work + lp.depth,
                                         lp.cycles / lp.out_packing.beats)
    return times


def join_fifo_depth(times: dict[str, np.ndarray], lp: LayerPlan, k: int) -> int:
    """Beats the FIFO in front of input ``k`` of join ``lp`` must hold so the pipeline never
    waits on it: the most beats that have arrived on that input but are not yet taken,
    over a schedule of ``SCHEDULE_FRAMES`` frames at the pipeline's rate, plus
    ``FIFO_MARGIN``. The branch that skips ahead arrives early and waits there for the
    other branch's latency; the other input needs one beat (the one being taken) and the
    margin."""
    arrive = arrivals(times, lp, k)
    n_in, n_out = lp.in_packings[k].beats, lp.out_packing.beats
    frames = len(arrive) // n_in
    taken_at = _frames(lp.layer.consumed(lp)[k], n_out, frames)  # output beat taking it
    taken = times[lp.layer.name][taken_at] - lp.depth + 1  # when the join takes it
    waiting = np.searchsorted(np.sort(arrive), taken, side="right") - np.arange(len(taken))
    # waiting >= 1: the join takes a beat a cycle or more after it arrives, in order
    return max(2, int(waiting.max()) + FIFO_MARGIN)
