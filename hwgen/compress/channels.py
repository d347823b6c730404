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

__all__ = ["METHODS", "reconstruct", "relative_error", "select_channels"]

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
