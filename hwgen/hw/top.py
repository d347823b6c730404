"""The graph top: every layer's blocks chained by streams, AXI4-Stream ports outside."""

from __future__ import annotations

import itertools

from amaranth import Module, Value
from amaranth.lib import data, wiring
from amaranth.lib.wiring import In, Out

from ..ir import ArgMax, Conv2d, Dense, GlobalSumPool, MaxPool2d, Requant, Threshold
from ..plan import LayerPlan, Plan, needs_window, plan
from .argmax import LabelSelect
from .dwc import WidthConverter
from .fifo import StreamFIFO
from .mvu import MVU
from .pool import ChannelReduce
from .requant import Requantizer
from .streams import element_shape
from .swg import SlidingWindow
from .threshold import ThresholdUnit
from .vvu import VVU

__all__ = ["Accelerator", "Chain", "layer_blocks", "stage_blocks"]


def _window(lp: LayerPlan, kernel, stride, padding, pad_value: int) -> SlidingWindow:
    return SlidingWindow(lp.x.shape, lp.in_elems, kernel, stride, padding,
                         int(lp.x.dtype.encode(pad_value)), element_shape(lp.x.dtype))


def layer_blocks(lp: LayerPlan) -> list[wiring.Component]:
    """The chain of stream blocks that computes one layer."""
    layer = lp.layer
    if isinstance(layer, Dense | Conv2d):
        blocks: list[wiring.Component] = []
        if isinstance(layer, Conv2d) and needs_window(layer):
            blocks.append(_window(lp, layer.kernel, layer.stride, layer.padding,
                                  layer.pad_value))
        if isinstance(layer, Conv2d) and layer.groups > 1:
            blocks.append(VVU(layer.weights, lp.x.dtype, layer.weight_dtype, pe=layer.pe,
                              bias=layer.bias))
        else:
            blocks.append(MVU(layer.weights.reshape(layer.channels, -1), lp.x.dtype,
                              layer.weight_dtype, pe=layer.pe, simd=layer.simd,
                              bias=layer.bias, storage=lp.weight_storage))
        act = layer.activation
        if isinstance(act, Threshold):
            blocks.append(ThresholdUnit(act.thresholds, act.dtype, pe=layer.pe,
                                        acc_range=layer.bounds.out,
                                        storage=lp.weight_storage))
        elif isinstance(act, Requant):
            blocks.append(Requantizer(act.m, act.s, act.dtype, pe=layer.pe,
                                      acc_range=layer.bounds.out))
        return blocks
    if isinstance(layer, MaxPool2d):
        shape = element_shape(lp.x.dtype)
        return [_window(lp, layer.kernel, layer.stride, (0, 0), 0),
                ChannelReduce("max", layer.kernel[0] * layer.kernel[1], lp.x.shape[2],
                              lp.in_elems, shape, shape)]
    if isinstance(layer, GlobalSumPool):
        h, w, c = lp.x.shape
        return [ChannelReduce("sum", h * w, c, lp.in_elems, element_shape(lp.x.dtype),
                              element_shape(lp.y.dtype))]
    if isinstance(layer, ArgMax):
        return [LabelSelect(lp.x.size, lp.in_elems, element_shape(lp.x.dtype))]
    raise AssertionError(f"plan() admitted {layer.where}")  # pragma: no cover


def stage_blocks(p: Plan, k: int) -> list[wiring.Component]:
    """Layer ``k``'s blocks with the glue in front of it: a width converter where the
    producer's PE differs from its SIMD, and (after the first layer) a FIFO holding one
    frame of a dense consumer's input beats (one image row for conv and pool, which
    buffer rows themselves). The last stage ends with a two-beat output FIFO."""
    lp = p.layers[k]
    shape = element_shape(lp.x.dtype)
    elems = p.layers[k - 1].out_elems if k else lp.in_elems
    chain: list[wiring.Component] = []
    if lp.in_elems != elems:
        chain.append(WidthConverter(shape, elems, lp.in_elems))
    if k > 0:
        chain.append(StreamFIFO(data.ArrayLayout(shape, lp.in_elems), lp.fifo_depth))
    chain.extend(layer_blocks(lp))
    if k == len(p.layers) - 1:
        chain.append(StreamFIFO(data.ArrayLayout(element_shape(lp.y.dtype), lp.out_elems), 2))
    return chain


class Chain(wiring.Component):
    """Stream blocks connected in a row; ``i`` of the first and ``o`` of the last outside.

    One layer stage as a unit of its own, for per-layer synthesis.
    """

    def __init__(self, blocks: list[wiring.Component]):
        self.chain = blocks
        super().__init__({"i": In(blocks[0].i.signature.flip()),
                          "o": Out(blocks[-1].o.signature)})

    def elaborate(self, platform) -> Module:
        m = Module()
        _connect(m, self.chain)
        wiring.connect(m, wiring.flipped(self.i), self.chain[0].i)
        wiring.connect(m, self.chain[-1].o, wiring.flipped(self.o))
        return m


def _connect(m: Module, chain: list[wiring.Component]) -> None:
    for k, block in enumerate(chain):
        m.submodules[f"b{k}_{type(block).__name__.lower()}"] = block
    for a, b in itertools.pairwise(chain):
        wiring.connect(m, a.o, b.i)


class Accelerator(wiring.Component):
    """A whole graph as one streaming pipeline of layer stages (``stage_blocks``); all
    layers run concurrently, and a producer runs ahead while its consumer replays its
    buffer.

    Members (flat, AXI4-Stream names): ``s_axis_tdata/tvalid/tready``,
    ``m_axis_tdata/tvalid/tready``; ``clk`` and ``rst`` come from the sync domain.
    """

    def __init__(self, graph):
        self.plan: Plan = plan(graph)
        super().__init__({
            "s_axis_tdata": In(self.plan.input.tdata_bits), "s_axis_tvalid": In(1),
            "s_axis_tready": Out(1),
            "m_axis_tdata": Out(self.plan.output.tdata_bits), "m_axis_tvalid": Out(1),
            "m_axis_tready": In(1),
        })

    def blocks(self) -> list[wiring.Component]:
        return [b for k in range(len(self.plan.layers)) for b in stage_blocks(self.plan, k)]

    def elaborate(self, platform) -> Module:
        m = Module()
        chain = self.blocks()
        _connect(m, chain)
        first, last = chain[0].i, chain[-1].o
        m.d.comb += [
            Value.cast(first.payload).eq(self.s_axis_tdata),
            first.valid.eq(self.s_axis_tvalid),
            self.s_axis_tready.eq(first.ready),
            self.m_axis_tdata.eq(Value.cast(last.payload)),
            self.m_axis_tvalid.eq(last.valid),
            last.ready.eq(self.m_axis_tready),
        ]
        return m
