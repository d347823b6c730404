"""Compression (issue 13): channel selection by LASSO against the paper's baselines on the
trained digits CNN's own feature maps; low-rank splits, magnitude and channel pruning and
distillation on the trained examples, the compressed graphs exact against torch and
bit-exact in cocotb (those fine-tune: marked slow, run by make test-slow)."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen import reference
from hwgen.compress.channels import reconstruct, relative_error, select_channels
from hwgen.examples import get_example
from hwgen.examples.digits import load as load_digits


@pytest.fixture(scope="module")
def cnn():
    return get_example("digits-cnn")(progress=lambda s: None)


def _pointwise(cnn):
    """The pointwise conv's input samples (pixels of 200 test images, 32 channels of one
    position each), its weights and its integer output."""
    layers = {layer.name: layer for layer in cnn.graph.layers}
    x = reference.values(cnn.graph, cnn.test_x[:200])["dw1"].reshape(-1, 32, 1).astype(float)
    w = layers["conv2"].weights.reshape(32, 32, 1).astype(float)
    return x, w, np.einsum("nck,ock->no", x, w)


@pytest.mark.parametrize("keep", [8, 16, 24])
def test_lasso_selection_reconstructs_better_than_first_k_and_max_response(cnn, keep):
    x, w, y = _pointwise(cnn)
    errors = {}
    for method in ("lasso", "first_k", "max_response"):
        kept = select_channels(x, w, keep, method)
        assert len(kept) == keep and len(set(kept.tolist())) == keep
        errors[method] = relative_error(x, y, kept, reconstruct(x, y, kept))
    assert errors["lasso"] < 0.95 * min(errors["first_k"], errors["max_response"]), errors
    # least squares over every channel reproduces the layer
    everything = np.arange(32)
    assert relative_error(x, y, everything, reconstruct(x, y, everything)) < 1e-9


def test_channel_selection_refuses_bad_arguments():
    x, w = np.zeros((5, 4, 1)), np.zeros((3, 4, 1))
    with pytest.raises(ValueError, match=r"keep must be 1\.\.4"):
        select_channels(x, w, 0)
    with pytest.raises(ValueError, match="unknown method 'random'"):
        select_channels(x, w, 2, "random")
    with pytest.raises(ValueError, match="same channels and k"):
        select_channels(x, np.zeros((3, 5, 1)), 2)


@pytest.fixture(scope="module")
def mlp():
    return get_example("digits-mlp")(progress=lambda s: None)


@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_svd_split_of_a_dense_layer_is_two_chained_mvus_bit_exact(mlp, tmp_path):
    """fc2 (64 x 64) at rank 16: two layers of 16 x 64 and 64 x 16 with an int4
    bottleneck; fine-tuned, the export equals torch on every tensor, and the graph is
    bit-exact in cocotb."""
    import torch

    from hwgen import quant
    from hwgen.compress import finetune
    from hwgen.compress.lowrank import choose_rank, factorize_dense

    from .conftest import simulate_graph

    train_x, train_y, test_x, _ = load_digits()
    model, k = factorize_dense(mlp.model, 4, rank=16)
    assert k == 16
    finetune(model, train_x, train_y, epochs=10, progress=lambda s: None)
    graph = quant.export(model, name="lowrank", input_shape=(64,))
    shapes = [layer.weights.shape for layer in graph.layers if hasattr(layer, "weights")]
    assert shapes == [(64, 64), (16, 64), (64, 16), (10, 64)]
    assert graph.layers[1].activation.dtype.name == "int4"
    torch_trace = quant.integer_trace(model, torch.tensor(test_x, dtype=torch.float32))
    for a, b in zip(torch_trace, reference.trace(graph, test_x), strict=True):
        np.testing.assert_array_equal(a, b)
    assert simulate_graph(graph, tmp_path, frames=6).mismatches == 0
    # the rank from an energy or a parameter budget
    s = np.array([4.0, 2.0, 1.0, 1.0])
    # squares 16, 4, 1, 1 of 22: 72.7 %, 90.9 %, 95.5 %
    assert [choose_rank(s, energy=e) for e in (0.7, 0.9, 0.95)] == [1, 2, 3]
    assert choose_rank(s, params=0.5, shape=(64, 64)) == 16


@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_magnitude_pruning_zeroes_weights_exports_ternary_and_stays_exact(mlp, tmp_path):
    import torch

    from hwgen import quant
    from hwgen.compress import finetune
    from hwgen.compress.prune import prune_magnitude, sparsity

    from .conftest import simulate_graph

    train_x, train_y, test_x, _ = load_digits()
    model = prune_magnitude(mlp.model, 0.75)
    assert sparsity(mlp.model) == 0.0  # the original is left alone
    finetune(model, train_x, train_y, epochs=5, progress=lambda s: None)
    graph = quant.export(model, name="pruned", input_shape=(64,))
    dense = [layer for layer in graph.layers if hasattr(layer, "weights")]
    assert [layer.weight_dtype.name for layer in dense] == ["bin", "tern", "tern"]
    for layer in dense[1:]:  # 75 % of each pruned layer's weights are zero, and stay so
        assert (layer.weights == 0).mean() == pytest.approx(0.75, abs=1 / layer.weights.size)
    torch_trace = quant.integer_trace(model, torch.tensor(test_x, dtype=torch.float32))
    for a, b in zip(torch_trace, reference.trace(graph, test_x), strict=True):
        np.testing.assert_array_equal(a, b)
    assert simulate_graph(graph, tmp_path, frames=4).mismatches == 0


@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_distillation_alone_teaches_a_student_the_teachers_function(cnn):
    """alpha = 1: no labels, only the teacher's softened outputs; the student (a 64-16-10
    binarized MLP on the flat image) ends up agreeing with the teacher (a CNN on the
    8x8 image) on most held-out digits. The teacher is not changed."""
    import torch
    from torch import nn

    from hwgen import quant
    from hwgen.compress.distill import distill

    train_x, train_y, test_x, _ = load_digits()
    torch.manual_seed(1)
    student = nn.Sequential(quant.QuantInput("uint4"), quant.QuantDense(64, 16, "bin"),
                            nn.BatchNorm1d(16), quant.BinaryAct(),
                            quant.QuantDense(16, 10, "bin"))
    before = {k: v.clone() for k, v in cnn.model.state_dict().items()}
    distill(student, cnn.model, train_x, train_y, alpha=1.0, epochs=30,
            teacher_x=train_x.reshape(-1, 8, 8, 1), progress=lambda s: None)
    assert all(torch.equal(v, cnn.model.state_dict()[k]) for k, v in before.items())
    student.eval()
    cnn.model.eval()
    with torch.no_grad():
        said = student(torch.tensor(test_x, dtype=torch.float32)).argmax(1)
        told = cnn.model(torch.tensor(test_x.reshape(-1, 8, 8, 1),
                                      dtype=torch.float32)).argmax(1)
    assert float((said == told).float().mean()) > 0.7


@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_channel_pruning_removes_channels_through_the_chain_and_stays_exact(cnn, tmp_path):
    """The pointwise conv reads 16 of its 32 channels: conv1, its batch-norm and the
    depthwise conv lose the other 16; the graph is exact against torch and bit-exact in
    cocotb."""
    import torch

    from hwgen import quant
    from hwgen.compress.channels import prune_channels

    from .conftest import simulate_graph

    train_x, _, test_x, _ = load_digits()
    pointwise = 8  # QuantInput, conv1, BN, ReLU, pool, dw1, BN, ReLU, conv2
    model, kept = prune_channels(cnn.model, pointwise, 16, train_x.reshape(-1, 8, 8, 1))
    assert len(kept) == 16
    graph = quant.export(model, name="pruned", input_shape=(8, 8, 1))
    shapes = {layer.name: layer.weights.shape for layer in graph.layers
              if hasattr(layer, "weights")}
    assert shapes == {"conv1": (16, 3, 3, 1), "dw1": (16, 3, 3, 1), "conv2": (32, 1, 1, 16),
                      "fc1": (10, 128)}
    # conv1 and the depthwise conv keep the kept channels' own filters
    for k in (1, 5):
        assert torch.equal(model[k].weight, cnn.model[k].weight[torch.as_tensor(kept)])
    x = test_x.reshape(-1, 8, 8, 1)
    torch_trace = quant.integer_trace(model, torch.tensor(x, dtype=torch.float32))
    for a, b in zip(torch_trace, reference.trace(graph, x), strict=True):
        np.testing.assert_array_equal(a, b)
    assert simulate_graph(graph, tmp_path, frames=2).mismatches == 0


def test_compress_command_splits_a_layer_and_prunes_a_graph(mlp, tmp_path, capsys):
    from hwgen.cli import main
    from hwgen.ir import load_graph

    assert main(["compress", "digits-mlp", "--method", "lowrank", "--layer", "fc2",
                 "--rank", "8", "--epochs", "2", "--out", str(tmp_path / "lr")]) == 0
    said = capsys.readouterr().out
    assert "fc2 split at rank 8" in said and "after  accuracy" in said
    graph = load_graph(tmp_path / "lr.json")
    assert [layer.weights.shape for layer in graph.layers if hasattr(layer, "weights")] == [
        (64, 64), (8, 64), (64, 8), (10, 64)]
    # a graph alone: magnitude pruning without fine-tuning; binary layers turn ternary
    path = mlp.graph.save(tmp_path / "g")
    assert main(["compress", str(path), "--method", "prune", "--sparsity", "0.5",
                 "--out", str(tmp_path / "p")]) == 0
    pruned = [layer for layer in load_graph(tmp_path / "p.json").layers
              if hasattr(layer, "weights")]
    assert (pruned[0].weights != 0).all()  # the first layer is left whole
    for layer in pruned[1:]:
        assert layer.weight_dtype.name == "tern" and (layer.weights == 0).mean() == 0.5
    for args, message in ((["--method", "lowrank"], "needs --layer"),
                          (["--method", "channels", "--layer", "fc9"], "no layer 'fc9'")):
        source = str(path) if "fc9" not in args else "digits-mlp"
        assert main(["compress", source, *args, "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err
