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

Modules (tensors channels-last, like the graph): :class:`QuantInput`,
:class:`QuantDense` and :class:`QuantConv2d` (standard or depthwise; weights
``bin``: BinaryConnect / XNOR-Net sign; ``tern``: ternary with threshold
0.7*mean|w|; ``intK``: symmetric uniform k-bit, DoReFa-style straight-through
estimator), :class:`BatchNorm` (or ``nn.BatchNorm1d``), :class:`BinaryAct`
(sign, hard-tanh straight-through estimator), :class:`QuantReLU` (DoReFa k-bit
activation), :class:`QuantAct` (signed k-bit), :class:`MaxPool`,
:class:`GlobalSumPool`, ``nn.Flatten``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.formulas import acc_bounds
from hwgen.frontends import lowering
from hwgen.ir.activations import Threshold
from hwgen.ir.graph import INPUT, Graph
from hwgen.ir.layer import Layer, Tensor
from hwgen.ops import Add, ArgMax, Conv2d, Dense, MaxPool2d, Sparsity
from hwgen.ops import GlobalSumPool as IrGlobalSumPool

__all__ = ["ACTIVATIONS", "BatchNorm", "BinaryAct", "GlobalSumPool", "MaxPool", "QuantAct",
           "QuantConv2d", "QuantDense", "QuantInput", "QuantReLU", "Residual", "WeightedModule",
           "export", "integer_trace", "layer_name"]

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


class WeightedModule(nn.Module):
    """Quantized integer weights, optional integer bias, a positive scale.

    ``forward(x) = post(accumulate(x))``: ``accumulate`` is the exact integer
    accumulator, ``post`` adds the bias and scales by 1/sqrt(fan_in).
    ``pe`` and ``simd`` are the hardware folding carried into the graph. A ``mask``
    (0/1, the weight's shape; set by pruning) forces weights to zero: a pruned binary
    layer exports as ternary, the dtype that holds its zeros, unless the mask follows an
    N:M ``sparsity`` (set by pattern pruning), whose zeros are in the pattern: the layer
    then exports with the field and its own dtype. Shared weights (set by
    :func:`hwgen.compress.codebook.share_weights`): each weight is ``centroids[index]``,
    so training moves a centroid by the summed gradients of its members, and the layer
    exports with the codebook of its distinct integer weights.
    """

    def __init__(self, shape: tuple[int, ...], fan_in: int, weight_dtype: str, bias: bool,
                 pe: int, simd: int):
        super().__init__()
        self.weight_dtype = DType.parse(weight_dtype)
        if self.weight_dtype.kind == "uint":
            raise ValueError(f"{type(self).__name__}: weight_dtype must be bin, tern or intK")
        self.weight = nn.Parameter(torch.empty(shape).uniform_(-1, 1))
        self.bias = nn.Parameter(torch.zeros(shape[0])) if bias else None
        self.scale = 1.0 / math.sqrt(fan_in)
        self.pe, self.simd = pe, simd
        self.register_buffer("mask", None)
        self.sparsity: Sparsity | None = None
        self.register_buffer("index", None)
        self.register_parameter("centroids", None)

    def latent(self) -> torch.Tensor:
        """The float weights the quantizer sees: the shared centroids, or the own ones."""
        return self.weight if self.centroids is None else self.centroids[self.index]

    def int_weight(self) -> torch.Tensor:
        q = self._quantized()
        return q if self.mask is None else q * self.mask

    def _quantized(self) -> torch.Tensor:
        w, dt = self.latent(), self.weight_dtype
        if dt.kind == "bin":
            return _ste(w.clamp(-1, 1), torch.where(w >= 0, 1.0, -1.0))
        if dt.kind == "tern":
            delta = 0.7 * w.abs().mean().detach()
            return _ste(w.clamp(-1, 1), torch.sign(w) * (w.abs() > delta))
        top = dt.max  # symmetric: -max..max
        v = w / (w.abs().max().detach() / top + 1e-12)
        return _ste(v, torch.round(v).clamp(-top, top))

    @property
    def export_dtype(self) -> DType:
        """The weight dtype of the exported layer: ternary for a pruned binary layer."""
        pruned = (self.mask is not None and bool((self.mask == 0).any())
                  and self.sparsity is None)
        return DType("tern", 2) if pruned and self.weight_dtype.kind == "bin" else (
            self.weight_dtype)

    def int_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else _ste(self.bias, torch.round(self.bias))

    def post(self, acc: torch.Tensor) -> torch.Tensor:
        b = self.int_bias()
        return (acc if b is None else acc + b) * self.scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.post(self.accumulate(x))

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def _ints(t: torch.Tensor) -> np.ndarray:
        return t.detach().numpy().astype(np.int64)

    def _bias_ints(self) -> np.ndarray | None:
        b = self.int_bias()
        return None if b is None else self._ints(b)

    def _codebook(self, ints: np.ndarray) -> np.ndarray | None:
        """The exported codebook: the distinct integer weights of a layer that shares them."""
        if self.centroids is None:
            return None
        book = np.unique(ints)
        return book if len(book) > 1 else None


