"""scikit-learn's bundled 8x8 digits (1,797 images, no download) as uint4 pixels."""

from __future__ import annotations

import numpy as np


def load(seed: int = 0, test_fraction: float = 0.25
         ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train_x, train_y, test_x, test_y); pixels 0..16 clipped to 0..15 (uint4)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = np.minimum(digits.data.astype(np.int64), 15)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * test_fraction)
    test, train = order[:n_test], order[n_test:]
    return x[train], y[train], x[test], y[test]
