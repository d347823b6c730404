"""What a build folder records (``report.json`` and the stamp): the top module, its streams,
the per-layer plan it was built with and the hash of its graph. ``hwgen sim``, ``hwgen
run``, ``hwgen flash`` and the bitstream flow read it; only :mod:`hwgen.flows.build`
writes it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hwgen.core.errors import BuildError
from hwgen.core.packing import StreamPacking
from hwgen.core.version import __version__
from hwgen.ir.plan import LayerPlan, Plan

__all__ = ["STAMP", "BuildReport", "LayerReport", "StreamReport"]

STAMP = ".hwgen-build.json"  # written by hwgen only: marks a folder as one of its builds


@dataclass(frozen=True)
class StreamReport:
    """How a tensor travels on an AXI-Stream port."""

    shape: list[int]
    dtype: str
    elements_per_beat: int
    bits_per_element: int
    beats_per_frame: int
    tdata_bits: int

    def packing(self) -> StreamPacking:
        """How the stream's frames are packed into beats (what the host link sends)."""
        return StreamPacking(self.elements_per_beat, self.bits_per_element,
                             self.beats_per_frame)


@dataclass(frozen=True)
class LayerReport:
    name: str
    op: str
    inputs: list[str]
    in_shape: list[int]
    in_dtype: str
    out_shape: list[int]
    out_dtype: str
    pe: int | None
    simd: int | None
    weight_dtype: str | None
    acc_bits: int | None
    activation: str | None
    weight_storage: str | None
    cycles_per_frame: int
    fifo_depths: list[int]
    # the matrix unit skips zero input slices: cycles_per_frame is its worst case
    zero_skip: bool = False

    @classmethod
    def of(cls, lp: LayerPlan) -> LayerReport:
        layer = lp.layer
        act, wdt = getattr(layer, "activation", None), getattr(layer, "weight_dtype", None)
        return cls(layer.name, layer.op, list(lp.sources), list(lp.x.shape), lp.x.dtype.name,
                   list(lp.y.shape), lp.y.dtype.name, getattr(layer, "pe", None),
                   getattr(layer, "simd", None), None if wdt is None else wdt.name,
                   lp.acc_bits, None if act is None else act.op, lp.weight_storage, lp.cycles,
                   list(lp.fifo_depths), getattr(layer, "zero_skip", False))


@dataclass(frozen=True)
class BuildReport:
    """What ``report.json`` holds: the top module, its streams and the per-layer plan it was
    built with, and the hash of the graph it was built from."""

    hwgen: str
    graph: str
    graph_sha256: str
    top: str
    verilog: str
    generation_seconds: float
    input: StreamReport
    output: StreamReport
    cycles_per_frame: int
    bottleneck: str
    layers: list[LayerReport]
    estimate: dict[str, Any] | None = field(default=None)
    bitstream: dict[str, Any] | None = field(default=None)  # BitstreamReport, with --bitstream
    vivado: list[str] | None = field(default=None)  # the Vivado project's files (vivado/)
    netlist: dict[str, int] | None = field(default=None)  # gate-level netlist cells by type

    @classmethod
    def of(cls, p: Plan, top: str, verilog: str, seconds: float) -> BuildReport:
        g = p.graph

        def stream(tensor, packing) -> StreamReport:
            return StreamReport(list(tensor.shape), tensor.dtype.name, **packing.as_dict())

        return cls(__version__, g.name, g.digest(), top, verilog, round(seconds, 3),
                   stream(g.input, p.input), stream(g.output, p.output), p.cycles,
                   p.bottleneck.layer.name, [LayerReport.of(lp) for lp in p.layers])

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, doc: Any) -> BuildReport:
        try:
            return cls(**{**doc, "input": StreamReport(**doc["input"]),
                          "output": StreamReport(**doc["output"]),
                          "layers": [LayerReport(**r) for r in doc["layers"]]})
        except (TypeError, KeyError) as err:
            raise BuildError(f"report.json is not a report of this hwgen ({err})") from None

    @classmethod
    def load(cls, folder: Path) -> BuildReport:
        """The report of a build folder; BuildError if it is missing or unreadable."""
        path = folder / "report.json"
        if not (folder / STAMP).is_file():
            raise BuildError(f"{folder}: not a hwgen build folder (no {STAMP})")
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except FileNotFoundError:
            raise BuildError(f"{path}: missing; rebuild with hwgen build") from None
        except (OSError, ValueError, RecursionError) as err:
            raise BuildError(f"{path}: unreadable ({err}); rebuild with hwgen build") from None

    def markdown(self) -> str:
        """The report as a table a person reads."""
        def dash(v):
            return "-" if v is None else str(v)

        lines = [f"# hwgen build: {self.graph}", "",
                 f"Top module `{self.top}` in `{self.verilog}` (hwgen {self.hwgen}, generated "
                 f"in {self.generation_seconds} s).", "",
                 "| layer | op | inputs | in | out | weights | storage | PE | SIMD | acc bits | "
                 "activation | FIFO beats | cycles/frame |",
                 "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in self.layers:
            mark = " **(bottleneck)**" if r.name == self.bottleneck else ""
            mark = (" at most (zero skip)" if r.zero_skip else "") + mark
            lines.append(
                f"| {r.name} | {r.op} | {', '.join(r.inputs)} | {r.in_shape} {r.in_dtype} | "
                f"{r.out_shape} {r.out_dtype} | {dash(r.weight_dtype)} | "
                f"{dash(r.weight_storage)} | {dash(r.pe)} | {dash(r.simd)} | "
                f"{dash(r.acc_bits)} | {dash(r.activation)} | "
                f"{', '.join(map(str, r.fifo_depths))} | {r.cycles_per_frame}{mark} |")
        lines += ["", f"**Cycles per frame (pipeline full): {self.cycles_per_frame}** — set by "
                  f"`{self.bottleneck}`. FIFO beats: the FIFO in front of each input (0: none); "
                  "a join's are sized from the other branch's latency." + (
                      " A layer with zero skip takes fewer cycles on input slices that are "
                      "all zero: its figure is the worst case, and `hwgen sim` measures the "
                      "mean over the inputs it is given." if any(
                          r.zero_skip for r in self.layers) else ""), "",
                  "## Stream interface", "",
                  "| port | tensor | elements/beat | bits/element | beats/frame | tdata bits |",
                  "|---|---|---|---|---|---|"]
        for port, io in (("s_axis (in)", self.input), ("m_axis (out)", self.output)):
            lines.append(f"| {port} | {io.shape} {io.dtype} | {io.elements_per_beat} | "
                         f"{io.bits_per_element} | {io.beats_per_frame} | {io.tdata_bits} |")
        lines += ["", "Element 0 of each beat sits in the lowest bits; tensors are channels-last; "
                  "tdata is zero-padded to whole bytes.", ""]
        return "\n".join(lines)
