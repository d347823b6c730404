"""Every op in ``hwgen.ops.REGISTRY`` on every input dtype in cocotb (Icarus), bit-exact against
hwgen.reference with random stalls on both stream sides, flat (12 MHz) and pipelined
(400 MHz), cycles per frame and latency equal to the estimate.

The matrix knows no op: each op class gives its own example graphs
(:meth:`hwgen.ir.layer.Layer.examples`) for an input dtype, so a new op is tested here
once it has examples, and an op without them fails ``test_every_op_has_examples``. One
simulator build covers many cases: the examples run every weight dtype x activation
(and the op's foldings and geometries) as parallel branches of one graph that reads the
input once and joins them with ``concat``. Frames 0 and 1 are all-max and all-min inputs;
with rows of max and min weights they reach every accumulator's extremes.

Each (op, example, input dtype) runs in ``make test`` once, flat or pipelined by turns
along the input dtypes, so every example meets both timings there; the other timing of
each is marked slow (``make test-slow``), which keeps the suite within its time.
"""

import dataclasses

import numpy as np
import pytest

from hwgen import ir, ops, reference
from hwgen.core.dtypes import DType
from hwgen.ops.samples import INPUT_DTYPES
from hwgen.sim.runner import random_inputs
from tests.helpers import FAST, SLOW, simulate_graph

TIMINGS = {"flat": SLOW, "pipelined": FAST}
FRAMES = 6


def _seed(*parts: str) -> int:
    return sum((k + 1) * ord(c) for k, c in enumerate("/".join(parts)))


def examples(op: str, in_name: str) -> dict[str, ir.Graph]:
    """The op's example graphs on ``in_name`` inputs, from a seed of both names."""
    return ops.REGISTRY[op].examples(DType.parse(in_name),
                                     np.random.default_rng(_seed(op, in_name)))


def _cases() -> list:
    cases = []
    for op in ops.REGISTRY:
        for k, in_name in enumerate(INPUT_DTYPES):
            try:
                names = list(examples(op, in_name))
            except Exception:  # test_every_op_has_examples shows the error
                continue
            for timing in TIMINGS:
                slow = timing != list(TIMINGS)[k % 2]
                cases += [pytest.param(op, in_name, name, timing,
                                       id=f"{op}-{in_name}-{name}-{timing}",
                                       marks=[pytest.mark.slow] if slow else [])
                          for name in names]
    return cases


@pytest.mark.parametrize("op", list(ops.REGISTRY))
def test_every_op_has_examples(op):
    cls = ops.REGISTRY[op]
    for in_name in INPUT_DTYPES:
        graphs = examples(op, in_name)
        assert graphs, (f"op {op!r} has no examples for the cocotb op matrix on {in_name} "
                        f"inputs: give {cls.__name__} an examples(dtype, rng) classmethod "
                        "(see hwgen.ir.layer.Layer.examples)")
        for name, graph in graphs.items():
            graph.validate()
            assert any(layer.op == op for layer in graph.layers), (
                f"example {name!r} of {op} has no {op} layer")
        assert list(examples(op, in_name)) == list(graphs), "the names depend on the seed"


@pytest.mark.parametrize("op", list(ops.REGISTRY))
def test_every_branch_varies_on_the_frames_it_is_simulated_on(op):
    """A branch whose output is one value on every frame (a requantizer that rounds the
    sums to 0, thresholds that all lie past them) hides any wrong input the hardware
    reads: each layer reading the graph input gives at least two values on the frames the
    matrix simulates. 15 of 1,197 did not, among them the branch reading half a kernel row
    a beat."""
    for in_name in INPUT_DTYPES:
        for name, graph in examples(op, in_name).items():
            x = random_inputs(graph, FRAMES, seed=1)
            for layer in graph.layers:
                if any(src != ir.INPUT for src in graph.sources[layer.name]):
                    continue  # the joins that gather the branches, layers after others
                alone = ir.Graph("alone", graph.input, [dataclasses.replace(layer)])
                y = reference.run(alone, x)
                assert len(np.unique(y)) > 1, (
                    f"{op} example {name!r} on {in_name}: {layer.name} gives {y.flat[0]} "
                    "on every frame")


@pytest.mark.parametrize("op,in_name,example,timing", _cases())
def test_op_in_cocotb(tmp_path, op, in_name, example, timing):
    graph = examples(op, in_name)[example]
    simulate_graph(graph, tmp_path, frames=FRAMES, board=TIMINGS[timing])
