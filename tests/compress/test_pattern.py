"""Pruning to an N:M pattern (issue 25 item 3): the pattern's mask, the slot count a pruned
layer takes, a graph pruned alone, a model pruned, fine-tuned with the mask held and
exported with the field (binary weights staying binary), exact against torch."""

from __future__ import annotations

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops, reference
from hwgen.compress.prune import prune_graph_pattern, prune_pattern
from hwgen.core.dtypes import DType
from hwgen.core.errors import CompressError
from hwgen.ops import Sparsity


@pytest.mark.parametrize("text, got", [("2:4", Sparsity(2, 4)), ("1:8", Sparsity(1, 8))])
def test_a_pattern_is_read_from_n_colon_m(text, got):
    assert Sparsity.parse(text) == got


@pytest.mark.parametrize("text", ["4:4", "0:4", "2/4", "2:", "a:4", "-1:4", "5:4"])
def test_a_pattern_outside_1_le_n_lt_m_is_refused(text):
    with pytest.raises(ValueError, match=r"pattern must be N:M with integers 1 <= N < M"):
        Sparsity.parse(text)


def test_keep_takes_the_n_largest_of_each_group_the_earlier_on_a_tie():
    mag = np.array([[3, 1, 2, 5, 1, 1, 1, 1],
                    [0, 0, 0, 9, 4, 3, 4, 0]])
    assert Sparsity(2, 4).keep(mag).astype(int).tolist() == [[1, 0, 0, 1, 1, 1, 0, 0],
                                                             [1, 0, 0, 1, 1, 0, 1, 0]]
    assert Sparsity(1, 2).keep(mag).astype(int).tolist() == [[1, 0, 0, 1, 1, 0, 1, 0],
                                                             [1, 0, 0, 1, 1, 0, 1, 0]]


@pytest.mark.parametrize("pattern, size, simd, got", [
    (Sparsity(2, 4), 64, 16, 16),   # the same lanes
    (Sparsity(2, 4), 784, 49, 56),  # 49 is odd: 56 (7 more) is closer than 28
    (Sparsity(1, 4), 12, 2, 1),     # 1 and 3 slots are as close: the fewer
    (Sparsity(2, 4), 6, 1, None)])  # M=4 does not divide 6
def test_a_pruned_layer_takes_the_slot_count_closest_to_its_simd(pattern, size, simd, got):
    assert pattern.nearest_simd(size, simd) == got


def _graph():
    rng = np.random.default_rng(3)
    x = ir.Tensor((4, 4, 4), DType.parse("uint2"))
    return ir.Graph("g", x, [
        ops.Conv2d("conv", weight_dtype="int4", weights=rng.integers(-8, 8, (4, 3, 3, 4)),
                   padding=1, pe=2, simd=4),
        ops.Conv2d("dw", weight_dtype="bin", weights=rng.choice([-1, 1], (4, 3, 3, 1)),
                   groups=4, padding=1, pe=4, activation=ir.Threshold("bin", [[0]] * 4)),
        ops.Dense("fc", weight_dtype="bin", weights=rng.choice([-1, 1], (6, 64)), pe=3,
                  simd=8)])


def test_a_graph_alone_is_pruned_by_magnitude_and_carries_the_pattern():
    g, heard = _graph(), []
    out = prune_graph_pattern(g, Sparsity(2, 4), heard.append)
    conv, dw, fc = out.layers
    assert heard == ["  dw stays dense: a depthwise conv takes no pattern"]
    # the conv's 4 channels make one group a beat: 2 slots (in 4 input beats, as before)
    assert (conv.sparsity, conv.simd, fc.sparsity, fc.simd) == (Sparsity(2, 4), 2,
                                                                Sparsity(2, 4), 8)
    assert dw.sparsity is None and np.array_equal(dw.weights, g.layers[1].weights)
    assert fc.weight_dtype.name == "bin"  # the zeros are in the pattern
    # conv: in each group of 4 channels of a kernel position, 2 kept, none smaller than
    # a dropped one, each as it was
    w, kept = g.layers[0].weights, conv.weights != 0
    for o, ky, kx in np.ndindex(4, 3, 3):
        group, mask = np.abs(w[o, ky, kx]), kept[o, ky, kx]
        assert mask.sum() <= 2 and (mask.sum() == 2 or (group[~mask] == 0).all())
        assert group[mask].min(initial=99) >= group[~mask].max(initial=0)
    assert np.array_equal(conv.weights[kept], w[kept])
    # binary: every magnitude 1, so the first two of each group
    assert np.array_equal(fc.weights != 0, np.tile([True, True, False, False], (6, 16)))
    assert np.array_equal(out.layers[2].weights[fc.weights != 0],
                          g.layers[2].weights[fc.weights != 0])


