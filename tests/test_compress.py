"""Compression (issue 13): channel selection by LASSO against the paper's baselines on the
trained digits CNN's own feature maps."""

from __future__ import annotations

import numpy as np
import pytest

from hwgen import reference
from hwgen.compress.channels import reconstruct, relative_error, select_channels
from hwgen.examples import get_example


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
