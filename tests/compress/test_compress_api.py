"""``hwgen.compress(...)`` from Python: an example trained, pruned and fine-tuned on the
digits, with the accuracies it reports measured again here; a graph alone shared through
codebooks; and the errors ``hwgen compress`` prints, raised as HwgenError subclasses."""

from __future__ import annotations

import numpy as np
import pytest

import hwgen
from hwgen import reference
from hwgen.core.errors import CompressError, ExampleError, HwgenError
from hwgen.examples.digits import load as load_digits

pytestmark = pytest.mark.torch


@pytest.fixture(scope="module")
def pruned():
    heard: list[str] = []
    result = hwgen.compress("digits-mlp", "prune", sparsity=0.5, epochs=2, seed=0,
                            progress=heard.append)
    return result, heard


def test_an_example_is_pruned_fine_tuned_and_measured_on_held_out_digits(pruned):
    result, heard = pruned
    assert isinstance(result, hwgen.CompressResult)
    assert result.method == "prune" and isinstance(result.graph, hwgen.Graph)
    assert "fine-tuning 2 epochs" in heard
    # the accuracies are those of the two integer graphs on the seed's held-out digits
    _, _, test_x, test_y = load_digits(0)
    assert result.test_samples == len(test_y)
    for graph, reported in ((result.original, result.accuracy_before),
                            (result.graph, result.accuracy_after)):
        got = reference.run(graph, test_x).reshape(-1)
        assert reported == pytest.approx(float(np.mean(got == test_y)))
    assert result.accuracy_after > 0.5  # far above chance (0.1): fine-tuning kept it working
    # half of each weighted layer's weights are zero, but the first layer's
    weighted = [layer for layer in result.graph.layers if hasattr(layer, "weights")]
    assert (weighted[0].weights != 0).mean() > 0.9
    for layer in weighted[1:]:
        assert (layer.weights == 0).mean() >= 0.5
    before, after = result.weights_before, result.weights_after
    assert before.weights == after.weights  # pruning zeroes weights, removes none
    assert after.zeros > before.zeros


def test_a_graph_alone_shares_its_weights_through_codebooks(pruned, tmp_path):
    result, _ = pruned
    graph = result.graph  # ternary weights: a 1-bit codebook stores them in fewer bits
    shared = hwgen.compress(graph, "codebook", bits=1, progress=lambda _: None)
    assert (shared.test_samples, shared.accuracy_before, shared.accuracy_after) == (
        None, None, None)
    assert shared.original is graph
    after = shared.weights_after
    assert after.stored_bits < after.bits == shared.weights_before.bits
    # the same from the file of the graph
    path = graph.save(tmp_path / "pruned")
    again = hwgen.compress(path, "codebook", bits=1, progress=lambda _: None)
    for a, b in zip(again.graph.layers, shared.graph.layers, strict=True):
        if hasattr(a, "weights"):
            np.testing.assert_array_equal(a.weights, b.weights)


@pytest.mark.parametrize(("source", "method", "options", "error", "message"), [
    ("digits-mlp", "prune", {}, CompressError, "--method prune needs --sparsity (0 to 1)"),
    ("digits-mlp", "shrink", {}, CompressError, "unknown method 'shrink'"),
    ("nothing-like-it", "codebook", {"bits": 2}, CompressError,
     "nothing-like-it: neither a graph file (NAME.json) nor an example"),
    ("digits-mlp", "prune", {"sparsity": 0.5, "weight_dtype": "uint4"}, ExampleError,
     "--weight-dtype uint4: weights are bin, tern or intK"),
    ("digits-resnet", "prune", {"sparsity": 0.5, "weight_dtype": "tern"}, ExampleError,
     "--weight-dtype: digits-resnet has fixed weight dtypes"),
])
def test_refusals_come_before_any_training(source, method, options, error, message):
    with pytest.raises(error) as caught:
        hwgen.compress(source, method, progress=pytest.fail, **options)
    assert isinstance(caught.value, HwgenError)
    assert message in str(caught.value)


def test_a_graph_alone_refuses_the_methods_that_fine_tune(pruned):
    graph = pruned[0].graph
    with pytest.raises(CompressError, match="--method lowrank fine-tunes: it needs a model"):
        hwgen.compress(graph, "lowrank", layer="fc2")
    with pytest.raises(CompressError, match=r"sparsity must be in \[0, 1\), got 1.5"):
        hwgen.compress(graph, "prune", sparsity=1.5, progress=pytest.fail)
