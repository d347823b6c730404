"""FINN's BNN-PYNQ model zoo as it ships in the brevitas wheel (``brevitas_examples``),
exported to QONNX with seeded random weights and batch-norm statistics (pretrained
weights would be a download), and finn-examples' folding for the two it publishes."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from pathlib import Path

from hwgen.datasets import mnist

__all__ = ["FINN_FOLDING", "INPUT_DTYPE", "ZOO", "export", "train_mnist"]

ZOO = ["tfc_1w1a", "tfc_1w2a", "tfc_2w2a", "sfc_1w1a", "sfc_1w2a", "sfc_2w2a", "lfc_1w1a",
       "lfc_1w2a", "cnv_1w1a", "cnv_1w2a", "cnv_2w2a", "resnet18_4w4a"]
INPUT_DTYPE = {"resnet18_4w4a": "uint8"}  # models with no input quantizer: 8-bit RGB
FINN_FOLDING = {  # finn-examples' (PE, SIMD) per dense/conv layer, in order
    "tfc_1w1a": [(16, 49), (8, 8), (8, 8), (10, 8)],
    "cnv_1w1a": [(16, 3), (32, 32), (16, 32), (16, 32), (4, 32), (1, 32), (1, 4), (1, 8),
                 (5, 1)],
}


def export(name: str, path: str | Path, seed: int = 0) -> tuple[int, ...]:
    """Write zoo model ``name`` to ``path`` as QONNX; return its input shape (NCHW).

    Weights are brevitas' seeded random initialization; batch-norm statistics and
    affine parameters are drawn at random too (negative scales included), so every
    threshold is somewhere other than zero."""
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    if name not in ZOO:
        raise ValueError(f"unknown zoo model {name!r}; known: {', '.join(ZOO)}")
    torch.manual_seed(seed)
    model, _ = model_with_cfg(name, pretrained=False)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-20, 20)
            m.running_var.uniform_(1, 50)
            m.weight.data.uniform_(-1.5, 1.5)
            m.bias.data.uniform_(-1, 1)
    model.eval()
    shape = (1, 1, 28, 28) if "fc" in name else (1, 3, 32, 32)
    # torch.export cannot trace ResNet18's adds of QuantTensors (brevitas 0.13.4, torch
    # 2.13): that one goes through the TorchScript exporter
    quiet_export(export_qonnx, model, torch.rand(shape), path, dynamo="resnet" not in name)
    return shape


def train_mnist(name: str, path: str | Path, *, epochs: int = 1, seed: int = 0,
                lr: float = 1e-2, progress=print):
    """Train zoo MLP ``name`` (TFC, SFC or LFC) on MNIST with Brevitas, as its trainer does
    (Adam, cross-entropy, the latent weights clipped to [-1, 1] after each step) for
    ``epochs``, and write it to ``path`` as QONNX. Returns the trained model (eval mode): it
    takes images as floats in [0, 1], shaped (N, 1, 28, 28)."""
    import numpy as np
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg

    if name not in ZOO or "fc" not in name:
        raise ValueError(f"train_mnist trains the MLPs: {', '.join(z for z in ZOO if 'fc' in z)}")
    torch.manual_seed(seed)
    model, _ = model_with_cfg(name, pretrained=False)
    data = mnist(progress=progress)
    x = torch.tensor(data.train_x[:, None].astype(np.float32) / 255)
    y = torch.tensor(data.train_y)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    for epoch in range(epochs):
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for start in range(0, len(x), 100):
            idx = order[start:start + 100]
            loss = torch.nn.functional.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            model.clip_weights(-1, 1)
            total += float(loss.detach()) * len(idx)
        progress(f"  {name} epoch {epoch + 1}/{epochs}: loss {total / len(x):.3f}")
    model.eval()
    quiet_export(export_qonnx, model, torch.rand(1, 1, 28, 28), path)
    return model


def quiet_export(export_qonnx, model, x, path: str | Path, dynamo: bool = True) -> None:
    """``export_qonnx`` without the exporter's console chatter."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), \
            contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        logging.disable(logging.WARNING)
        try:
            export_qonnx(model, x, export_path=str(path), dynamo=dynamo)
        finally:
            logging.disable(logging.NOTSET)
