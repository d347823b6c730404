"""PyTorch front end: quantization-aware training modules and the exporter to a Graph.

Modules pass *integer-valued* float tensors between layers: a binary
activation outputs -1/+1, a k-bit activation its code 0..2^k-1. A dense layer
first computes its integer accumulator (exact in float32 while |acc| < 2^24,
which export checks) and only then applies its float scale, so everything
after the accumulator is a per-channel monotone function of one integer.

:func:`export` turns that function into integer thresholds by binary search
over the accumulator, evaluating the module's own eval-mode float code: the
threshold is the least integer whose output reaches each level, so the export
agrees with torch on every input, boundary cases included, with no float
rounding of its own.

Modules: :class:`QuantInput`, :class:`QuantDense` (``bin``: BinaryConnect /
XNOR-Net sign weights; ``tern``: ternary weights with threshold 0.7*mean|w|;
``intK``: symmetric uniform k-bit weights, DoReFa-style straight-through
estimator), ``nn.BatchNorm1d``, :class:`BinaryAct` (sign with a hard-tanh
straight-through estimator), :class:`QuantReLU` (DoReFa k-bit activation).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .dtypes import DType
from .formulas import acc_bounds
from .ir import ArgMax, Dense, Graph, GraphError, Layer, Tensor, Threshold

__all__ = ["BinaryAct", "QuantDense", "QuantInput", "QuantReLU", "export", "integer_trace"]

FLOAT32_EXACT = 1 << 24  # integers up to here are exact in float32


def _ste(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Forward ``q``, backward the gradient of ``x`` (straight-through estimator)."""
    return x + (q - x).detach()


class QuantInput(nn.Module):
    """Declares the input format; rounds and clamps the input to its integer values."""

    def __init__(self, dtype: str = "uint8"):
        super().__init__()
        self.dtype = DType.parse(dtype)
        if self.dtype.kind == "bin":
            raise ValueError("QuantInput: use an int or uint dtype (binary inputs: BinaryAct)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.clamp(torch.round(x), self.dtype.min, self.dtype.max)


class QuantDense(nn.Module):
    """Fully-connected layer with quantized integer weights and optional integer bias.

    ``forward(x) = post(accumulate(x))``: ``accumulate`` is the exact integer
    product, ``post`` adds the bias and scales by 1/sqrt(in_features).
    ``pe`` and ``simd`` are the hardware folding carried into the graph.
    """

    def __init__(self, in_features: int, out_features: int, weight_dtype: str = "bin", *,
                 bias: bool = False, pe: int = 1, simd: int = 1):
        super().__init__()
        self.weight_dtype = DType.parse(weight_dtype)
        if self.weight_dtype.kind == "uint":
            raise ValueError("QuantDense: weight_dtype must be bin, tern or intK")
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1, 1))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        self.scale = 1.0 / math.sqrt(in_features)
        self.pe, self.simd = pe, simd

    def int_weight(self) -> torch.Tensor:
        w, dt = self.weight, self.weight_dtype
        if dt.kind == "bin":
            return _ste(w.clamp(-1, 1), torch.where(w >= 0, 1.0, -1.0))
        if dt.kind == "tern":
            delta = 0.7 * w.abs().mean().detach()
            return _ste(w.clamp(-1, 1), torch.sign(w) * (w.abs() > delta))
        top = dt.max  # symmetric: -max..max
        v = w / (w.abs().max().detach() / top + 1e-12)
        return _ste(v, torch.round(v).clamp(-top, top))

    def int_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else _ste(self.bias, torch.round(self.bias))

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.int_weight())

    def post(self, acc: torch.Tensor) -> torch.Tensor:
        b = self.int_bias()
        return (acc if b is None else acc + b) * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.accumulate(x))


