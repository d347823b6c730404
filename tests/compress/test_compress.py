"""Compression (issue 13): channel selection by LASSO against the paper's baselines on the
trained digits CNN's own feature maps; low-rank splits, magnitude and channel pruning and
distillation on the trained examples, the compressed graphs exact against torch and
bit-exact in cocotb (those fine-tune: marked slow, run by make test-slow)."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen import compress, ops, reference
from hwgen.compress.channels import reconstruct, relative_error, select_channels
from hwgen.core.dtypes import DType
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


@pytest.mark.torch
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


@pytest.mark.torch
@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_svd_split_of_a_dense_layer_is_two_chained_mvus_bit_exact(mlp, tmp_path):
    """fc2 (64 x 64) at rank 16: two layers of 16 x 64 and 64 x 16 with an int4
    bottleneck; fine-tuned, the export equals torch on every tensor, and the graph is
    bit-exact in cocotb."""
    import torch

    from hwgen.compress import finetune
    from hwgen.compress.lowrank import choose_rank, factorize_dense
    from hwgen.frontends import quant
    from tests.helpers import simulate_graph

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


@pytest.mark.torch
@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_magnitude_pruning_zeroes_weights_exports_ternary_and_stays_exact(mlp, tmp_path):
    import torch

    from hwgen.compress import finetune
    from hwgen.compress.prune import prune_magnitude, sparsity
    from hwgen.frontends import quant
    from tests.helpers import simulate_graph

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


def test_kmeans_finds_clusters_from_a_linear_start():
    from hwgen.compress.codebook import kmeans_1d

    rng = np.random.default_rng(4)
    centers = np.array([-3.0, -0.5, 0.25, 2.0])
    v = np.concatenate([c + rng.normal(0, 0.05, 50) for c in centers])
    got, index = kmeans_1d(v, 4)
    np.testing.assert_allclose(got, centers, atol=0.03)
    assert (index == np.repeat(np.arange(4), 50)).all()
    with pytest.raises(ValueError, match="at least 2 entries"):
        kmeans_1d(v, 1)


def _int8_graph(rng):
    """A conv (groups=1, weights in a ROM of 4 words) and a dense layer in block RAM, int8
    weights of many distinct values."""
    from hwgen import ir

    conv_w = rng.integers(-128, 128, (8, 3, 3, 2))
    conv_w[0, 0, 0, 0], conv_w[1, 0, 0, 0] = -128, 127
    return ir.Graph("int8", ir.Tensor((6, 6, 2), DType.parse("uint4")), [
        ops.Conv2d("conv", weight_dtype="int8", weights=conv_w, padding=1, pe=2, simd=2,
                  activation=ir.Threshold("uint2", np.sort(rng.integers(-3000, 3000, (8, 3)),
                                                           axis=1))),
        ops.Dense("fc", weight_dtype="int8", weights=rng.integers(-128, 128, (4, 288)),
                 pe=2, simd=8, weight_storage="bram"),
    ])


def test_codebook_graph_decodes_bit_exact_in_cocotb(tmp_path):
    """A graph alone given 2-bit codebooks: every weight becomes its nearest of at most
    four integers, the ROMs hold 2-bit indices, and the decode in front of the lanes is
    bit-exact against the reference in cocotb, with stalls."""
    from hwgen.compress.codebook import share_graph, storage_bits
    from tests.helpers import simulate_graph

    graph = _int8_graph(np.random.default_rng(8))
    shared = share_graph(graph, 2)
    for old, new in zip(graph.layers, shared.layers, strict=True):
        book = new.codebook
        assert len(book) <= 4 and new.index_bits == 2 and set(np.unique(new.weights)) <= set(
            book.tolist())
        nearest = book[np.abs(old.weights[..., None] - book).argmin(-1)]
        assert np.array_equal(np.abs(new.weights - old.weights),
                              np.abs(nearest - old.weights))
    stored, plain = storage_bits(shared)
    assert plain == (144 + 1152) * 8 and stored == (144 + 1152) * 2 + 2 * 4 * 8
    assert simulate_graph(shared, tmp_path, frames=3).mismatches == 0


@pytest.mark.torch
@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_shared_weights_train_their_centroids_and_export_codebooks(tmp_path):
    """An int8 MLP shares 3-bit codebooks: fine-tuning moves the centroids (the summed
    gradients of their members) while every weight keeps its cluster; the export carries
    at most 8 distinct weights a layer with their codebook, equals torch on every tensor
    and is bit-exact in cocotb."""
    import torch

    from hwgen.compress import finetune
    from hwgen.compress.codebook import share_weights
    from hwgen.frontends import quant
    from tests.helpers import simulate_graph

    base = get_example("digits-mlp")(epochs=10, weight_dtype="int8", progress=lambda s: None)
    train_x, train_y, test_x, _ = load_digits()
    model = share_weights(base.model, 3)
    layers = [m for m in model.modules() if isinstance(m, quant.QuantDense)]
    start = [layer.centroids.detach().clone() for layer in layers]
    index = [layer.index.clone() for layer in layers]
    finetune(model, train_x, train_y, epochs=3, progress=lambda s: None)
    for layer, c0, i0 in zip(layers, start, index, strict=True):
        assert not torch.equal(layer.centroids, c0) and torch.equal(layer.index, i0)
    graph = quant.export(model, name="shared", input_shape=(64,))
    for layer in [g for g in graph.layers if hasattr(g, "weights")]:
        assert layer.codebook is not None and len(layer.codebook) <= 8
        assert np.array_equal(layer.codebook, np.unique(layer.weights))
    torch_trace = quant.integer_trace(model, torch.tensor(test_x, dtype=torch.float32))
    for a, b in zip(torch_trace, reference.trace(graph, test_x), strict=True):
        np.testing.assert_array_equal(a, b)
    assert simulate_graph(graph, tmp_path, frames=4).mismatches == 0


@pytest.mark.torch
@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_distillation_alone_teaches_a_student_the_teachers_function(cnn, tmp_path):
    """alpha = 1: no labels, only the teacher's softened outputs; the student (a 64-16-10
    binarized MLP on the flat image) ends up agreeing with the teacher (a CNN on the
    8x8 image) on most held-out digits, and its graph is bit-exact in cocotb. The
    teacher is not changed."""
    import torch
    from torch import nn

    from hwgen.compress.distill import distill
    from hwgen.frontends import quant
    from tests.helpers import simulate_graph

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
    graph = quant.export(student, name="student", input_shape=(64,))
    assert simulate_graph(graph, tmp_path, frames=4).mismatches == 0


@pytest.mark.torch
@pytest.mark.slow  # trains and fine-tunes, then simulates: make test-slow
def test_channel_pruning_removes_channels_through_the_chain_and_stays_exact(cnn, tmp_path):
    """The pointwise conv reads 16 of its 32 channels: conv1, its batch-norm and the
    depthwise conv lose the other 16; the graph is exact against torch and bit-exact in
    cocotb."""
    import torch

    from hwgen.compress.channels import prune_channels
    from hwgen.frontends import quant
    from tests.helpers import simulate_graph

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


@pytest.mark.torch
def test_compress_command_splits_a_layer_and_prunes_a_graph(mlp, tmp_path, capsys):
    from hwgen.cli import main
    from hwgen.ir.codec import load_graph

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
    # a graph alone takes a codebook too; a binary one has nothing to share
    assert main(["compress", str(path), "--method", "codebook", "--bits", "1",
                 "--out", str(tmp_path / "c")]) == 2
    err = capsys.readouterr().err
    assert "no layer of digits_mlp has weights wider than 1 bits" in err
    # a graph takes no --weight-dtype: the advice is another export or an example
    assert err.endswith("(its weights are bin); a graph keeps the weights it was exported "
                        "with: export one with wider weights, or compress an example trained "
                        "with --weight-dtype int8\n")
    ternary = str(tmp_path / "p.json")
    assert main(["compress", ternary, "--method", "codebook", "--bits", "1",
                 "--out", str(tmp_path / "c")]) == 0
    shared = [layer for layer in load_graph(tmp_path / "c.json").layers
              if hasattr(layer, "weights")]
    assert [layer.codebook is not None for layer in shared] == [False, True, True]
    # distillation: a fresh MLP from the trained one's softened outputs
    assert main(["compress", "digits-mlp", "--method", "distill", "--teacher", "digits-mlp",
                 "--epochs", "2", "--out", str(tmp_path / "d")]) == 0
    assert "distilling digits-mlp into a fresh digits-mlp: 2 epochs" in (
        capsys.readouterr().out)
    for args, message in ((["--method", "lowrank"], "needs --layer"),
                          (["--method", "distill"], "needs --teacher"),
                          (["--method", "codebook", "--bits", "2", "--weight-dtype", "uint4"],
                           "weights are bin, tern or intK"),
                          (["--method", "channels", "--layer", "fc9"], "no layer 'fc9'")):
        source = "digits-mlp" if {"fc9", "--weight-dtype"} & set(args) else str(path)
        assert main(["compress", source, *args, "--out", str(tmp_path / "x")]) == 2
        assert message in capsys.readouterr().err


@pytest.mark.torch
def test_a_split_layer_keeps_the_names_of_the_layers_after_it():
    import torch
    from torch import nn

    from hwgen.compress import lowrank
    from hwgen.frontends import quant

    torch.manual_seed(0)
    model = nn.Sequential(quant.QuantInput("uint4"),
                          quant.QuantDense(16, 12, "int4"), quant.BinaryAct(),
                          quant.QuantDense(12, 12, "int4"), quant.BinaryAct(),
                          quant.QuantDense(12, 4, "int4"))
    split, rank = lowrank.factorize_dense(model, 3, rank=3)
    assert rank == 3
    names = [layer.name for layer in quant.export(split, name="m", input_shape=(16,)).layers]
    assert names == ["fc1", "fc2a", "fc2b", "fc3", "label"]
    assert compress.module_index(split, "fc3") == 8 and compress.module_index(split, "fc2b") == 6
