"""``conv2d``: standard or depthwise 2-D convolution, NHWC, then an optional activation.

A sliding-window generator (skipped for 1x1 stride-1 unpadded convs) feeds a
matrix-vector unit (standard) or a vector-vector unit (depthwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from amaranth.lib import wiring
from numpy.lib.stride_tricks import sliding_window_view

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.formulas import conv_out_size, mvu_cycles, window_cycles, window_positions_error
from hwgen.hw.blocks.mvu import MVU
from hwgen.hw.blocks.swg import SlidingWindow
from hwgen.hw.blocks.vvu import VVU
from hwgen.hw.primitives.streams import element_shape
from hwgen.ir.graph import Graph
from hwgen.ir.layer import Arrays, Tensor, pair, positive
from hwgen.ir.plan import LayerPlan
from hwgen.ir.registry import register
from hwgen.ops.activation import activation_blocks
from hwgen.ops.samples import draw, extreme_weights, joined, pruned, weighted_branches
from hwgen.ops.weighted import Sparsity, Weighted, divisors
from hwgen.ops.window import one_row, window_needs

__all__ = ["Conv2d"]

# The examples: an input (H, W, C) and branch geometries (kernel, stride, padding, out
# channels or "dw" for depthwise, pe, simd[, N:M sparsity]) whose outputs have one size, so
# that one graph joins them. The first geometry takes every weight dtype x activation, each
# further one a branch: full folding, depthwise with one lane and with stride 2, 1x1 convs
# with and without a window, mixed strides, a kernel as tall as the input, the sparse
# matrix unit behind a window (1:2) and on pixels (2:4), and several kernel positions a
# beat (part of a kernel row, dense and 1:2, and half a row, strided; a whole row,
# strided; two rows of four, and the whole window, padded). A branch slower than the
# first geometry would set the frame rate (and the simulation time), so none is; even
# channel counts let every concat take two channels a beat.
EXAMPLE_GEOMETRIES = {
    "standard": ((5, 5, 2), [(3, 1, 0, 4, 2, 1), (3, 1, 0, 4, 4, 2), (1, 2, 0, 2, 1, 2),
                             (3, 2, 1, "dw", 1, 1), (3, 1, 0, 4, 2, 1, Sparsity(1, 2)),
                             (3, 1, 0, 4, 2, 6), (3, 1, 0, 2, 1, 3, Sparsity(1, 2))]),
    "depthwise": ((5, 5, 2), [(3, 1, 1, "dw", 2, 1), (1, 1, 0, 2, 2, 2),
                              (3, 1, 1, 2, 2, 2)]),
    "1x1": ((3, 4, 4), [(1, 1, 0, 2, 1, 4), (1, 1, 0, 2, 2, 2),
                        (1, 1, 0, 2, 1, 2, Sparsity(2, 4))]),
    "strided": ((6, 5, 2), [(3, 2, 0, 2, 2, 2), ((3, 4), (2, 1), 0, 2, 2, 2),
                            ((5, 3), (1, 2), 0, 2, 2, 2), (3, 2, 0, "dw", 2, 1),
                            ((3, 4), (2, 1), 0, 2, 2, 8), ((3, 4), (2, 1), 0, 2, 2, 4)]),
    "padded": ((4, 4, 2), [((2, 3), 1, (1, 2), 2, 1, 2), ((2, 3), 1, (1, 2), "dw", 2, 1),
                           ((4, 3), 1, 2, 6, 6, 2), ((2, 3), 1, (1, 2), 2, 1, 12),
                           ((4, 3), 1, 2, 6, 6, 12)]),
}


@register
@dataclass
class Conv2d(Weighted):
    """2-D convolution, NHWC; weights (out_ch, kh, kw, in_ch/groups).

    groups=1 is a standard conv, groups=in_ch=out_ch a depthwise conv. Padding
    fills with ``pad_value``, a value of the input dtype (0, the default, stands for "no
    value" when there is no padding, so binary inputs need none).
    """

    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    pad_value: int = 0
    groups: int = 1
    op: ClassVar[str] = "conv2d"
    count_field: ClassVar[str] = "channels"

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weights.shape[1]), int(self.weights.shape[2])

    @property
    def depthwise(self) -> bool:
        return self.groups > 1

    @property
    def needs_window(self) -> bool:
        """1x1 convolutions with stride 1 and no padding read pixels directly."""
        return self.kernel != (1, 1) or self.stride != (1, 1) or self.padding != (0, 0)

    @property
    def storage(self) -> str:
        """Depthwise weights are read per kernel position combinationally: logic."""
        return "logic" if self.depthwise else super().storage

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> Conv2d:
        where = f"layer {name!r} ({cls.op})"
        common = cls.common_from_spec(where, spec, arrays)
        kernel = spec.pop("kernel", None)
        if kernel is not None and pair(where, "kernel", kernel) != tuple(
                np.shape(common["weights"])[1:3]):
            raise GraphError(f"{where}: kernel={kernel} but weights have kernel "
                             f"{list(np.shape(common['weights'])[1:3])}")
        return cls(name, **common, stride=spec.pop("stride", 1), padding=spec.pop("padding", 0),
                   pad_value=spec.pop("pad_value", 0), groups=spec.pop("groups", 1))

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        pad = {"pad_value": int(self.pad_value)} if any(self.padding) or self.pad_value else {}
        return {"channels": self.channels, "kernel": list(self.kernel),
                "stride": list(self.stride), "padding": list(self.padding), **pad,
                "groups": self.groups, **self.common_spec(arrays)}

    def infer(self, xs: list[Tensor]) -> Tensor:
        where, x = self.where, xs[0]
        if len(x.shape) != 3:
            raise GraphError(f"{where}: input must be (H, W, C), got {list(x.shape)}")
        h, w, c = x.shape
        self.groups = positive(where, "groups", self.groups)
        if np.ndim(self.weights) != 4 or 0 in np.shape(self.weights):
            raise GraphError(f"{where}: weights must be (out_ch, kh, kw, in_ch/groups), no "
                             f"size 0, got shape {list(np.shape(self.weights))}")
        out_ch = int(self.weights.shape[0])
        if c % self.groups or out_ch % self.groups:
            raise GraphError(f"{where}: groups={self.groups} must divide in channels {c} and "
                             f"out channels {out_ch}")
        if self.groups not in (1, c):
            raise GraphError(f"{where}: groups={self.groups} not supported; allowed: 1 "
                             f"(standard) or {c} (depthwise)")
        self.stride = pair(where, "stride", self.stride)
        self.padding = pair(where, "padding", self.padding, minimum=0)
        if self.depthwise and self.sparsity is not None:
            raise GraphError(f"{where}: a depthwise conv takes no sparsity (a row is one "
                             "kernel); allowed on dense and groups=1 conv")
        if self.depthwise and self.zero_skip:
            raise GraphError(f"{where}: a depthwise conv takes no zero_skip (one kernel "
                             "position a cycle, no replays); allowed on dense and groups=1 "
                             "conv")
        kh, kw = self.kernel
        self._check_weights(x, (out_ch, kh, kw, c // self.groups))
        if self.depthwise and self.weight_storage == "bram":
            raise GraphError(f"{where}: depthwise weights live in logic; weight_storage must "
                             "be logic or auto")
        if self.depthwise and self.codebook is not None:
            raise GraphError(f"{where}: a depthwise conv takes no codebook (its weights are "
                             "constants in logic); allowed on dense and groups=1 conv")
        if isinstance(self.pad_value, bool) or not isinstance(self.pad_value, int | np.integer):
            raise GraphError(f"{where}: pad_value must be an integer, got {self.pad_value!r}")
        if (any(self.padding) or self.pad_value) and not x.dtype.contains(
                np.array([self.pad_value])):
            raise GraphError(f"{where}: pad_value {self.pad_value} is not a value of the input "
                             f"dtype {x.dtype}")
        oh, ow = conv_out_size((h, w), self.kernel, self.stride, self.padding)
        if oh < 1 or ow < 1:
            raise GraphError(f"{where}: kernel {kh}x{kw} does not fit the padded {h}x{w} input")
        self._check_folding(xs)
        return Tensor((oh, ow, out_ch), self.out_dtype())

    def fold_candidates(self, xs: list[Tensor]) -> tuple[list[int], list[int]]:
        if self.depthwise:
            return divisors(self.channels), [1]
        c = xs[0].shape[2]
        simds = self.simd_candidates(c)
        if self.needs_window:  # whole pixels of the window a beat
            kh, kw = self.kernel
            simds += [self.kept(j * c) for j in divisors(kh * kw)[1:]]
        return divisors(self.channels), sorted(set(simds))

    def window_positions(self, c: int, simd: int) -> int:
        """Kernel positions a beat of the window generator holds at ``simd``: 1, or more
        when SIMD's inputs are several whole pixels of the window."""
        e = self.in_elems(simd)
        return e // c if e > c else 1

    def fold_error(self, xs: list[Tensor], pe: int, simd: int) -> str | None:
        c = xs[0].shape[2]
        if self.channels % pe:
            return f"pe={pe} must divide the {self.channels} output channels"
        if self.depthwise and simd != 1:
            return (f"depthwise hardware takes one kernel position per cycle; simd must be 1, "
                    f"got {simd}")
        e = self.in_elems(simd)
        spans = (not self.depthwise and self.needs_window and e > c
                 and (self.sparsity is None or simd % self.sparsity.n == 0))
        if spans:  # several kernel positions a beat
            if e % c:
                return (f"simd={simd} takes {e} inputs a beat; allowed: a divisor of the {c} "
                        f"input channels, or whole pixels of the window (a multiple of {c})")
            err = window_positions_error(self.kernel, e // c)
            if err:
                return f"simd={simd} takes {e // c} pixels of the window a beat: {err}"
        else:
            err = self.simd_error(simd, c, "input channels (windows stream channel-wise)")
            if err:
                return err
        if self.depthwise:  # PE channels a beat, one weight each
            return self.word_error(xs[0], pe, simd, pe, pe)
        return self.word_error(xs[0], pe, simd, pe * simd, self.in_elems(simd))

    def cycles_at(self, xs: list[Tensor], y: Tensor, pe: int, simd: int) -> int:
        h, w, c = xs[0].shape
        kh, kw = self.kernel
        pixels = y.shape[0] * y.shape[1]
        if self.depthwise:  # PE channels at once, one kernel position a cycle
            elems, cycles = pe, mvu_cycles(c, kh * kw, pe, 1, pixels=pixels)
        else:
            elems = self.in_elems(simd)
            cycles = mvu_cycles(self.channels, self.kept(kh * kw * c), pe, simd, pixels)
        if self.needs_window:
            cycles = max(cycles, window_cycles(h, w, c, elems, self.kernel, self.stride,
                                               self.padding))
        return cycles

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:
        (ph, pw), (sh, sw), (kh, kw) = self.padding, self.stride, self.kernel
        x = np.pad(xs[0], ((0, 0), (ph, ph), (pw, pw), (0, 0)), constant_values=self.pad_value)
        win = sliding_window_view(x, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]  # N,OH,OW,C,kh,kw
        g = self.groups
        n, oh, ow, c = win.shape[:4]
        win = win.reshape(n, oh, ow, g, c // g, kh, kw)
        w = self.weights.reshape(g, -1, kh, kw, c // g)  # G, O/G, kh, kw, C/G
        acc = np.einsum("nhwgcij,goijc->nhwgo", win, w, optimize=True)
        return self.activate(acc.reshape(n, oh, ow, self.channels))

    def stream_plan(self, xs, y, upstream):
        c = xs[0].shape[2]
        elems = self.pe if self.depthwise else min(self.in_elems(self.simd), c)
        return [elems], self.pe, self.cycles_at(xs, y, self.pe, self.simd)

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        return one_row(xs, elems)

    def needs(self, lp: LayerPlan) -> tuple[list[np.ndarray], int]:
        per_pixel = lp.x.shape[2] // lp.in_elems
        if not self.needs_window:  # each pixel's outputs follow its own input beats
            pixels = lp.x.shape[0] * lp.x.shape[1]
            last = (np.arange(pixels) + 1) * per_pixel - 1
            return [np.repeat(last, lp.out_packing.beats // pixels)], 0
        kh, kw = self.kernel
        work = kh * kw if self.depthwise else kh * kw * lp.x.shape[2] // self.in_elems(
            self.simd)  # the window's beats
        return [window_needs(lp, self.kernel, self.stride, self.padding[0])], work

    @property
    def exact_schedule(self) -> bool:
        return not self.needs_window

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        graphs = {}
        for variant, (shape, geometries) in EXAMPLE_GEOMETRIES.items():
            x = Tensor(shape, dtype)

            def make(name: str, w_dt: DType, v: int, geometries=geometries,
                     c: int = shape[2]) -> Conv2d:
                k, s, p, oc, pe, simd, *sparsity = geometries[v]
                k = (k, k) if isinstance(k, int) else k
                groups, oc = (c, c) if oc == "dw" else (1, oc)
                w = extreme_weights(w_dt, (oc, *k, c // groups), rng)
                sparsity = sparsity[0] if sparsity else None
                if sparsity is not None:
                    w = pruned(w, sparsity, rng)
                return cls(name, weight_dtype=w_dt, weights=w, bias=rng.integers(-3, 4, oc),
                           stride=s, padding=p, pad_value=int(draw(dtype, 1, rng)[0]),
                           groups=groups, pe=pe, simd=simd, sparsity=sparsity)
            branches = weighted_branches(x, rng, make, len(geometries))
            graphs[variant] = joined(f"conv_{variant}", x, branches)
        return graphs

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:
        blocks: list[wiring.Component] = []
        if self.needs_window:
            blocks.append(SlidingWindow(lp.x.shape, lp.in_elems, self.kernel, self.stride,
                                        self.padding, int(lp.x.dtype.encode(self.pad_value)),
                                        element_shape(lp.x.dtype), lp.timing.family,
                                        1 if self.depthwise else self.window_positions(
                                            lp.x.shape[2], self.simd)))
        if self.depthwise:
            blocks.append(VVU(self.weights, lp.x.dtype, self.weight_dtype, pe=self.pe,
                              bias=self.bias, levels=lp.timing.levels))
        else:
            blocks.append(MVU(self.weights.reshape(self.channels, -1), lp.x.dtype,
                              self.weight_dtype, pe=self.pe, simd=self.simd, bias=self.bias,
                              storage=self.storage, levels=lp.timing.levels,
                              codebook=self.codebook, family=lp.timing.family,
                              sparsity=self.pattern, zero_skip=self.zero_skip))
        return blocks + activation_blocks(self.activation, self.pe, self.bounds.out, lp.timing,
                                          self.storage)
