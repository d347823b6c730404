"""Channel pruning by LASSO and least squares (He, Zhang and Sun, "Channel Pruning for
Accelerating Very Deep Neural Networks", ICCV 2017), for one layer.

A layer's output is a sum over its input channels: ``Y = sum_i X_i W_i^T`` with ``X_i``
the sampled inputs of channel ``i`` (N samples x its k kernel positions) and ``W_i``
that channel's weights (outputs x k). Channel selection solves the LASSO

    min_beta  1/(2N) || Y - sum_i beta_i X_i W_i^T ||^2  +  lambda ||beta||_1

with lambda raised until at most ``keep`` coefficients are non-zero; reconstruction then
refits the kept channels' weights by least squares so that they reproduce ``Y``. The
paper's baselines choose the first ``keep`` channels ("first k") or those with the
largest sum of absolute weights ("max response").
"""

from __future__ import annotations

import numpy as np

from hwgen.compress.base import legal_fold

__all__ = ["METHODS", "prune_channels", "reconstruct", "relative_error", "select_channels"]

METHODS = ("lasso", "first_k", "max_response")


def _check(x: np.ndarray, w: np.ndarray, keep: int) -> None:
    if x.ndim != 3 or w.ndim != 3 or x.shape[1:] != w.shape[1:]:
        raise ValueError(f"x must be (samples, channels, k) and w (outputs, channels, k) with "
                         f"the same channels and k, got {x.shape} and {w.shape}")
    if not 1 <= keep <= x.shape[1]:
        raise ValueError(f"keep must be 1..{x.shape[1]} channels, got {keep}")


def select_channels(x: np.ndarray, w: np.ndarray, keep: int, method: str = "lasso"
                    ) -> np.ndarray:
    """The ``keep`` input channels to keep (sorted indices) of a layer with samples
    ``x`` (N, c, k) and weights ``w`` (outputs, c, k), chosen by ``method``."""
    _check(x, w, keep)
    c = x.shape[1]
    if method == "first_k":
        return np.arange(keep)
    if method == "max_response":
        return np.sort(np.argsort(-np.abs(w).sum(axis=(0, 2)), kind="stable")[:keep])
    if method != "lasso":
        raise ValueError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}")
    from sklearn.linear_model import Lasso

    # column i: channel i's contribution to every output of every sample, flattened
    z = np.einsum("nck,ock->nco", x, w).transpose(0, 2, 1).reshape(-1, c)
    y = z.sum(axis=1)
    scale = np.abs(z).max() or 1.0
    z, y = z / scale, y / scale
    lo, hi = 0.0, float(np.abs(z.T @ y).max() / len(y)) or 1.0  # hi: every beta is zero
    beta = np.ones(c)
    for _ in range(40):  # bisect lambda down to the smallest that keeps at most `keep`
        lam = (lo + hi) / 2
        fit = Lasso(alpha=lam, fit_intercept=False, max_iter=5000, tol=1e-6).fit(z, y).coef_
        if np.count_nonzero(fit) <= keep:
            hi, beta = lam, fit
        else:
            lo = lam
        if np.count_nonzero(beta) == keep:
            break
    order = np.lexsort((np.arange(c), -np.abs(beta)))
    return np.sort(order[:keep])


