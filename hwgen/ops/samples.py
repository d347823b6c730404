"""What the ops' examples (:meth:`hwgen.ir.layer.Layer.examples`) are made of: random values
of a dtype, weights that reach the accumulator's extremes, activations over a layer's own
accumulator range, and branches joined by ``concat`` so that one graph (one simulator
build) holds many cases.

The cocotb op matrix asks every op in the registry for its examples on each of
:data:`INPUT_DTYPES` and simulates them bit-exact against the reference; frames 0 and 1
of a simulation are all-max and all-min inputs, so with rows of max and min weights the
accumulators reach both ends of their range.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.ir.activations import Requant, Threshold
from hwgen.ir.graph import INPUT, Graph
from hwgen.ir.layer import Layer, Tensor
from hwgen.ir.registry import OPS

__all__ = ["ACTIVATIONS", "INPUT_DTYPES", "WEIGHT_DTYPES", "activation", "activation_branches",
           "draw", "extreme_weights", "joined", "pruned", "rotation", "weighted_branches"]

# The input dtypes every op's examples are asked for: binary, ternary, 1 to 8 bits, signed
# and unsigned.
INPUT_DTYPES = ("bin", "tern", "uint1", "uint2", "int2", "uint4", "int4", "int8", "uint8")
WEIGHT_DTYPES = ("bin", "tern", "int2", "int4", "int8")
ACTIVATIONS = ("none", "threshold", "requant")
# Threshold outputs by weight dtype: 1 to 8 bits, signed and unsigned, so both threshold
# forms (compare all, search) are built.
THRESHOLD_OUT = {"bin": "bin", "tern": "uint2", "int2": "tern", "int4": "int4", "int8": "uint8"}


def draw(dt: DType | str, shape, rng: np.random.Generator) -> np.ndarray:
    """Random values of ``dt`` (its whole range)."""
    dt = DType.parse(dt)
    if dt.kind == "bin":
        return rng.choice([-1, 1], shape)
    return rng.integers(dt.min, dt.max + 1, shape)


def extreme_weights(dt: DType | str, shape, rng: np.random.Generator) -> np.ndarray:
    """Random weights whose first two rows are the dtype's max and min, so the accumulator
    reaches both ends of its range on all-max / all-min inputs."""
    dt = DType.parse(dt)
    w = draw(dt, shape, rng)
    w[0], w[1] = dt.max, dt.min
    return w


def pruned(weights: np.ndarray, sparsity, rng: np.random.Generator) -> np.ndarray:
    """``weights`` pruned to ``sparsity`` (:class:`hwgen.ops.Sparsity`), the larger
    magnitudes kept and equal ones at random; then row 2 loses one kept weight, so that a
    group holds fewer than N (a binary row's empty slot)."""
    kept = sparsity.keep(np.abs(weights) + rng.random(weights.shape))
    w = np.where(kept, weights, 0)
    if len(w) > 2:
        row = w.reshape(len(w), -1)[2]
        row[np.flatnonzero(row)[:1]] = 0
    return w


def activation(kind: str, channels: int, acc: tuple[int, int], rng: np.random.Generator,
               out: str = "uint2", requant_out: str = "int4") -> Threshold | Requant | None:
    """None (``kind`` "none"), a threshold activation to ``out`` with thresholds spread over
    (and just past) the accumulator range ``acc`` on even channels, near its middle on odd
    ones, or a requantizer to ``requant_out`` whose shift brings typical sums over that
    range near the output's."""
    if kind == "none":
        return None
    lo, hi = acc
    if kind == "threshold":
        # even channels over the whole range and just past it, odd ones near its middle,
        # where random data sums fall
        count = Threshold.count(DType.parse(out))
        wide = rng.integers(lo - 1, hi + 2, (channels, count))
        mid, near = (lo + hi) // 2, max(2, (hi - lo) // 16)
        narrow = rng.integers(mid - near, mid + near + 1, (channels, count))
        odd = (np.arange(channels) % 2 == 1)[:, None]
        return Threshold(out, np.sort(np.where(odd, narrow, wide), axis=1))
    # random data sums far inside the worst case: a shift two bits short of the range's
    # keeps its outputs apart (the extremes clamp), and a non-zero m of alternating sign
    # keeps an unsigned output from sitting at 0 on every channel
    span = max(1, hi - lo)
    shift = max(0, span.bit_length() - 5)
    m = rng.integers(1, 4, channels) * np.where(np.arange(channels) % 2, -1, 1)
    return Requant(requant_out, m, np.full(channels, shift))


def rotation(dtype: DType) -> int:
    """Where the optional cases of an example start for input ``dtype`` (its place in
    :data:`INPUT_DTYPES`), so that across the input dtypes they meet every weight dtype and
    activation."""
    return INPUT_DTYPES.index(dtype.name) if dtype.name in INPUT_DTYPES else 0


def _out(layer: Layer, x: Tensor) -> Tensor:
    return layer.infer([x] * layer.arity)


def joined(name: str, x: Tensor, branches: Sequence[Layer]) -> Graph:
    """One graph of ``branches`` that each read the graph input ``x`` (a fork), joined
    pairwise by ``concat`` so the output holds every branch's values, element by element.
    Each concat takes as many channels a beat as divide both of its inputs, so the chain
    is not slower than it must be (branches with even channel counts: two or more)."""
    concat = OPS["concat"]
    layers: list[Layer] = list(branches)
    last, channels = branches[0].name, _out(branches[0], x).shape[-1]
    for k, b in enumerate(branches[1:]):
        c = _out(b, x).shape[-1]
        layers.append(concat(f"cat{k}", inputs=[last, b.name], pe=math.gcd(channels, c)))
        last, channels = f"cat{k}", channels + c
    return Graph(name, x, layers)


def weighted_branches(x: Tensor, rng: np.random.Generator,
                      make: Callable[[str, DType, int], Layer], variants: int = 1
                      ) -> list[Layer]:
    """Branches of a weighted op that each read the graph input: ``make(name, weight dtype,
    0)`` for every weight dtype x activation, then one branch for each further variant ``v``
    (1 .. ``variants`` - 1: another folding or geometry the op's ``make`` chooses), with a
    weight dtype and an activation that rotate with the input dtype. Activations span the
    layer's own accumulator range; the variants' thresholds are signed (int3) and their
    requantizers unsigned (uint4)."""
    branches = []
    start = rotation(x.dtype)
    cases = [(w, a, 0) for w in WEIGHT_DTYPES for a in ACTIVATIONS]
    cases += [(WEIGHT_DTYPES[(start + v) % len(WEIGHT_DTYPES)],
               ACTIVATIONS[(start + v) % len(ACTIVATIONS)], v) for v in range(1, variants)]
    for w_name, act, v in cases:
        layer = make(f"{w_name}_{act}" + (f"_v{v}" if v else ""), DType.parse(w_name), v)
        layer.inputs = [INPUT]
        _out(layer, x)  # the accumulator range
        out, requant_out = (THRESHOLD_OUT[w_name], "int4") if v == 0 else ("int3", "uint4")
        layer.activation = activation(act, layer.channels, layer.acc_range, rng, out,
                                      requant_out)
        branches.append(layer)
    return branches


def activation_branches(x: Tensor, rng: np.random.Generator, prefix: str,
                        make: Callable[[str], Layer]) -> list[Layer]:
    """``make(name)`` under each activation (none, threshold, requant) over its own
    accumulator range, each named ``prefix_activation``."""
    branches = []
    for act in ACTIVATIONS:
        layer = make(f"{prefix}_{act}")
        channels = _out(layer, x).shape[-1]
        layer.activation = activation(act, channels, layer.acc_range, rng)
        branches.append(layer)
    return branches
