"""The PyTorch front end: export equals the torch model exactly, every intermediate tensor."""

import numpy as np
import pytest
import torch
from torch import nn

from hwgen import GraphError, reference
from hwgen.examples.digits import load
from hwgen.examples.digits_mlp import make
from hwgen.frontends import quant
from hwgen.frontends.train import train


def assert_exact(model, graph, x):
    torch_trace = quant.integer_trace(model, torch.tensor(x, dtype=torch.float32))
    ref_trace = reference.trace(graph, x)
    assert len(torch_trace) == len(ref_trace)
    for k, (t, r) in enumerate(zip(torch_trace, ref_trace, strict=True)):
        assert np.array_equal(t, r), f"tensor {k} differs in {int((t != r).sum())} elements"


@pytest.fixture(scope="module")
def digits_mlp():
    return make(seed=0, progress=lambda msg: None)


def test_binary_mlp_export_is_exact_on_digits_test_split(digits_mlp):
    ex = digits_mlp
    assert len(ex.test_x) == 449  # the whole held-out split
    assert_exact(ex.model, ex.graph, ex.test_x)
    pred = reference.run(ex.graph, ex.test_x)[:, 0]
    assert (pred == ex.test_y).mean() > 0.85  # it learned something


def test_cnn_export_is_exact_on_digits_test_split():
    """The digits CNN example: conv, max pool, depthwise, pointwise, dense (8 tensors)."""
    from hwgen.examples.digits_cnn import make as make_cnn

    ex = make_cnn(seed=0, epochs=3, progress=lambda msg: None)
    assert [layer.op for layer in ex.graph.layers] == [
        "conv2d", "maxpool2d", "conv2d", "conv2d", "maxpool2d", "dense", "argmax"]
    assert ex.graph.layers[2].groups == 32
    assert_exact(ex.model, ex.graph, ex.test_x)


def test_residual_export_is_exact_on_digits_test_split():
    """The digits ResNet example: identity and 1x1-projection shortcuts become add layers
    reading two branches; every tensor equals torch on the whole test split."""
    from hwgen.examples.digits_resnet import make as make_resnet

    ex = make_resnet(seed=1, epochs=2, progress=lambda msg: None)
    g = ex.graph
    adds = [layer for layer in g.layers if layer.op == "add"]
    assert [g.sources[a.name] for a in adds] == [["conv3", "conv1"], ["conv5", "conv6"]]
    assert g.sources["conv6"] == ["pool1"]  # the projection reads the block input
    assert_exact(ex.model, g, ex.test_x)


def test_ternary_int4_dorefa_export_is_exact_on_digits_test_split():
    torch.manual_seed(1)
    train_x, train_y, test_x, _ = load(seed=1)
    model = nn.Sequential(
        quant.QuantInput("uint4"),
        quant.QuantDense(64, 32, "tern", bias=True, pe=4, simd=8), nn.BatchNorm1d(32),
        quant.QuantReLU(2),
        quant.QuantDense(32, 16, "int4", pe=4, simd=4), nn.BatchNorm1d(16), quant.QuantReLU(3),
        quant.QuantDense(16, 10, "int4", bias=True, pe=2, simd=4))
    train(model, train_x, train_y, epochs=8, seed=1, progress=lambda msg: None)
    graph = quant.export(model, name="mixed", input_shape=(64,))
    assert [t.dtype.name for t in graph.tensors.values()][1:3] == ["uint2", "uint3"]
    assert_exact(model, graph, test_x)


def boundary_model(bn_weight: float):
    """acc * 1/8 through a BN whose mean is 5/8: exactly 0 at acc = 5 in real arithmetic.

    torch's eval BN (fused multiply-add) returns +-1.49e-8 there instead, so torch
    gives +1 at acc = 5 when rising and -1 when falling; a closed-form ceil(-B/A)
    threshold would disagree with torch on that input.
    """
    dense = quant.QuantDense(64, 1, "bin")
    bn = nn.BatchNorm1d(1)
    with torch.no_grad():
        dense.weight.fill_(1.0)  # acc = sum of the 64 inputs
        bn.running_mean.fill_(5 / 8)
        bn.running_var.fill_(3.0)
        bn.weight.fill_(bn_weight)
        bn.bias.fill_(0.0)
    return nn.Sequential(quant.QuantInput("uint4"), dense, bn, quant.BinaryAct())


