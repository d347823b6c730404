"""Low-rank factorization of a dense layer by truncated SVD: an M x N weight matrix becomes
an M x K and a K x N one, ``K(M + N)`` weights instead of ``MN``, two chained MVUs in
hardware with a signed ``bits``-bit bottleneck (:class:`hwgen.frontends.quant.QuantAct`) between.

The two factors start from ``U_K sqrt(S_K)`` and ``sqrt(S_K) V_K^T`` of the layer's
latent float weights, each scaled into the quantizers' range [-1, 1];
fine-tuning (:func:`hwgen.compress.finetune`) recovers what the quantization of the
factors and of the bottleneck loses.
"""

from __future__ import annotations

import math

import numpy as np

from hwgen.compress.base import legal_fold

__all__ = ["choose_rank", "factorize_dense"]


def choose_rank(singular: np.ndarray, energy: float | None = None,
                params: float | None = None, shape: tuple[int, int] | None = None) -> int:
    """The rank that keeps ``energy`` of the squared singular values, or the largest whose
    ``K(M + N)`` weights stay within ``params`` times ``MN``."""
    if (energy is None) == (params is None):
        raise ValueError("give exactly one of energy (0..1] or params (0..1]")
    if energy is not None:
        if not 0 < energy <= 1:
            raise ValueError(f"energy must be in (0, 1], got {energy}")
        kept = np.cumsum(singular ** 2) / np.sum(singular ** 2)
        return int(np.searchsorted(kept, energy - 1e-12) + 1)
    if not 0 < params <= 1:
        raise ValueError(f"params must be in (0, 1], got {params}")
    m, n = shape
    return max(1, math.floor(params * m * n / (m + n)))


def factorize_dense(model, index: int, *, rank: int | None = None,
                    energy: float | None = None, params: float | None = None,
                    bits: int = 4, weight_dtype: str | None = None):
    """A copy of ``model`` (an ``nn.Sequential`` of :mod:`hwgen.frontends.quant` modules) with its
    module ``index`` (a ``QuantDense``) replaced by two: N -> K (``weight_dtype``, default
    the layer's) with BatchNorm and a signed ``bits``-bit activation, then K -> M; the
    rank from ``rank``, an ``energy`` to keep or a ``params`` budget. Returns (model, K)."""
    import copy

    import torch
    from torch import nn

    from hwgen.frontends import quant

    layer = model[index]
    if not isinstance(layer, quant.QuantDense):
        raise ValueError(f"module {index} is a {type(layer).__name__}, not a QuantDense")
    w = layer.weight.detach().numpy().astype(np.float64)
    m, n = w.shape
    u, s, vt = np.linalg.svd(w, full_matrices=False)
    k = rank if rank is not None else choose_rank(s, energy, params, (m, n))
    if not 1 <= k < min(m, n):
        raise ValueError(f"rank must be 1..{min(m, n) - 1} for a {m} x {n} layer, got {k}")
    dtype = weight_dtype or layer.weight_dtype.name
    pe, simd = layer.pe, layer.simd
    first = quant.QuantDense(n, k, dtype, pe=legal_fold(k, pe), simd=legal_fold(n, simd))
    second = quant.QuantDense(k, m, dtype, pe=legal_fold(m, pe), simd=legal_fold(k, simd))
    root = np.sqrt(s[:k])
    a, b = root[:, None] * vt[:k], u[:, :k] * root[None, :]  # w ~= b @ a
    with torch.no_grad():  # latent weights in the quantizers' range, [-1, 1]
        first.weight.copy_(torch.tensor(a / np.abs(a).max(), dtype=torch.float32))
        second.weight.copy_(torch.tensor(b / np.abs(b).max(), dtype=torch.float32))
    first.split_part, second.split_part = "a", "b"  # fc2 becomes fc2a, fc2b; fc3 stays fc3
    mods = list(model.children())
    middle = [first, nn.BatchNorm1d(k), quant.QuantAct(bits), second]
    return nn.Sequential(*copy.deepcopy(mods[:index]), *middle,
                         *copy.deepcopy(mods[index + 1:])), k
