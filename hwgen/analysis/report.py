"""Estimate reports a person reads: a terminal table, report.md / report.html and plots."""

from __future__ import annotations

import html
import os
import tempfile
from pathlib import Path

from hwgen.analysis.estimate import Estimate, Measured
from hwgen.core.resources import Resources

__all__ = ["estimate_markdown", "estimate_table", "write_report"]

_KINDS = ("lut", "ff", "bram", "dsp")


def _num(v: float) -> str:
    return f"{v:,.1f}" if v != int(v) else f"{int(v):,}"


def _err(est: float, got: float) -> str:
    if got == 0:
        return "exact" if est == 0 else "n/a"
    return f"{100 * (est - got) / got:+.0f}%"


def _rows(e: Estimate, m: Measured | None) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-layer table, with measured columns when present."""
    b = e.board
    units = [b.lut_unit, "FF", f"BRAM ({b.bram_unit})", "DSP"]
    head = ["layer", "op", "PE", "SIMD", "cycles/frame", "latency"]
    for u in units:
        head += [u] if m is None else [f"{u} est", "meas", "err"]
    rows = []

    def res_cells(est: Resources, got: Resources | None) -> list[str]:
        cells = []
        for k in _KINDS:
            v = getattr(est, k)
            cells += [_num(v)] if got is None else [_num(v), _num(getattr(got, k)),
                                                     _err(v, getattr(got, k))]
        return cells

    for k, layer in enumerate(e.layers):
        mark = " *" if layer is e.bottleneck else ""
        op = layer.op if len(layer.inputs) < 2 else f"{layer.op}({', '.join(layer.inputs)})"
        rows.append([layer.name + mark, op, str(layer.pe or "-"), str(layer.simd or "-"),
                     f"{layer.cycles:,}", f"{layer.latency:,}",
                     *res_cells(layer.resources, m.layers[k] if m else None)])
    rows.append(["total", "", "", "", f"{e.cycles:,}", f"{e.latency:,}",
                 *res_cells(e.total, m.top if m else None)])
    return head, rows


def _summary(e: Estimate, m: Measured | None) -> list[str]:
    b = e.board
    lines = [f"{e.graph} on {b.title} ({b.device}, {b.family}), clock {b.clock_mhz:g} MHz",
             f"cycles per frame {e.cycles:,} (bottleneck {e.bottleneck.name}): "
             f"{e.fps:,.0f} frames/s; latency {e.latency:,} cycles = {e.latency_us:,.2f} us"]
    util = e.utilization()
    if util:
        lines.append("utilization (estimate): " + ", ".join(
            f"{k.upper()} {100 * u:.1f}%" for k, u in util.items()))
        lines.append(e.fit_summary())  # the verdict and the resource that decides it
    if m is not None:
        if m.fmax_mhz is not None:
            fps = m.fmax_mhz * 1e6 / e.cycles
            lines.append(f"measured fmax {m.fmax_mhz:.1f} MHz ({m.fmax_note}): up to "
                         f"{fps:,.0f} frames/s; the board clock {b.clock_mhz:g} MHz "
                         f"{'meets' if m.fmax_mhz >= b.clock_mhz else 'MISSES'} timing")
        else:
            lines.append(f"fmax: {m.fmax_note}")
        lines.append("total 'meas' is the whole top synthesized at once; "
                     "layer rows are each stage on its own")
    lines.append(f"model constants: {e.model}")
    return lines


def estimate_table(e: Estimate, m: Measured | None = None) -> str:
    """Aligned plain-text table for the terminal."""
    head, rows = _rows(e, m)
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" if i < 2 else f"{{:>{w}}}" for i, w in enumerate(widths))
    out = [*_summary(e, m), "", fmt.format(*head), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*r) for r in rows]
    out.append("* bottleneck; latency: cycles from the first input beat to the layer's last "
               "output beat of a frame")
    return "\n".join(out)


def estimate_markdown(e: Estimate, m: Measured | None = None,
                      plots: list[str] | None = None) -> str:
    head, rows = _rows(e, m)
    lines = [f"# hwgen estimate: {e.graph} on {e.board.name}", ""]
    lines += [f"- {s}" for s in _summary(e, m)]
    lines += ["", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    lines += ["", "`*` bottleneck. Latency: cycles from the first input beat to the layer's "
              "last output beat of frame 0, pipeline empty."]
    for p in plots or []:
        lines += ["", f"![{p}]({p})"]
    return "\n".join(lines) + "\n"


def _html(e: Estimate, m: Measured | None, plots: list[str]) -> str:
    head, rows = _rows(e, m)
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>"
                   for r in rows)
    items = "".join(f"<li>{html.escape(s)}</li>" for s in _summary(e, m))
    imgs = "".join(f'<p><img src="{html.escape(p)}" alt="{html.escape(p)}"></p>' for p in plots)
    return (f"<!doctype html><meta charset=utf-8><title>hwgen estimate {html.escape(e.graph)}"
            "</title><style>body{font-family:sans-serif}table{border-collapse:collapse}"
            "td,th{border:1px solid #aaa;padding:2px 6px;text-align:right}</style>"
            f"<h1>hwgen estimate: {html.escape(e.graph)} on {html.escape(e.board.name)}</h1>"
            f"<ul>{items}</ul><table><tr>{th}</tr>{body}</table>{imgs}\n")


# what the fit plot draws, as the estimate's utilization names them: logic cells (iCE40,
# with their margin), LUTs, flip-flops, block RAM, DSPs
FIT_RESOURCES = (("cells", "logic cells (with the fit margin)", "o"), ("lut", "LUTs", "o"),
                 ("ff", "flip-flops", "s"), ("bram", "block RAM", "^"), ("dsp", "DSPs", "v"))


def _plots(e: Estimate, explored: list[Estimate], out: Path,
           target_fps: float | None = None) -> list[str]:
    """Per-layer cycle bars, and resources vs frame rate over the explored foldings."""
    try:
        import matplotlib
    except ImportError:
        return []
    matplotlib.use("Agg")
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: searchable, smaller
    import matplotlib.pyplot as plt

    names = []
    fig, ax = plt.subplots(figsize=(7, 0.4 * len(e.layers) + 1.5))
    colors = ["tab:red" if layer is e.bottleneck else "tab:blue" for layer in e.layers]
    ax.barh([layer.name for layer in e.layers], [layer.cycles for layer in e.layers],
            color=colors)
    ax.invert_yaxis()
    ax.set_xlabel("cycles per frame (red: bottleneck)")
    ax.set_title(f"{e.graph}: cycles per layer")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(out / f"cycles.{ext}")
        names.append(f"cycles.{ext}")
    plt.close(fig)
    if len(explored) > 1:
        fig, ax = plt.subplots(figsize=(7, 4.5))
        fps = [x.fps for x in explored]
        for kind, label, marker in FIT_RESOURCES:
            use = [x.utilization().get(kind) for x in explored]
            if any(u is not None and u > 0 for u in use):
                ax.plot(fps, [100 * (u or 0) for u in use], marker + "-", label=label)
        ax.axhline(100, color="gray", ls=":", label=f"{e.board.name}: all of it")
        ax.axvline(e.fps, color="tab:red", ls="--", label=f"chosen: {e.cycles:,} cycles/frame")
        if target_fps:
            ax.axvline(target_fps, color="tab:green", ls="-.",
                       label=f"target: {target_fps:,.0f} frames/s")
        ax.set_xscale("log")
        ax.set_xlabel(f"frames per second at {e.board.clock_mhz:g} MHz\n(a point per cycle "
                      "budget: every layer folded to at most that many cycles)")
        ax.set_ylabel(f"estimated % of {e.board.name}")
        ax.set_title(f"{e.graph}: foldings explored; the fullest resource decides the fit")
        ax.legend(fontsize="small")
        fig.tight_layout()
        for ext in ("png", "svg"):
            fig.savefig(out / f"folding.{ext}")
            names.append(f"folding.{ext}")
        plt.close(fig)
    return names


def write_report(out: Path, e: Estimate, m: Measured | None = None,
                 explored: list[Estimate] | None = None,
                 target_fps: float | None = None) -> None:
    """estimate.md, estimate.html and the plots (PNG and SVG) into the folder ``out``
    (created if missing). Each file is written whole beside it first, then moved in, so a
    failure leaves no half-written report."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out, prefix=".estimate-") as tmp:
        stage = Path(tmp)
        names = _plots(e, explored or [], stage, target_fps)
        pngs = [n for n in names if n.endswith(".png")]
        (stage / "estimate.md").write_text(estimate_markdown(e, m, pngs))
        (stage / "estimate.html").write_text(
            _html(e, m, [n for n in names if n.endswith(".svg")]))
        for name in [*names, "estimate.md", "estimate.html"]:
            os.replace(stage / name, out / name)