@pytest.mark.parametrize("bn_weight,threshold", [(1.0, 5), (-1.0, -4)])
def test_threshold_boundary_follows_torch(bn_weight, threshold):
    model = boundary_model(bn_weight)
    graph = quant.export(model, name="edge", input_shape=(64,), argmax=False)
    assert graph.layers[0].activation.thresholds.tolist() == [[threshold]]
    # accumulators 0..12 across the boundary, and the extremes 0 and 960
    x = np.zeros((15, 64), np.int64)
    for acc in range(13):
        x[acc, :acc] = 1
    x[14] = 15
    out = quant.integer_trace(model, torch.tensor(x, dtype=torch.float32), argmax=False)[1]
    rising = [-1] * 5 + [1] * 8 + [-1, 1]
    assert out[:, 0].tolist() == (rising if bn_weight > 0 else
                                  [1] * 5 + [-1] * 8 + [1, -1])
    assert np.array_equal(reference.trace(graph, x)[1], out)


def test_export_errors():
    with pytest.raises(GraphError, match="BatchNorm without a following activation"):
        quant.export(nn.Sequential(quant.QuantInput("uint4"), quant.QuantDense(4, 2),
                                   nn.BatchNorm1d(2)), name="g", input_shape=(4,))
    with pytest.raises(GraphError, match=r"module #1 \(ReLU\) is not supported"):
        quant.export(nn.Sequential(quant.QuantInput("uint4"), quant.QuantDense(4, 2), nn.ReLU()),
                     name="g", input_shape=(4,))
    with pytest.raises(GraphError, match="no input dtype"):
        quant.export(nn.Sequential(quant.QuantDense(4, 2)), name="g", input_shape=(4,))


def test_conv_options_export_exactly():
    """Untrained, with random BN statistics (negative scales: falling channels)."""
    torch.manual_seed(3)
    model = nn.Sequential(
        quant.QuantInput("int4"),
        quant.QuantConv2d(3, 8, 3, "tern", stride=2, padding=1, pad_value=-2, bias=True),
        quant.BatchNorm(8), quant.BinaryAct(),
        quant.QuantConv2d(8, 8, 3, "bin", padding=1, pad_value=-1, groups=8),
        quant.BatchNorm(8), quant.QuantReLU(3),
        quant.QuantConv2d(8, 6, 1, "int4"), quant.BatchNorm(6), quant.QuantReLU(2),
        quant.GlobalSumPool(),
        quant.QuantDense(6, 4, "int4", bias=True))
    with torch.no_grad():
        for bn in (m for m in model.modules() if isinstance(m, quant.BatchNorm)):
            bn.running_mean.uniform_(-1, 1)
            bn.running_var.uniform_(0.2, 2)
            bn.weight.uniform_(-1.5, 1.5)
            bn.bias.uniform_(-0.5, 0.5)
    graph = quant.export(model, name="opts", input_shape=(9, 7, 3))
    assert [t.shape for t in graph.tensors.values()] == [(9, 7, 3), (5, 4, 8), (5, 4, 8), (5, 4, 6),
                                                (6,), (4,), (1,)]
    # BN scales of both signs: some channels of the first conv were negated, some not
    flipped = np.all(graph.layers[0].weights == -model[1].ir_layer("c").weights, axis=(1, 2, 3))
    assert flipped.any() and not flipped.all()
    x = np.random.default_rng(0).integers(-8, 8, (200, 9, 7, 3))
    assert_exact(model, graph, x)


@pytest.mark.parametrize("act", ["bin", "relu2"])
def test_channels_that_never_or_always_fire_export_exactly(act):
    """Batch-norm shifts that keep a channel below (or above) every threshold over the whole
    accumulator range, with positive and negative scales: export == torch on every input."""
    torch.manual_seed(0)
    activation = quant.BinaryAct() if act == "bin" else quant.QuantReLU(2)
    model = nn.Sequential(quant.QuantInput("uint2"), quant.QuantDense(4, 4, "int3"),
                          nn.BatchNorm1d(4), activation, quant.QuantDense(4, 2, "bin"))
    bn = model[2]
    with torch.no_grad():
        bn.weight[:] = torch.tensor([1.0, -1.0, 1.0, -1.0])
        bn.bias[:] = torch.tensor([-100.0, -100.0, 100.0, 100.0])  # never, never, always, always
    graph = quant.export(model, name="edge", input_shape=(4,))
    x = np.stack(np.meshgrid(*[np.arange(4)] * 4), -1).reshape(-1, 4)  # every input
    assert_exact(model, graph, x)
    first = reference.trace(graph, x)[1]
    low, high = (-1, 1) if act == "bin" else (0, 3)
    assert set(first[:, 0]) == set(first[:, 1]) == {low}
    assert set(first[:, 2]) == set(first[:, 3]) == {high}
