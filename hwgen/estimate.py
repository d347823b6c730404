"""Resource and latency estimates from the ir alone, and the measurements that check them.

Resources: every block of a layer stage (the same blocks ``hw.top`` builds) is
described by analytic features: XNOR/popcount bits, LUT-multiplier bits, adder
tree and accumulator bits, comparator bits, register bits, constants in logic,
LUT-RAM and flip-flop memories. LUTs and flip-flops are a linear function of
them whose constants are fitted per family from yosys measurements
(``bench/calibrate.py`` writes ``estimate_model.json``). Block RAMs and DSPs are
counted exactly from the memory shapes and the multiplier widths, by the rules
each family's Yosys script follows (measured, see ``tests/test_estimate.py``).

Cycles per frame come from ``plan`` (the formulas the hardware is built with).
Latency comes from a beat schedule: every output beat of a layer waits for the
last input beat it needs plus the stage's pipeline depth, and for its
predecessor plus the layer's cycles per beat.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources as _res
from typing import Any

import numpy as np
from amaranth import Shape
from amaranth.lib import wiring

from .boards import Board
from .dtypes import DType
from .formulas import buffer_storage, signed_bits
from .hw.add import ElementwiseAdd
from .hw.argmax import LabelSelect
from .hw.concat import ChannelConcat
from .hw.dwc import WidthConverter
from .hw.fifo import StreamFIFO
from .hw.fork import Fork
from .hw.mvu import MVU
from .hw.pe import product_bounds
from .hw.pool import ChannelReduce
from .hw.requant import Requantizer
from .hw.swg import SlidingWindow
from .hw.threshold import ThresholdUnit
from .hw.top import Stage, as_plan
from .hw.vvu import VVU
from .ir import Graph
from .plan import Plan, beat_schedule, silenced
from .synth import Resources

__all__ = [
    "FEATURES",
    "Estimate",
    "LayerEstimate",
    "Measured",
    "Model",
    "block_cost",
    "bram_blocks",
    "estimate",
    "latencies",
    "load_model",
    "measure",
    "stage_cost",
]

LUT_INPUTS = {"ice40": 4, "ecp5": 4, "xilinx": 6, "generic": 2}
FEATURES = ("xnor", "addsub", "mul", "tree", "acc", "cmp", "select", "reg", "mux", "rom",
            "lutram", "ram_ff", "ctl", "blocks")
FF_FEATURES = ("reg", "ram_ff", "ctl", "blocks")  # the features that hold registers

# Block RAM shapes (width, depth) and their size in the family's unit.
_BRAM = {
    "ice40": [((16, 256), 1), ((8, 512), 1), ((4, 1024), 1), ((2, 2048), 1)],
    "ecp5": [((36, 512), 1), ((18, 1024), 1), ((9, 2048), 1), ((4, 4096), 1), ((2, 8192), 1),
             ((1, 16384), 1)],
    "xilinx": [((36, 512), 0.5), ((18, 1024), 0.5), ((9, 2048), 0.5), ((4, 4096), 0.5),
               ((2, 8192), 0.5), ((1, 16384), 0.5), ((72, 512), 1), ((36, 1024), 1),
               ((18, 2048), 1), ((9, 4096), 1), ((4, 8192), 1), ((2, 16384), 1),
               ((1, 32768), 1)],
}
# Multipliers go to DSP blocks when their operand widths add up to this many bits
# (yosys' mul2dsp limits per family, measured); each DSP takes (max a, max b) bits.
_DSP = {"ice40": (12, 16, 16), "ecp5": (0, 18, 18), "xilinx": (10, 25, 18)}


def bram_blocks(width: int, depth: int, family: str) -> float:
    """Block RAMs for a ``width`` x ``depth`` memory: the cheapest tiling by one shape."""
    if family not in _BRAM:
        return 0.0
    return min(math.ceil(width / w) * math.ceil(depth / d) * unit
               for (w, d), unit in _BRAM[family])


def _lutram_luts(width: int, depth: int, family: str) -> float | None:
    """LUTs of an asynchronously read memory in LUT RAM, or None where it becomes
    flip-flops (iCE40 and generic have no LUT RAM)."""
    if family == "xilinx":  # RAM32M: 32 x 6 bits, RAM64M: 64 x 3 bits, four LUTs each
        return 4 * min(math.ceil(depth / 32) * math.ceil(width / 6),
                       math.ceil(depth / 64) * math.ceil(width / 3))
    if family == "ecp5":  # TRELLIS_DPR16X4: 16 x 4 bits, counted as four LUTs
        return 4 * math.ceil(depth / 16) * math.ceil(width / 4)
    return None


def _dsps(a_bits: int, b_bits: int, family: str) -> int:
    """DSP blocks of one multiplier with operands of these widths (0: built from LUTs)."""
    if family not in _DSP:
        return 0
    least, amax, bmax = _DSP[family]
    if a_bits + b_bits < max(least, 4) or min(a_bits, b_bits) < 2:
        return 0
    a_bits, b_bits = max(a_bits, b_bits), min(a_bits, b_bits)
    return math.ceil(a_bits / amax) * math.ceil(b_bits / bmax)


def _const_dsps(factors: list[int], family: str) -> int:
    """DSPs of address arithmetic: yosys' ECP5 script maps a counter of two bits or more
    times a constant that is not a power of two to a MULT18X18D; the other families make
    shifts and adders of it. Callers list the constants whose counters are that wide."""
    if family != "ecp5":
        return 0
    return sum(1 for c in factors if c > 1 and c & (c - 1))


def _operand_bits(a: DType, w: DType) -> tuple[int, int]:
    """Operand widths of a * w as the multiplier sees them (unsigned gains a sign bit
    next to a signed operand)."""
    either = a.signed or w.signed
    return a.bits + (either and not a.signed), w.bits + (either and not w.signed)


def _tree_bits(terms: int, width: int) -> int:
    """Adder bits of a balanced tree summing ``terms`` values of ``width`` bits."""
    bits, level = 0, 0
    while terms > 1:
        bits += (terms // 2) * (width + level + 1)
        terms = terms - terms // 2
        level += 1
    return bits


def _varying_bits(codes: np.ndarray, bits: int) -> int:
    """Bit columns of a table (entries x lanes of ``bits``-bit codes) that are not the same
    in every entry; synthesis keeps only those in memory, the rest become constants."""
    codes = np.asarray(codes, np.int64) & ((1 << bits) - 1)
    planes = (codes[..., None] >> np.arange(bits)) & 1  # entries, lanes, bits
    return int(np.sum(planes.min(axis=0) != planes.max(axis=0)))


def _log2(n: int) -> int:
    return max(1, math.ceil(math.log2(max(n, 2))))


@dataclass
class BlockCost:
    """What one block costs: features for the fitted LUT/FF model, exact BRAM and DSP."""

    features: Counter = field(default_factory=Counter)
    bram: float = 0.0
    dsp: float = 0.0

    def __iadd__(self, other: BlockCost) -> BlockCost:
        self.features.update(other.features)
        self.bram += other.bram
        self.dsp += other.dsp
        return self


def _memory(c: BlockCost, width: int, depth: int, family: str, *, storage: str,
            sync: bool, rom: bool = False) -> None:
    """Add one memory: block RAM, constants in logic, LUT RAM, or flip-flops. Without
    block RAM (generic gates) a block-RAM request becomes logic."""
    if width == 0:  # every entry the same: constants, no memory
        return
    if storage == "bram" and family in _BRAM:
        c.bram += bram_blocks(width, depth, family)
        return
    if rom:  # constants in logic; yosys moves a read register to the address
        c.features["rom"] += width * max(1.0, depth / 2 ** LUT_INPUTS[family])
        c.features["reg"] += _log2(depth) if sync else 0
        return
    luts = None if sync else _lutram_luts(width, depth, family)
    if luts is None or depth == 1:
        c.features["ram_ff"] += width * depth
        c.features["reg"] += width if sync else 0
    else:
        c.features["lutram"] += luts
    c.features["ctl"] += _log2(depth)


def _products(c: BlockCost, lanes: int, a: DType, w: DType, family: str) -> int:
    """Add ``lanes`` products a*w; return the product width."""
    width = signed_bits(*product_bounds(a, w))
    if "bin" in (a.kind, w.kind) or "tern" in (a.kind, w.kind):
        c.features["addsub"] += lanes * width
        return width
    dsp = _dsps(*_operand_bits(a, w), family)
    if dsp:
        c.dsp += lanes * dsp
    else:
        c.features["mul"] += lanes * a.bits * w.bits
    return width


def _style(block: MVU | ThresholdUnit) -> str:
    return "bram" if block.attrs["rom_style"] == "block" else "logic"


def _stage(p: Plan, k: int) -> list[wiring.Component]:
    """Layer ``k``'s blocks, built to be described here and never elaborated."""
    stage = Stage(p.layers[k], k == len(p.layers) - 1)
    silenced([stage])
    return silenced(stage.blocks)


