"""A small residual CNN on the digits (8x8x1 uint4 pixels): 1-bit weights, 2-bit
activations; a stem conv, a residual block with an identity shortcut, max pool, a residual
block widening 8 -> 16 channels with a 1x1 projection shortcut, max pool, dense.
Folded to 576 cycles per frame (every conv)."""

from __future__ import annotations

from collections.abc import Callable

from hwgen.examples.digits import Example, fit


def make(seed: int = 0, epochs: int = 60, progress: Callable[[str], None] = print) -> Example:
    import torch
    from torch import nn

    from hwgen.frontends import quant

    def conv(cin, cout, k, pe, simd):
        return [quant.QuantConv2d(cin, cout, k, "bin", padding=k // 2, pe=pe, simd=simd),
                quant.BatchNorm(cout), quant.QuantReLU(2)]

    torch.manual_seed(seed)  # the initial weights
    model = nn.Sequential(
        quant.QuantInput("uint4"),
        *conv(1, 8, 3, pe=8, simd=1),  # 8x8x8, 576 cycles
        quant.Residual(nn.Sequential(*conv(8, 8, 3, pe=8, simd=8), *conv(8, 8, 3, pe=8, simd=8)),
                       quant.QuantReLU(2), channels=8, pe=1),  # identity shortcut
        quant.MaxPool(2),  # 4x4x8
        quant.Residual(nn.Sequential(*conv(8, 16, 3, pe=4, simd=8),
                                     *conv(16, 16, 3, pe=4, simd=16)),
                       quant.QuantReLU(2), channels=16, pe=1,
                       shortcut=nn.Sequential(*conv(8, 16, 1, pe=2, simd=4))),  # projection
        quant.MaxPool(2),  # 2x2x16
        nn.Flatten(),
        quant.QuantDense(64, 10, "bin", pe=2, simd=16),
    )
    return fit("digits_resnet", model, (8, 8, 1), seed=seed, epochs=epochs, progress=progress,
               description="a residual CNN (identity and 1x1-projection shortcuts), 1-bit "
               "weights / 2-bit activations")
