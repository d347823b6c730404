"""MNIST in FINN's BNN-PYNQ topologies, trained with :mod:`hwgen.frontends.quant`: TFC
(784-64-64-64-10), SFC (256 wide) and LFC (1024 wide), with 1-bit weights and activations
(``w1a1``) or the 1W2A/2W2A variants, as Brevitas defines them
(``brevitas_examples/bnn_pynq``): the input is the image mapped to [-1, 1] and quantized
like an activation (binary: a pixel of 128 or more is +1; two bits: -1, 0 or +1), 2-bit
weights are ternary, 2-bit activations -1, 0 or +1.

Training is cached under ``$HWGEN_CACHE/examples`` by variant, seed and recipe: a second
run loads the weights (``torch.load(weights_only=True)``) and exports again."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from hwgen.core.errors import ExampleError
from hwgen.core.files import cache_root, write_atomic
from hwgen.datasets import mnist
from hwgen.examples.digits import Example
from hwgen.frontends.train import train

__all__ = ["PUBLISHED", "RECIPE", "VARIANTS", "make", "mnist_inputs"]

WIDTH = {"tfc": 64, "sfc": 256, "lfc": 1024}
VARIANTS = [f"{t}-{wa}" for t in WIDTH for wa in ("w1a1", "w1a2", "w2a2")]
# Brevitas' published MNIST top-1 (brevitas_examples/bnn_pynq/README.md), percent
PUBLISHED = {"tfc-w1a1": 93.17, "tfc-w1a2": 94.79, "tfc-w2a2": 96.60, "sfc-w1a1": 97.81,
             "sfc-w1a2": 98.31, "sfc-w2a2": 98.66, "lfc-w1a1": 98.88, "lfc-w1a2": 98.99}
# (PE, SIMD) per layer: TFC at finn-examples' folding (64 cycles/frame); SFC and LFC at
# hwgen's choice of 256 and 1,024 cycles/frame
FOLDING = {"tfc": [(16, 49), (8, 8), (8, 8), (10, 8)],
           "sfc": [(16, 49), (16, 16), (16, 16), (10, 16)],
           "lfc": [(32, 49), (32, 32), (32, 32), (10, 32)]}
# Adam with cosine decay, batches of 100, latent weights clipped to [-1, 1] after each step
# (as Brevitas' trainer does); epochs by width (minutes on one core). Dropout 0.2, as
# Brevitas trains, cost SFC-w1a1 0.8 points at 10 epochs. 20 epochs took SFC-w1a1 from
# 96.73 % to 97.28 % (2.6 min) and LFC-w1a1 from 97.72 % to 97.88 % (16.5 min).
RECIPE = {"lr": 1e-2, "batch": 100, "epochs": {"tfc": 10, "sfc": 20, "lfc": 20}}


def _bits(variant: str) -> tuple[int, int]:
    wa = variant.split("-")[1]
    return int(wa[1]), int(wa[3])


def mnist_inputs(images: np.ndarray, act_bits: int) -> np.ndarray:
    """uint8 images (N, 28, 28) as the models' integer inputs (N, 784): Brevitas' 2x - 1 of
    the pixel in [0, 1], quantized to one bit (-1/+1, a pixel of 128 or more is +1) or two
    (-1, 0, +1, rounded)."""
    x = images.reshape(len(images), -1).astype(np.int64)
    if act_bits == 1:
        return np.where(x >= 128, 1, -1)
    return np.rint(2 * x / 255 - 1).astype(np.int64)


def _model(variant: str):
    from torch import nn

    from hwgen.frontends import quant

    topology = variant.split("-")[0]
    w_bits, a_bits = _bits(variant)
    wd = "bin" if w_bits == 1 else "tern"
    width = WIDTH[topology]
    sizes = [784, width, width, width]
    act = quant.BinaryAct if a_bits == 1 else (lambda: quant.QuantAct(2))
    mods: list[nn.Module] = [] if a_bits == 1 else [quant.QuantInput("tern")]
    for k, (pe, simd) in enumerate(FOLDING[topology][:3]):
        mods += [quant.QuantDense(sizes[k], sizes[k + 1], wd, pe=pe, simd=simd),
                 nn.BatchNorm1d(sizes[k + 1]), act()]
    pe, simd = FOLDING[topology][3]
    mods.append(quant.QuantDense(width, 10, wd, pe=pe, simd=simd))
    return nn.Sequential(*mods)


def _cache(variant: str, seed: int, epochs: int) -> Path:
    key = json.dumps({"variant": variant, "seed": seed, "epochs": epochs, "lr": RECIPE["lr"],
                      "batch": RECIPE["batch"], "folding": FOLDING, "format": 2},
                     sort_keys=True)
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return cache_root() / "examples" / f"mnist-{variant}-{digest}.pt"


def make(variant: str = "tfc-w1a1", seed: int = 0, epochs: int | None = None,
         progress: Callable[[str], None] = print) -> Example:
    """Train (or load from the cache) and export MNIST model ``variant`` (one of
    :data:`VARIANTS`); the test images are MNIST's 10,000."""
    import torch

    from hwgen.frontends import quant

    if variant not in VARIANTS:
        raise ExampleError(f"unknown MNIST variant {variant!r}; known: {', '.join(VARIANTS)}")
    epochs = RECIPE["epochs"][variant.split("-")[0]] if epochs is None else epochs
    data = mnist(progress=progress)
    a_bits = _bits(variant)[1]
    train_x, test_x = mnist_inputs(data.train_x, a_bits), mnist_inputs(data.test_x, a_bits)
    torch.manual_seed(seed)  # the initial weights
    torch.set_num_threads(1)  # reproducible float sums
    model = _model(variant)
    path = _cache(variant, seed, epochs)
    if path.is_file():
        saved = torch.load(path, weights_only=True)
        model.load_state_dict(saved["state"])
        seconds = float(saved["seconds"])
        progress(f"loaded mnist-{variant} (seed {seed}, {epochs} epochs, trained in "
                 f"{seconds / 60:.1f} min) from {path}")
    else:
        progress(f"training mnist-{variant} on {len(train_x):,} images ({epochs} epochs, "
                 f"batches of {RECIPE['batch']}, seed {seed}; cached in {path.parent})")
        start = time.monotonic()
        latent = [m.weight for m in model.modules() if isinstance(m, quant.WeightedModule)]

        def clip() -> None:  # as Brevitas' trainer: latent weights stay in [-1, 1], where
            with torch.no_grad():  # the straight-through gradient reaches them
                for w in latent:
                    w.clamp_(-1, 1)

        train(model, train_x, data.train_y, epochs=epochs, seed=seed, progress=progress,
              lr=RECIPE["lr"], batch=RECIPE["batch"], every=1, after_step=clip)
        seconds = time.monotonic() - start
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, lambda f: torch.save({"state": model.state_dict(),
                                                 "seconds": seconds}, f))
    graph = quant.export(model, name=f"mnist_{variant.replace('-', '_')}",
                         input_shape=(784,), input_dtype="bin" if a_bits == 1 else None)
    return Example(graph, model, test_x, data.test_y, seconds, train_x, data.train_y)