def block_cost(block: wiring.Component, family: str) -> BlockCost:
    """Features, block RAMs and DSPs of one hardware block for ``family``."""
    c = BlockCost()
    f = c.features
    f["blocks"] += 1
    if isinstance(block, MVU):
        pe, simd, nf, sf = block.pe, block.simd, block.nf, block.sf
        a, w = block.in_dtype, block.w_dtype
        if block.binary:  # XNOR and popcount tree
            f["xnor"] += pe * (simd + _tree_bits(simd, 1))
            part = signed_bits(0, simd)
        else:
            width = _products(c, pe * simd, a, w, family)
            f["tree"] += pe * _tree_bits(simd, width)
            part = width + _log2(simd)
        f["reg"] += simd * a.bits + pe * part + 2 * pe * block.acc_bits + 8  # acc, output
        f["acc"] += pe * block.acc_bits
        codes = w.encode(block.weights).reshape(nf, pe, sf, simd).transpose(0, 2, 1, 3)
        _memory(c, _varying_bits(codes.reshape(nf * sf, pe * simd), w.bits), nf * sf, family,
                storage=_style(block), sync=True, rom=True)
        if nf > 1:
            bits = simd * a.bits
            _memory(c, bits, sf, family, storage=buffer_storage(bits, sf), sync=True)
            f["mux"] += bits
        f["ctl"] += _log2(nf) + _log2(sf)
        c.dsp += _const_dsps([sf] if nf > 2 else [], family)  # ROM address nf * sf + sf
    elif isinstance(block, ThresholdUnit | Requantizer):
        pe, groups = block.pe, block.groups
        out_bits = block.o.payload.shape().elem_shape.width
        f["reg"] += pe * (block.acc_bits + out_bits) + 2
        f["ctl"] += _log2(groups)
        if isinstance(block, ThresholdUnit):
            count = block.thresholds.shape[1]
            f["cmp"] += pe * count * block.cmp_bits
            f["tree"] += pe * _tree_bits(count, 1)
            rows = block.thresholds.reshape(groups, pe * count)
            _memory(c, _varying_bits(rows, block.cmp_bits), groups, family,
                    storage=_style(block), sync=True, rom=True)
        else:
            m_bits = signed_bits(int(block.m.min()), int(block.m.max()))
            dsp = _dsps(block.acc_bits, m_bits, family)
            for p in range(pe):  # a lane whose factor is one power of two is a shift
                m = block.m[p::pe]
                shift = np.all(m == m[0]) and m[0] > 0 and (m[0] & (m[0] - 1)) == 0
                c.dsp += 0 if shift else dsp
                f["mul"] += 0 if shift or dsp else block.acc_bits * m_bits
            f["cmp"] += 2 * pe * (block.acc_bits + m_bits)
    elif isinstance(block, StreamFIFO):
        width = Shape.cast(block.shape).width
        _memory(c, width, block.depth, family, storage="logic", sync=False)
        f["ctl"] += 2 * _log2(block.depth)
    elif isinstance(block, WidthConverter):
        bits = block.shape.width
        f["reg"] += block.capacity * bits
        f["mux"] += block.capacity * bits * _log2(max(block.n_in, block.n_out))
        f["ctl"] += _log2(block.capacity)
    elif isinstance(block, SlidingWindow):
        width = block.elems * block.elem_shape.width
        depth = block.slots * block.wp * block.cf
        _memory(c, width, depth, family, storage=buffer_storage(width, depth), sync=True)
        f["reg"] += width
        c.dsp += _const_dsps([block.wp, block.cf, block.wp, block.stride[1], block.cf], family)
        f["ctl"] += 2 * (_log2(block.hp) + _log2(block.wp) + _log2(block.cf)
                         + _log2(block.kernel[0]) + _log2(block.kernel[1]) + _log2(block.slots))
    elif isinstance(block, ChannelReduce):  # max/sum pool, and the depthwise VVU
        lanes, acc = block.elems, block.acc_shape.width
        f["select" if block.op == "max" else "acc"] += lanes * acc
        f["reg"] += lanes * block.out_shape.width
        _memory(c, lanes * acc, block.groups, family, storage="logic", sync=False)
        f["ctl"] += _log2(block.groups) + _log2(block.count)
        if isinstance(block, VVU):
            _products(c, lanes, block.in_dtype, block.w_dtype, family)
            c.dsp += _const_dsps([block.groups] if block.count > 1 else [], family)
            codes = block.w_dtype.encode(block.weights.T).reshape(-1, lanes)
            _memory(c, _varying_bits(codes, block.w_dtype.bits), block.count * block.groups,
                    family, storage="logic", sync=False, rom=True)
    elif isinstance(block, Fork):
        f["ctl"] += block.n
    elif isinstance(block, ElementwiseAdd):
        f["acc"] += block.pe * block.out_bits
        f["reg"] += block.pe * block.out_bits + 1
    elif isinstance(block, ChannelConcat):
        width = block.o.payload.shape().size
        f["mux"] += width
        f["reg"] += width + 1
        f["ctl"] += _log2(block.n0 + block.n1)
    elif isinstance(block, LabelSelect):
        bits = block.shape.width + block.index_shape.width
        f["select"] += block.per_beat * bits
        c.dsp += _const_dsps([block.per_beat] if block.beats > 2 else [], family)
        f["reg"] += 2 * bits
        f["ctl"] += _log2(block.beats)
    else:  # pragma: no cover - every block hw.top builds is listed above
        raise TypeError(f"no cost model for {type(block).__name__}")
    return c