def test_compress_takes_a_pattern_for_prune_only_and_refuses_a_bad_one():
    g = _graph()
    result = hwgen.compress(g, "prune", pattern="1:4", progress=lambda s: None)
    assert result.graph.layers[2].sparsity == Sparsity(1, 4)
    for kw, said in [(dict(pattern="4:2"), "--pattern: pattern must be N:M"),
                     (dict(pattern="2:4", sparsity=0.5), "--pattern N:M goes with --method "
                      "prune, without --sparsity")]:
        with pytest.raises(CompressError, match=said):
            hwgen.compress(g, "prune", **kw)
    with pytest.raises(CompressError, match="goes with --method prune"):
        hwgen.compress(g, "codebook", bits=2, pattern="2:4")
    with pytest.raises(CompressError, match=r"--sparsity \(0 to 1\) or --pattern N:M"):
        hwgen.compress(g, "prune")


@pytest.mark.torch
def test_a_model_pruned_to_a_pattern_holds_it_through_training_and_exports_it_exactly():
    import torch
    from torch import nn

    from hwgen.compress import finetune
    from hwgen.frontends import quant

    torch.manual_seed(0)
    model = nn.Sequential(quant.QuantConv2d(4, 8, 3, "bin", padding=1, pad_value=1, pe=2,
                                            simd=4),
                          quant.BinaryAct(),
                          quant.QuantDense(128, 10, "int4", pe=2, simd=16))
    heard: list[str] = []
    pruned = prune_pattern(model, Sparsity(2, 4), heard.append)
    assert heard == [] and model[0].mask is None  # the original is left alone
    rng = np.random.default_rng(0)
    x = rng.choice([-1, 1], (64, 4, 4, 4))
    finetune(pruned, x, rng.integers(0, 10, 64), epochs=2, progress=lambda s: None)
    graph = quant.export(pruned, name="p", input_shape=(4, 4, 4), input_dtype="bin")
    conv, fc = [layer for layer in graph.layers if hasattr(layer, "weights")]
    for layer in (conv, fc):
        groups = layer.weights.reshape(len(layer.weights), -1, 4)
        assert np.count_nonzero(groups, axis=2).max() <= 2
        assert layer.sparsity == Sparsity(2, 4)
    # binary weights stay binary; 4 channels make one group a beat: 2 slots; the dense
    # layer keeps its 16 lanes
    assert (conv.weight_dtype.name, conv.simd, fc.weight_dtype.name, fc.simd) == (
        "bin", 2, "int4", 16)
    torch_trace = quant.integer_trace(pruned, torch.tensor(x[:8], dtype=torch.float32))
    for a, b in zip(torch_trace, reference.trace(graph, x[:8]), strict=True):
        np.testing.assert_array_equal(a, b)


def test_the_command_prints_cycles_and_logic_before_and_after_at_the_same_lanes(tmp_path,
                                                                               capsys):
    from hwgen.cli import main

    rng = np.random.default_rng(5)
    g = ir.Graph("g", ir.Tensor((64,), DType.parse("bin")), [
        ops.Dense("fc", weight_dtype="bin", weights=rng.choice([-1, 1], (8, 64)), pe=2,
                  simd=8)])
    g.save(tmp_path / "g")
    assert main(["compress", str(tmp_path / "g.json"), "--method", "prune", "--pattern",
                 "2:4", "--out", str(tmp_path / "p"), "--board", "icebreaker"]) == 0
    said = capsys.readouterr().out
    # 8/2 row groups x 64/8 input slices; then x 32 slots/8
    assert "before 512 weights, 0 zero, 512 weight bits; 32 cycles/frame" in said
    assert "after  512 weights, 256 zero, 512 weight bits (768 as stored" in said
    assert "; 16 cycles/frame" in said
    assert hwgen.load_graph(tmp_path / "p.json").layers[0].sparsity == Sparsity(2, 4)


@pytest.mark.slow  # MNIST: 60,000 images a fine-tuning epoch
@pytest.mark.torch
def test_an_mnist_model_is_pruned_to_a_pattern_and_measured_on_its_10000_test_images():
    result = hwgen.compress("mnist-tfc", "prune", pattern="2:4", epochs=1,
                            progress=lambda s: None)
    assert result.test_samples == 10_000
    assert result.graph.input.dtype.name == "bin"
    assert all(layer.sparsity == Sparsity(2, 4) for layer in result.graph.layers
               if hasattr(layer, "weights"))
    assert result.accuracy_after > 0.5  # far above chance: fine-tuned on MNIST itself