class QuantDense(WeightedModule):
    """Fully-connected layer on (N, features)."""

    def __init__(self, in_features: int, out_features: int, weight_dtype: str = "bin", *,
                 bias: bool = False, pe: int = 1, simd: int = 1):
        super().__init__((out_features, in_features), in_features, weight_dtype, bias, pe, simd)

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.reshape(len(x), -1), self.int_weight())

    def ir_layer(self, name: str) -> Dense:
        w = self._ints(self.int_weight())
        return Dense(name, weight_dtype=self.export_dtype, weights=w, bias=self._bias_ints(),
                     pe=self.pe, simd=self.simd, codebook=self._codebook(w),
                     sparsity=self.sparsity)


class QuantConv2d(WeightedModule):
    """2-D convolution on channels-last (N, H, W, C); ``groups`` = 1 or C (depthwise).

    Padding fills with ``pad_value`` (binary nets pad with -1 or +1). The
    accumulator is an unfold and a matrix product: exact integer sums, never a
    transform-based convolution algorithm.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: int | tuple[int, int],
                 weight_dtype: str = "bin", *, stride: int = 1, padding: int = 0,
                 pad_value: int = 0, groups: int = 1, bias: bool = False, pe: int = 1,
                 simd: int = 1):
        kh, kw = (kernel, kernel) if isinstance(kernel, int) else kernel
        super().__init__((out_channels, in_channels // groups, kh, kw),
                         kh * kw * in_channels // groups, weight_dtype, bias, pe, simd)
        self.kernel, self.stride, self.padding = (kh, kw), stride, padding
        self.pad_value, self.groups = pad_value, groups

    def accumulate(self, x: torch.Tensor) -> torch.Tensor:
        n, h, _, c = x.shape
        xc = x.permute(0, 3, 1, 2)
        if self.padding:
            p = self.padding
            xc = F.pad(xc, (p, p, p, p), value=float(self.pad_value))
        cols = F.unfold(xc, self.kernel, stride=self.stride)  # (N, C*kh*kw, L), C-major
        weight = self.int_weight()
        out = weight.shape[0]
        if self.groups == 1:
            acc = weight.reshape(out, -1) @ cols
        else:
            acc = (cols.reshape(n, c, -1, cols.shape[-1]) * weight.reshape(c, -1, 1)).sum(2)
        oh = (h + 2 * self.padding - self.kernel[0]) // self.stride + 1
        return acc.reshape(n, out, oh, -1).permute(0, 2, 3, 1)

    def ir_layer(self, name: str) -> Conv2d:
        w = self._ints(self.int_weight().permute(0, 2, 3, 1))
        return Conv2d(name, weight_dtype=self.export_dtype, weights=w, bias=self._bias_ints(),
                      stride=self.stride, padding=self.padding, pad_value=self.pad_value,
                      groups=self.groups, pe=self.pe, simd=self.simd,
                      codebook=self._codebook(w), sparsity=self.sparsity)


class BatchNorm(nn.BatchNorm1d):
    """Batch-norm over the last (channel) axis of a tensor of any rank."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.reshape(-1, x.shape[-1])).reshape(x.shape)