def _cost(blocks: list[wiring.Component], family: str) -> BlockCost:
    total = BlockCost()
    for block in blocks:
        total += block_cost(block, family)
    return total


def stage_cost(p: Plan, k: int, family: str) -> BlockCost:
    """Cost of layer ``k``'s stage: its blocks and the glue in front of it."""
    return _cost(_stage(p, k), family)


@dataclass(frozen=True)
class Model:
    """Fitted constants: per family, LUTs and FFs per unit of each feature."""

    coefficients: dict[str, dict[str, dict[str, float]]]
    source: str

    def resources(self, cost: BlockCost, family: str) -> Resources:
        try:
            fam = self.coefficients[family]
        except KeyError:
            raise ValueError(f"the estimate model has no constants for family {family!r}; "
                             "run bench/calibrate.py") from None
        lut = sum(fam["lut"].get(k, 0.0) * v for k, v in cost.features.items())
        ff = sum(fam["ff"].get(k, 0.0) * v for k, v in cost.features.items())
        return Resources(round(lut), round(ff), cost.bram, cost.dsp)


def load_model(path: str | None = None) -> Model:
    """The fitted model shipped with hwgen (or one written by ``bench/calibrate.py``)."""
    if path is None:
        text = (_res.files("hwgen") / "estimate_model.json").read_text()
        path = "hwgen/estimate_model.json"
    else:
        with open(path) as fh:
            text = fh.read()
    doc = json.loads(text)
    return Model(doc["coefficients"], path)