def reconstruct(x: np.ndarray, y: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """Weights (outputs, len(kept), k) of the kept channels that reproduce ``y``
    (N, outputs) best in the least-squares sense."""
    n, _, k = x.shape
    a = x[:, kept, :].reshape(n, len(kept) * k)
    sol, *_ = np.linalg.lstsq(a, y, rcond=None)
    return sol.T.reshape(y.shape[1], len(kept), k)


def relative_error(x: np.ndarray, y: np.ndarray, kept: np.ndarray, w: np.ndarray) -> float:
    """|| y - kept channels through w || / || y || (Frobenius)."""
    got = np.einsum("nck,ock->no", x[:, kept, :], w)
    return float(np.linalg.norm(y - got) / (np.linalg.norm(y) or 1.0))


def _samples(model, consumer, channels: int, x: np.ndarray, limit: int, seed: int):
    """The consumer's inputs on ``x`` as (samples, channels, k), its weights as (outputs,
    channels, k), in eval mode; at most ``limit`` samples, drawn with ``seed``."""
    import torch
    from torch.nn import functional as F

    from hwgen.frontends.quant import QuantDense

    seen = []
    hook = consumer.register_forward_hook(lambda mod, args, out: seen.append(args[0]))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.tensor(x, dtype=torch.float32))
    finally:
        hook.remove()
        model.train(was_training)
    h, w = seen[0], consumer.int_weight().detach()
    if isinstance(consumer, QuantDense):
        c = channels
        xs = h.reshape(len(h), -1, c).permute(0, 2, 1)  # features are channels-last
        ws = w.reshape(len(w), -1, c).permute(0, 2, 1)
    else:
        xc = h.permute(0, 3, 1, 2)
        if consumer.padding:
            p = consumer.padding
            xc = F.pad(xc, (p, p, p, p), value=float(consumer.pad_value))
        cols = F.unfold(xc, consumer.kernel, stride=consumer.stride)  # (N, C*kh*kw, L)
        c = w.shape[1]
        xs = cols.permute(0, 2, 1).reshape(-1, c, cols.shape[1] // c)
        ws = w.reshape(len(w), c, -1)
    xs = xs.numpy().astype(np.float64)
    if len(xs) > limit:
        xs = xs[np.sort(np.random.default_rng(seed).choice(len(xs), limit, replace=False))]
    return xs, ws.numpy().astype(np.float64)


def prune_channels(model, consumer: int, keep: int, x: np.ndarray, *, method: str = "lasso",
                   samples: int = 4000, seed: int = 0):
    """A copy of ``model`` (an ``nn.Sequential`` of :mod:`hwgen.frontends.quant` modules) in which
    module ``consumer`` (a dense or non-depthwise conv layer) reads only ``keep`` of its
    input channels, chosen by ``method`` on its inputs over ``x`` and refit by least
    squares; the channels go from everything between it and the weighted layer that
    produces them (batch-norms, a depthwise conv, that layer's outputs). Returns (model,
    the kept channel indices)."""
    import copy

    from torch import nn

    from hwgen.frontends.quant import (
        ACTIVATIONS,
        BatchNorm,
        MaxPool,
        QuantConv2d,
        QuantDense,
        WeightedModule,
    )

    model = copy.deepcopy(model)
    mods = list(model.children())
    cons = mods[consumer]
    if not isinstance(cons, (QuantDense, QuantConv2d)) or getattr(cons, "groups", 1) != 1:
        raise ValueError(f"module {consumer} ({type(cons).__name__}) is not a dense or "
                         "standard conv layer")
    between, k = [], consumer - 1
    while k >= 0 and not (isinstance(mods[k], WeightedModule) and getattr(mods[k], "groups", 1)
                          == 1):
        if not isinstance(mods[k], (nn.BatchNorm1d, *ACTIVATIONS, MaxPool, nn.Flatten,
                                    QuantConv2d)):
            raise ValueError(f"module {k} ({type(mods[k]).__name__}) between the producer "
                             f"and module {consumer} does not keep channels apart")
        between.append(k)
        k -= 1
    if k < 0:
        raise ValueError(f"no weighted layer produces the channels module {consumer} reads")
    producer = mods[k]
    xs, ws = _samples(model, cons, producer.weight.shape[0], x, samples, seed)
    y = np.einsum("nck,ock->no", xs, ws)
    kept = select_channels(xs, ws, keep, method)
    refit = reconstruct(xs, y, kept)
    refit /= np.abs(refit).max() or 1.0  # the quantizers read the latent weights' range
    _keep_outputs(producer, kept)
    for j in between:
        if isinstance(mods[j], nn.BatchNorm1d):
            model[j] = _sliced_bn(mods[j], kept, BatchNorm if isinstance(mods[j], BatchNorm)
                                  else nn.BatchNorm1d)
        elif isinstance(mods[j], QuantConv2d):  # depthwise: one filter per channel
            _keep_outputs(mods[j], kept)
            mods[j].groups = keep
    _refit_inputs(cons, refit, keep)
    return model, kept


def _keep_outputs(layer, kept: np.ndarray) -> None:
    import torch

    idx = torch.as_tensor(kept)
    layer.weight = torch.nn.Parameter(layer.weight.detach()[idx].clone())
    if layer.bias is not None:
        layer.bias = torch.nn.Parameter(layer.bias.detach()[idx].clone())
    if layer.mask is not None:
        layer.mask = layer.mask[idx].clone()
    layer.pe = legal_fold(len(kept), layer.pe)


def _sliced_bn(bn, kept: np.ndarray, cls):
    import torch

    idx = torch.as_tensor(kept)
    new = cls(len(kept), eps=bn.eps, momentum=bn.momentum, affine=bn.affine)
    with torch.no_grad():
        new.running_mean.copy_(bn.running_mean[idx])
        new.running_var.copy_(bn.running_var[idx])
        if bn.affine:
            new.weight.copy_(bn.weight[idx])
            new.bias.copy_(bn.bias[idx])
    return new


def _refit_inputs(layer, refit: np.ndarray, keep: int) -> None:
    """Give ``layer`` the least-squares weights of its kept input channels."""
    import math

    import torch

    from hwgen.frontends.quant import QuantDense

    out, _, k = refit.shape
    if isinstance(layer, QuantDense):
        w = refit.transpose(0, 2, 1).reshape(out, k * keep)  # back to channels-last features
        layer.simd = legal_fold(k * keep, layer.simd)
    else:
        w = refit.reshape(out, keep, *layer.kernel)
        layer.simd = legal_fold(keep, layer.simd)
    layer.weight = torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))
    layer.mask = None
    layer.scale = 1.0 / math.sqrt(w[0].size)