class MaxPool(nn.Module):
    """Max pooling on channels-last (N, H, W, C), no padding."""

    def __init__(self, kernel: int = 2, stride: int | None = None):
        super().__init__()
        self.kernel, self.stride = kernel, stride or kernel

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.max_pool2d(x.permute(0, 3, 1, 2), self.kernel, self.stride)
        return y.permute(0, 2, 3, 1)

    def ir_layer(self, name: str) -> MaxPool2d:
        return MaxPool2d(name, kernel=self.kernel, stride=self.stride)


class GlobalSumPool(nn.Module):
    """Sum over H and W of (N, H, W, C); the next layer's scale absorbs the 1/(H*W)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=(1, 2))

    def ir_layer(self, name: str) -> IrGlobalSumPool:
        return IrGlobalSumPool(name)


class BinaryAct(nn.Module):
    """Sign activation: +1 where x >= 0, else -1; hard-tanh straight-through gradient."""

    dtype = DType("bin", 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _ste(x.clamp(-1, 1), torch.where(x >= 0, 1.0, -1.0))


class QuantReLU(nn.Module):
    """DoReFa k-bit activation: code = round(clamp(x, 0, 1) * (2^k - 1)), unsigned."""

    def __init__(self, bits: int = 2):
        super().__init__()
        self.dtype = DType("uint", bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.clamp(0, 1) * self.dtype.max
        return _ste(c, torch.round(c))


class QuantAct(nn.Module):
    """Signed symmetric k-bit activation, for a linear bottleneck such as the middle of a
    low-rank split: code = round(clamp(x, -1, 1) * (2^(k-1) - 1))."""

    def __init__(self, bits: int = 4):
        super().__init__()
        if bits < 2:
            raise ValueError(f"QuantAct: bits must be 2 or more, got {bits}")
        self.dtype = DType("int", bits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = x.clamp(-1, 1) * self.dtype.max
        return _ste(c, torch.round(c))


class Residual(nn.Module):
    """A residual block: ``act(bn(body(x) + shortcut(x)))``.

    ``body`` is a Sequential of quantized layers each ending in an activation
    (integer codes); ``shortcut`` is None (identity: the input codes) or such a
    Sequential, e.g. a 1x1 ``QuantConv2d`` + BatchNorm + activation projecting to
    the body's channels. The sum of two integer tensors is an integer, so the
    export folds ``bn`` and ``act`` into thresholds on it, exactly. ``pe``: channels
    the hardware adds per cycle.
    """

    def __init__(self, body: nn.Sequential, act: nn.Module, *, channels: int,
                 shortcut: nn.Sequential | None = None, pe: int = 1):
        super().__init__()
        self.body, self.shortcut, self.act, self.pe = body, shortcut, act, pe
        self.bn = BatchNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = x if self.shortcut is None else self.shortcut(x)
        return self.act(self.bn(self.body(x) + skip))


ACTIVATIONS = (BinaryAct, QuantReLU, QuantAct)


_POOLS = (MaxPool, GlobalSumPool)


def _stages(model: nn.Module) -> tuple[DType | None, list[tuple]]:
    """Split a Sequential into stages: (weighted, BatchNorm | None, activation | None) or
    (pool,)."""
    if not isinstance(model, nn.Sequential):
        raise GraphError("export: the model must be an nn.Sequential")
    mods = list(_flat(model))
    in_dtype = None
    if mods and isinstance(mods[0], QuantInput):
        in_dtype = mods.pop(0).dtype
    stages, k = [], 0
    while k < len(mods):
        mod = mods[k]
        k += 1
        if isinstance(mod, (*_POOLS, Residual)):
            stages.append((mod,))
            continue
        if not isinstance(mod, WeightedModule):
            raise GraphError(f"export: module #{k - 1} ({type(mod).__name__}) is not supported "
                             "here; allowed: QuantInput first, then QuantDense/QuantConv2d "
                             "(optionally followed by BatchNorm and BinaryAct/QuantReLU/QuantAct), "
                             "MaxPool, GlobalSumPool, Residual, Flatten")
        bn = act = None
        if k < len(mods) and isinstance(mods[k], nn.BatchNorm1d):
            bn, k = mods[k], k + 1
        if k < len(mods) and isinstance(mods[k], ACTIVATIONS):
            act, k = mods[k], k + 1
        stages.append((mod, bn, act))
    return in_dtype, stages


def _flat(model: nn.Sequential):
    """The modules of a Sequential, nested Sequentials opened, Flatten dropped; a Residual
    stays whole."""
    for mod in model.children():
        if isinstance(mod, nn.Sequential):
            yield from _flat(mod)
        elif not isinstance(mod, nn.Flatten):
            yield mod


def _tail(layer: WeightedModule, bn: nn.Module | None, act: nn.Module):
    """acc (bias included) -> activation output, through the module's own float code."""
    def f(a: torch.Tensor) -> torch.Tensor:
        b = layer.int_bias()
        y = layer.post(a if b is None else a - b)
        if bn is not None:
            y = bn(y)
        return act(y)
    return f