# -- latency: a beat schedule ---------------------------------------------------------------


def latencies(p: Plan) -> list[int]:
    """Per layer, cycles from the first input beat of frame 0 to the layer's last output
    beat of it, in an empty pipeline with a source and sink that never wait
    (:func:`hwgen.plan.beat_schedule`, with each block's own latency)."""
    times = beat_schedule(p, gap=1.0)
    return [round(times[lp.layer.name][-1]) for lp in p.layers]


# -- the estimate ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerEstimate:
    name: str
    op: str
    pe: int | None
    simd: int | None
    cycles: int
    latency: int  # first input beat of the graph to this layer's last output beat
    resources: Resources


@dataclass(frozen=True)
class Estimate:
    graph: str
    board: Board
    layers: list[LayerEstimate]
    model: str

    @property
    def total(self) -> Resources:
        total = Resources()
        for layer in self.layers:
            total = total + layer.resources
        return total

    @property
    def cycles(self) -> int:
        return max(layer.cycles for layer in self.layers)

    @property
    def bottleneck(self) -> LayerEstimate:
        return max(self.layers, key=lambda layer: layer.cycles)

    @property
    def latency(self) -> int:
        return self.layers[-1].latency

    @property
    def fps(self) -> float:
        return self.board.clock_mhz * 1e6 / self.cycles

    @property
    def latency_us(self) -> float:
        return self.latency / self.board.clock_mhz

    def utilization(self) -> dict[str, float]:
        """Fraction of the board's capacity per resource (empty for an ASIC target)."""
        total = self.total.as_dict()
        return {k: total[k] / cap for k, cap in self.board.capacity.items()
                if k in total and cap}

    def fits(self) -> bool:
        return all(u <= 1.0 for u in self.utilization().values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "graph": self.graph, "board": self.board.name, "family": self.board.family,
            "clock_mhz": self.board.clock_mhz, "model": self.model,
            "cycles_per_frame": self.cycles, "bottleneck": self.bottleneck.name,
            "frames_per_second": self.fps, "latency_cycles": self.latency,
            "latency_us": self.latency_us, "total": self.total.as_dict(),
            "capacity": self.board.capacity, "utilization": self.utilization(),
            "fits": self.fits(),
            "layers": [{"name": e.name, "op": e.op, "pe": e.pe, "simd": e.simd,
                        "cycles": e.cycles, "latency_cycles": e.latency,
                        **e.resources.as_dict()} for e in self.layers],
        }


