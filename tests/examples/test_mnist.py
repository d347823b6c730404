"""The MNIST examples: the input mapping at its boundaries, and mnist-tfc trained here on
the real 60,000 images, exact against the reference on all 10,000 test images and within a
point of Brevitas' published accuracy, then loaded from the cache without training."""

import numpy as np
import pytest

from hwgen import reference
from hwgen.examples import EXAMPLES, get_example
from hwgen.examples.mnist import PUBLISHED, mnist_inputs


def test_pixels_map_to_inputs_as_brevitas_quantizes_2x_minus_1():
    pixels = np.array([[0, 63, 64, 127, 128, 191, 192, 255]], np.uint8)
    assert mnist_inputs(pixels, 1).tolist() == [[-1, -1, -1, -1, 1, 1, 1, 1]]
    assert mnist_inputs(pixels, 2).tolist() == [[-1, -1, 0, 0, 0, 0, 1, 1]]


def test_every_published_variant_is_an_example():
    names = {f"mnist-{v}".removesuffix("-w1a1") for v in PUBLISHED}
    assert names <= set(EXAMPLES)


@pytest.mark.torch
@pytest.mark.mnist
def test_mnist_tfc_trains_to_the_published_accuracy_less_a_point_and_is_cached(
        tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path))
    heard = []
    ex = get_example("mnist-tfc")(progress=heard.append)
    assert any(line.startswith("training mnist-tfc-w1a1") for line in heard)
    assert ex.test_x.shape == (10_000, 784) and ex.graph.input.dtype.name == "bin"
    assert [(d.pe, d.simd) for d in ex.graph.layers if d.op == "dense"] == [
        (16, 49), (8, 8), (8, 8), (10, 8)]  # finn-examples' folding
    ref = reference.run(ex.graph, ex.test_x)[:, 0]
    accuracy = 100 * np.mean(ref == ex.test_y)
    assert accuracy >= PUBLISHED["tfc-w1a1"] - 1, accuracy
    import torch

    with torch.no_grad():
        logits = ex.model.eval()(torch.tensor(ex.test_x, dtype=torch.float32))
    assert np.array_equal(logits.argmax(1).numpy(), ref)  # torch == reference, every image
    heard.clear()
    again = get_example("mnist-tfc")(progress=heard.append)
    assert not any(line.startswith("training") for line in heard)
    assert any(line.startswith("loaded mnist-tfc-w1a1") for line in heard)
    assert np.array_equal(reference.run(again.graph, ex.test_x)[:, 0], ref)
