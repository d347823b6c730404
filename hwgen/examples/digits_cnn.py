"""A DoReFa-style CNN on the digits (8x8x1 uint4 pixels): 1-bit weights, 2-bit activations,
a VGG-style conv + pool, a MobileNet-style depthwise-separable block, pool, dense.
Folded to 576 cycles per frame (the first conv)."""

from __future__ import annotations

from collections.abc import Callable

from hwgen.examples.digits import Example, fit


def make(seed: int = 0, epochs: int = 100, progress: Callable[[str], None] = print,
         weight_dtype: str = "bin") -> Example:
    """Train and export; ``weight_dtype`` (bin, tern, intK) for every weighted layer."""
    import torch
    from torch import nn

    from hwgen.frontends import quant

    torch.manual_seed(seed)  # the initial weights
    wd = weight_dtype
    model = nn.Sequential(
        quant.QuantInput("uint4"),
        quant.QuantConv2d(1, 32, 3, wd, padding=1, pe=32, simd=1),  # 8x8x32
        quant.BatchNorm(32), quant.QuantReLU(2),
        quant.MaxPool(2),  # 4x4x32
        quant.QuantConv2d(32, 32, 3, wd, padding=1, groups=32, pe=32, simd=1),  # depthwise
        quant.BatchNorm(32), quant.QuantReLU(2),
        quant.QuantConv2d(32, 32, 1, wd, pe=8, simd=32),  # pointwise, 4x4x32
        quant.BatchNorm(32), quant.QuantReLU(2),
        quant.MaxPool(2),  # 2x2x32
        nn.Flatten(),
        quant.QuantDense(128, 10, wd, pe=2, simd=32),
    )
    return fit("digits_cnn", model, (8, 8, 1), seed=seed, epochs=epochs, progress=progress,
               description=f"a {wd}-weight / 2-bit activation CNN with a depthwise-separable "
               "block")