def _fold(layer) -> tuple[int | None, int | None]:
    return getattr(layer, "pe", None), getattr(layer, "simd", None)


def estimate(source: Plan | Graph, board: Board, model: Model | None = None) -> Estimate:
    """Resources, cycles per frame and latency of every layer of a plan (or of a graph,
    planned here) on ``board``."""
    model = model or load_model()
    p = as_plan(source)
    graph = p.graph
    stages = [_stage(p, k) for k in range(len(p.layers))]
    lat = latencies(p)
    layers = []
    for k, lp in enumerate(p.layers):
        res = model.resources(_cost(stages[k], board.family), board.family)
        layers.append(LayerEstimate(lp.layer.name, lp.layer.op, *_fold(lp.layer), lp.cycles,
                                    lat[k], res))
    return Estimate(graph.name, board, layers, model.source)


# -- measurement: the twin of every estimate ------------------------------------------------


@dataclass(frozen=True)
class Measured:
    """yosys counts per layer stage and for the whole top, and nextpnr's fmax."""

    layers: list[Resources]
    top: Resources
    fmax_mhz: float | None
    fmax_note: str  # how fmax was obtained, or why not


def measure(source: Plan | Graph, board: Board, progress=None) -> Measured:
    """Synthesize every layer stage and the top for the board's family; place and route
    the top (behind two pins) for iCE40 and ECP5."""
    from .hw.top import Accelerator
    from .synth import SynthError, place_and_route, synth_resources

    say = progress or (lambda msg: None)
    p = as_plan(source)
    layers = []
    for k, lp in enumerate(p.layers):
        say(f"  synthesizing layer {k + 1}/{len(p.layers)} {lp.layer.name} "
            f"({board.family}) ...")
        stage = Stage(lp, k == len(p.layers) - 1)
        layers.append(synth_resources(stage, board.family, "stage"))
    say(f"  synthesizing the top ({board.family}) ...")
    top = synth_resources(Accelerator(p), board.family, "top")
    fmax, note = None, f"no place-and-route for {board.family} here"
    if board.nextpnr:
        say(f"  placing and routing on {board.device} ...")
        try:
            fmax = place_and_route(Accelerator(p), board.family, list(board.nextpnr),
                                   board.clock_mhz)
            note = f"nextpnr-{board.family} on {board.device}, inputs/outputs behind two pins"
        except SynthError as err:
            note = f"place-and-route failed: {err}"
    return Measured(layers, top, fmax, note)