class BinaryAct(nn.Module):
    """Sign activation: +1 where x >= 0, else -1; hard-tanh straight-through gradient."""

    dtype = DType("bin", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ste(x.clamp(-1, 1), torch.where(x >= 0, 1.0, -1.0))

    def levels(self) -> list[int]:
        return [1]


class QuantReLU(nn.Module):
    """DoReFa k-bit activation: code = round(clamp(x, 0, 1) * (2^k - 1)), unsigned."""

    def __init__(self, bits: int = 2):
        super().__init__()
        self.dtype = DType("uint", bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.clamp(0, 1) * self.dtype.max
        return _ste(c, torch.round(c))

    def levels(self) -> list[int]:
        return list(range(1, self.dtype.max + 1))


_ACTS = (BinaryAct, QuantReLU)


def _groups(model: nn.Module) -> tuple[DType | None, list[tuple]]:
    """Split a Sequential into (QuantDense, BatchNorm1d | None, activation | None) groups."""
    mods = [m for m in model.modules() if not isinstance(m, nn.Sequential | nn.Flatten)]
    if not isinstance(model, nn.Sequential):
        raise GraphError("export: the model must be an nn.Sequential")
    in_dtype = None
    if mods and isinstance(mods[0], QuantInput):
        in_dtype = mods.pop(0).dtype
    groups, k = [], 0
    while k < len(mods):
        dense = mods[k]
        if not isinstance(dense, QuantDense):
            raise GraphError(f"export: module #{k} ({type(dense).__name__}) is not supported "
                             "here; allowed: QuantInput first, then QuantDense, optionally "
                             "followed by BatchNorm1d and BinaryAct/QuantReLU")
        k += 1
        bn = act = None
        if k < len(mods) and isinstance(mods[k], nn.BatchNorm1d):
            bn, k = mods[k], k + 1
        if k < len(mods) and isinstance(mods[k], _ACTS):
            act, k = mods[k], k + 1
        groups.append((dense, bn, act))
    return in_dtype, groups


def _tail(dense: QuantDense, bn: nn.Module | None, act: nn.Module):
    """acc (bias included) -> activation output, through the module's own float code."""
    def f(a: torch.Tensor) -> torch.Tensor:
        b = dense.int_bias()
        y = dense.post(a if b is None else a - b)
        if bn is not None:
            y = bn(y)
        return act(y)
    return f


@torch.no_grad()
def _thresholds(f, levels: list[int], channels: int, lo: int, hi: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Per channel: the direction (True = output falls as acc rises) and, on the
    direction-corrected accumulator, the least integer reaching each level."""
    ends = f(torch.tensor([[lo] * channels, [hi] * channels], dtype=torch.float32)).numpy()
    falling = ends[0] > ends[1]
    v = np.array(levels, dtype=np.float64)[:, None]
    shape = (len(levels), channels)
    # on the corrected accumulator a' = -a for falling channels, range [-hi, -lo]
    start, stop = np.full(shape, min(lo, -hi), np.int64), np.full(shape, max(hi, -lo) + 1, np.int64)
    while np.any(start < stop):
        mid = (start + stop) // 2
        a = np.where(falling, -mid, mid).astype(np.float32)
        reached = f(torch.from_numpy(a)).numpy() >= v
        active = start < stop
        stop = np.where(active & reached, mid, stop)
        start = np.where(active & ~reached, mid + 1, start)
    return falling, start.T


@torch.no_grad()
def export(model: nn.Sequential, *, name: str, input_shape: tuple[int, ...],
           input_dtype: str | None = None, argmax: bool = True) -> Graph:
    """The integer graph computing exactly what ``model`` computes in eval mode.

    Batch-norm, biases and scales fold into per-channel thresholds; a final
    QuantDense without activation exports its raw accumulator (its positive
    scale does not change the argmax). ``argmax`` appends label select.
    """
    was_training = model.training
    model.eval()
    try:
        found, groups = _groups(model)
        dtype = DType.parse(input_dtype) if input_dtype else found
        if dtype is None:
            raise GraphError("export: no input dtype (put QuantInput first or pass input_dtype)")
        x = Tensor(tuple(input_shape), dtype)
        layers: list[Layer] = []
        for k, (dense, bn, act) in enumerate(groups):
            where = f"export: layer fc{k + 1}"
            w = dense.int_weight().numpy().astype(np.int64)
            b = dense.int_bias()
            b = None if b is None else b.numpy().astype(np.int64)
            lo, hi = acc_bounds(w, x.dtype, b).out
            if max(-lo, hi) >= FLOAT32_EXACT:
                raise GraphError(f"{where}: accumulator range {lo}..{hi} is not exact in float32")
            layer = Dense(f"fc{k + 1}", weight_dtype=dense.weight_dtype, weights=w, bias=b,
                          pe=dense.pe, simd=dense.simd)
            if act is None:
                if bn is not None:
                    raise GraphError(f"{where}: BatchNorm1d without a following activation "
                                     "cannot be exported exactly; end with a plain QuantDense")
                if k != len(groups) - 1:
                    raise GraphError(f"{where}: only the last QuantDense may lack an activation")
            else:
                falling, t = _thresholds(_tail(dense, bn, act), act.levels(), len(w), lo, hi)
                layer.weights = np.where(falling[:, None], -w, w)
                if b is not None:
                    layer.bias = np.where(falling, -b, b)
                layer.activation = Threshold(act.dtype, t)
            layers.append(layer)
            x = layer.infer(x)
        if argmax:
            layers.append(ArgMax("label"))
        return Graph(name, Tensor(tuple(input_shape), dtype), layers)
    finally:
        model.train(was_training)


@torch.no_grad()
def integer_trace(model: nn.Sequential, x: torch.Tensor, *, argmax: bool = True
                  ) -> list[np.ndarray]:
    """What torch computes at each graph tensor, in eval mode, as int64 arrays: the
    input, each layer's activation codes (or raw accumulator), and the argmax."""
    was_training = model.training
    model.eval()
    try:
        first, groups = _groups(model)
        h = x if first is None else model[0](x)
        out = [h.numpy().astype(np.int64)]
        for dense, bn, act in groups:
            acc = dense.accumulate(h)
            b = dense.int_bias()
            acc_b = acc if b is None else acc + b
            if act is None:
                h = dense.post(acc)
                out.append(acc_b.numpy().astype(np.int64))
            else:
                y = dense.post(acc)
                h = act(bn(y) if bn is not None else y)
                out.append(h.numpy().astype(np.int64))
        if argmax:
            out.append(torch.argmax(h, dim=1, keepdim=True).numpy().astype(np.int64))
        return out
    finally:
        model.train(was_training)
