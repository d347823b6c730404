"""``hwgen build``: a graph to a folder with Verilog, the normalized graph and a report.

The folder is written in a temporary sibling and moved into place, so a
failure never leaves a half-written output.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .boards import Board
from .estimate import estimate
from .hw.top import Accelerator
from .ir import Graph
from .plan import Plan, plan
from .report import estimate_markdown, write_report
from .verilog import convert

__all__ = ["BuildError", "BuildResult", "build", "module_name"]


class BuildError(RuntimeError):
    """The output folder cannot be written as asked."""


@dataclass
class BuildResult:
    out_dir: Path
    verilog: Path
    top: str
    report: dict
    plan: Plan


def module_name(graph: Graph) -> str:
    """A Verilog identifier for the graph's top module."""
    name = re.sub(r"\W", "_", graph.name) or "top"
    return f"hwgen_{name}" if name[0].isdigit() else name


def _layer_row(lp) -> dict:
    layer = lp.layer
    act, wdt = getattr(layer, "activation", None), getattr(layer, "weight_dtype", None)
    return {"name": layer.name, "op": layer.op, "inputs": list(lp.sources),
            "in_shape": list(lp.x.shape), "in_dtype": lp.x.dtype.name,
            "out_shape": list(lp.y.shape), "out_dtype": lp.y.dtype.name,
            "pe": getattr(layer, "pe", None), "simd": getattr(layer, "simd", None),
            "weight_dtype": None if wdt is None else wdt.name, "acc_bits": lp.acc_bits,
            "activation": None if act is None else act.op,
            "weight_storage": lp.weight_storage, "cycles_per_frame": lp.cycles,
            "fifo_depths": list(lp.fifo_depths),
            "in_stream": lp.in_packing.as_dict(), "out_stream": lp.out_packing.as_dict()}


def make_report(p: Plan, top: str, verilog_file: str, seconds: float) -> dict:
    g = p.graph
    return {
        "hwgen": __version__, "graph": g.name, "top": top, "verilog": verilog_file,
        "generation_seconds": round(seconds, 3),
        "input": {"shape": list(g.input.shape), "dtype": g.input.dtype.name,
                  **p.input.as_dict()},
        "output": {"shape": list(g.output.shape), "dtype": g.output.dtype.name,
                   **p.output.as_dict()},
        "cycles_per_frame": p.cycles, "bottleneck": p.bottleneck.layer.name,
        "layers": [_layer_row(lp) for lp in p.layers],
    }


def report_markdown(report: dict) -> str:
    """The report as a table a person reads."""
    def dash(v):
        return "-" if v is None else str(v)

    lines = [f"# hwgen build: {report['graph']}", "",
             f"Top module `{report['top']}` in `{report['verilog']}` "
             f"(hwgen {report['hwgen']}, generated in {report['generation_seconds']} s).", "",
             "| layer | op | in | out | weights | storage | PE | SIMD | acc bits | activation | "
             "cycles/frame |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in report["layers"]:
        mark = " **(bottleneck)**" if r["name"] == report["bottleneck"] else ""
        lines.append(
            f"| {r['name']} | {r['op']} | {r['in_shape']} {r['in_dtype']} | "
            f"{r['out_shape']} {r['out_dtype']} | {dash(r['weight_dtype'])} | "
            f"{dash(r['weight_storage'])} | {dash(r['pe'])} | "
            f"{dash(r['simd'])} | {dash(r['acc_bits'])} | {dash(r['activation'])} | "
            f"{r['cycles_per_frame']}{mark} |")
    lines += ["", f"**Cycles per frame (pipeline full): {report['cycles_per_frame']}** — set by "
              f"`{report['bottleneck']}`.", "", "## Stream interface", "",
              "| port | tensor | elements/beat | bits/element | beats/frame | tdata bits |",
              "|---|---|---|---|---|---|"]
    for port, key in (("s_axis (in)", "input"), ("m_axis (out)", "output")):
        io = report[key]
        lines.append(f"| {port} | {io['shape']} {io['dtype']} | {io['elements_per_beat']} | "
                     f"{io['bits_per_element']} | {io['beats_per_frame']} | {io['tdata_bits']} |")
    lines += ["", "Element 0 of each beat sits in the lowest bits; tensors are channels-last; "
              "tdata is zero-padded to whole bytes.", ""]
    return "\n".join(lines)


def _replace_dir(tmp: Path, out: Path) -> None:
    """Move the finished ``tmp`` to ``out``, replacing an earlier hwgen build there."""
    if out.exists():
        if not out.is_dir() or (any(out.iterdir()) and not (out / "report.json").exists()):
            raise BuildError(f"{out} exists and is not a hwgen build folder; choose another "
                             "--out or remove it")
        old = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.old-"))
        out.rename(old / "previous")
        try:
            tmp.rename(out)
        except OSError:
            (old / "previous").rename(out)
            raise
        shutil.rmtree(old)
    else:
        tmp.rename(out)


def build(graph: Graph, out_dir: str | Path, board: Board | None = None) -> BuildResult:
    """Generate Verilog and reports for ``graph`` into ``out_dir`` (atomically); with a
    ``board``, the resource/latency estimate for it too (estimate.md/.html, plots)."""
    out = Path(out_dir).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    top_name = module_name(graph)
    p = plan(graph)
    text = convert(Accelerator(p), top_name)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}.tmp-"))
    try:
        verilog_file = f"{top_name}.v"
        (tmp / verilog_file).write_text(text)
        graph.save(tmp / "graph.json")
        report = make_report(p, top_name, verilog_file, time.monotonic() - start)
        markdown = report_markdown(report)
        if board is not None:
            est = estimate(p, board)
            report["estimate"] = est.as_dict()
            write_report(tmp, est)
            markdown += "\n## Estimate\n\n" + estimate_markdown(est).split("\n", 2)[2]
        (tmp / "report.json").write_text(json.dumps(report, indent=1) + "\n")
        (tmp / "report.md").write_text(markdown)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out, out / verilog_file, top_name, report, p)
