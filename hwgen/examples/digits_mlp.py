"""A binarized MLP on the digits: uint4 pixels, 64-64-64-10, binary weights and activations.
Folded to 32 cycles per frame."""

from __future__ import annotations

from collections.abc import Callable

from hwgen.examples.digits import Example, fit


def make(seed: int = 0, epochs: int = 60, progress: Callable[[str], None] = print,
         weight_dtype: str = "bin") -> Example:
    """Train and export; ``weight_dtype`` (bin, tern, intK) for every weighted layer."""
    import torch
    from torch import nn

    from hwgen.frontends import quant

    torch.manual_seed(seed)  # the initial weights
    wd = weight_dtype
    model = nn.Sequential(
        quant.QuantInput("uint4"),
        quant.QuantDense(64, 64, wd, pe=8, simd=16), nn.BatchNorm1d(64), quant.BinaryAct(),
        quant.QuantDense(64, 64, wd, pe=8, simd=16), nn.BatchNorm1d(64), quant.BinaryAct(),
        quant.QuantDense(64, 10, wd, pe=2, simd=16),
    )
    return fit("digits_mlp", model, (64,), seed=seed, epochs=epochs, progress=progress,
               description=f"a 64-64-64-10 MLP with {wd} weights and binary activations")