def _thresholds(f: Callable[[torch.Tensor], torch.Tensor], act: nn.Module, channels: int,
                lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`hwgen.frontends.lowering.thresholds` of the torch tail ``f`` (accumulator to
    ``act``'s output), evaluated in float32 as torch evaluates it. The search spans both
    directions' ranges at once, ``min(lo, -hi)..max(hi, -lo)``, as this exporter always
    has, so thresholds of levels never or always reached are those it always wrote."""
    @torch.no_grad()
    def code(a: np.ndarray) -> np.ndarray:
        return f(torch.from_numpy(a.astype(np.float32))).numpy()

    return lowering.thresholds(code, lowering.levels(act.dtype), channels, lo, hi,
                               span=(min(lo, -hi), max(hi, -lo)))


def layer_name(mod: nn.Module, counts: dict[str, int]) -> str:
    """fc1, conv2, dw1, pool1, gsp1, add1...: the kind and its count so far. The two halves
    of a split layer (``split_part`` "a" and "b", set by compression) are that layer's name
    with the part, so the layers after it keep their names."""
    kind = ("fc" if isinstance(mod, QuantDense) else "pool" if isinstance(mod, MaxPool)
            else "gsp" if isinstance(mod, GlobalSumPool) else "add" if isinstance(mod, Residual)
            else "dw" if mod.groups > 1 else "conv")
    part = getattr(mod, "split_part", "")
    if part != "b":
        counts[kind] = counts.get(kind, 0) + 1
    return f"{kind}{counts[kind]}{part}"


@torch.no_grad()
def export(model: nn.Sequential, *, name: str, input_shape: tuple[int, ...],
           input_dtype: str | None = None, argmax: bool = True) -> Graph:
    """The integer graph computing exactly what ``model`` computes in eval mode.

    Batch-norm, biases and scales fold into per-channel thresholds; a final
    weighted layer without activation exports its raw accumulator (its positive
    scale does not change the argmax). ``argmax`` appends label select.
    """
    was_training = model.training
    model.eval()
    try:
        found, stages = _stages(model)
        dtype = DType.parse(input_dtype) if input_dtype else found
        if dtype is None:
            raise GraphError("export: no input dtype (put QuantInput first or pass input_dtype)")
        layers: list[Layer] = []
        weighted = [s for s in stages if len(s) == 3]
        _export(stages, Tensor(tuple(input_shape), dtype), INPUT, layers, {},
                weighted[-1] if weighted else None)
        if argmax:
            layers.append(ArgMax("label"))
        return Graph(name, Tensor(tuple(input_shape), dtype), layers)
    finally:
        model.train(was_training)


def _export(stages: list[tuple], x: Tensor, src: str, layers: list[Layer],
            counts: dict[str, int], last) -> tuple[Tensor, str]:
    """Append the layers of ``stages`` reading tensor ``src`` (of type ``x``); return the
    output tensor and the name of its producer. ``last``: the stage that may end without
    an activation."""
    for stage in stages:
        mod = stage[0]
        if isinstance(mod, Residual):
            x, src = _export_residual(mod, x, src, layers, counts)
            continue
        layer = mod.ir_layer(layer_name(mod, counts))
        layer.inputs = [src]
        if len(stage) == 3:
            _fold_activation(layer, x, *stage, last=stage is last)
        layers.append(layer)
        x, src = layer.infer([x]), layer.name
    return x, src


def _export_residual(res: Residual, x: Tensor, src: str, layers: list[Layer],
                     counts: dict[str, int]) -> tuple[Tensor, str]:
    """Body and shortcut as branches reading ``src``, then an ``add`` whose thresholds are
    ``act(bn(sum))`` over the integer range of the sum."""
    name = layer_name(res, counts)
    yb, b = _export(_stages(res.body)[1], x, src, layers, counts, None)
    ys, s = (x, src) if res.shortcut is None else _export(_stages(res.shortcut)[1], x, src,
                                                           layers, counts, None)
    lo, hi = yb.dtype.min + ys.dtype.min, yb.dtype.max + ys.dtype.max
    channels = yb.shape[-1]
    falling, t = _thresholds(lambda a: res.act(res.bn(a)), res.act, channels, lo, hi)
    if falling.any():
        raise GraphError(f"export: residual {name}: its batch-norm scale is negative on "
                         f"channel {int(np.argmax(falling))}; a sum of two branches cannot be "
                         "negated (keep the scale positive)")
    add = Add(name, inputs=[b, s], pe=res.pe, activation=Threshold(res.act.dtype, t))
    layers.append(add)
    return add.infer([yb, ys]), name


def _fold_activation(layer: Dense | Conv2d, x: Tensor, mod: WeightedModule, bn, act, *,
                     last: bool) -> None:
    """Give ``layer`` the thresholds of BN + activation (negating falling channels)."""
    where = f"export: layer {layer.name}"
    w = layer.weights
    b = layer.bias
    lo, hi = acc_bounds(w, x.dtype, b).out
    if max(-lo, hi) >= FLOAT32_EXACT:
        raise GraphError(f"{where}: accumulator range {lo}..{hi} is not exact in float32")
    if act is None:
        if bn is not None:
            raise GraphError(f"{where}: BatchNorm without a following activation cannot be "
                             "exported exactly; end with a plain QuantDense")
        if not last:
            raise GraphError(f"{where}: only the last weighted layer may lack an activation")
        return
    falling, t = _thresholds(_tail(mod, bn, act), act, len(w), lo, hi)
    lowering.negate(layer, falling)
    layer.activation = Threshold(act.dtype, t)


def _trace(stages: list[tuple], h: torch.Tensor, out: list[np.ndarray]) -> torch.Tensor:
    """Run ``stages`` on ``h`` in eval mode, appending each exported layer's integer output
    (a final layer's raw accumulator) in the order export emits the layers."""
    for stage in stages:
        mod = stage[0]
        if isinstance(mod, Residual):
            body = _trace(_stages(mod.body)[1], h, out)
            skip = h if mod.shortcut is None else _trace(_stages(mod.shortcut)[1], h, out)
            h = mod.act(mod.bn(body + skip))
        elif len(stage) == 1:
            h = mod(h)
        else:
            _, bn, act = stage
            acc = mod.accumulate(h)
            if act is None:
                b = mod.int_bias()
                out.append((acc if b is None else acc + b).numpy().astype(np.int64))
                h = mod.post(acc)
                continue
            h = act(bn(mod.post(acc)) if bn is not None else mod.post(acc))
        out.append(h.numpy().astype(np.int64))
    return h


@torch.no_grad()
def integer_trace(model: nn.Sequential, x: torch.Tensor, *, argmax: bool = True
                  ) -> list[np.ndarray]:
    """What torch computes at each graph tensor, in eval mode, as int64 arrays: the
    input, each layer's output codes (a final layer's raw accumulator), the argmax."""
    was_training = model.training
    model.eval()
    try:
        first, stages = _stages(model)
        h = x if first is None else model[0](x)
        out = [h.numpy().astype(np.int64)]
        h = _trace(stages, h, out)
        if argmax:
            out.append(torch.argmax(h.reshape(len(h), -1), dim=1, keepdim=True)
                       .numpy().astype(np.int64))
        return out
    finally:
        model.train(was_training)
