"""``hwgen explore``: place and route the best foldings x clock targets x placement seeds on
a Dask cluster, and keep the fastest design that really places."""

from __future__ import annotations

import argparse
import math

from hwgen.cli.common import board, cluster_args, count, graph_or_example, say
from hwgen.flows.explore import explore


def _positive(unit: str):
    """An argument type: a positive, finite number of ``unit``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise argparse.ArgumentTypeError(f"must be a positive number of {unit}, got "
                                             f"{text!r}")
        return value
    return parse


def _percent(text: str) -> float:
    """``--over``: a percentage from 0 to 1000."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 <= value <= 1000:
        raise argparse.ArgumentTypeError(f"must be a percentage from 0 to 1000, got {text!r}")
    return value


def add_parser(sub) -> None:
    e = sub.add_parser(
        "explore", help="place and route foldings x clocks x seeds in parallel (Dask)",
        description="Design exploration: the K fastest foldings on the fold search's Pareto "
        "front that fit by the estimate, each pipelined for every clock target and placed "
        "with every nextpnr seed, one Dask job each, with the flow of build --bitstream. "
        "Each result is appended to OUT/explore.jsonl as it completes; a rerun skips those "
        "there. At the end: OUT/explore.md and .html (the table), OUT/pareto.png/.svg and "
        "OUT/best/, the bitstream folder of the placed design with the most frames/s.")
    e.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    e.add_argument("--board", required=True, help="an iCE40, ECP5 or Gowin board, or a "
                   "board .toml file")
    e.add_argument("--out", required=True, metavar="DIR", help="the exploration folder")
    how = e.add_mutually_exclusive_group()
    how.add_argument("--foldings", type=count, default=3, metavar="K",
                     help="foldings to try, the fastest on the Pareto front (default 3)")
    how.add_argument("--as-folded", dest="foldings", action="store_const", const=0,
                     help="the graph's own folding only, no fold search (to sweep clocks "
                     "and seeds)")
    e.add_argument("--clocks", type=_positive("MHz"), nargs="+", default=[], metavar="MHZ",
                   help="clock targets to pipeline for (default: the board's clock)")
    e.add_argument("--seeds", type=count, default=1, metavar="N",
                   help="nextpnr placement seeds 1..N per design (default 1)")
    e.add_argument("--over", type=_percent, default=0, metavar="PCT",
                   help="also foldings the estimate puts up to PCT %% over the board (its "
                   "margin is the worst case measured; nextpnr decides)")
    cluster_args(e, "one process per core")
    e.add_argument("--timeout", type=_positive("minutes"), metavar="MIN",
                   help="minutes one candidate's tools may take; past it, it is recorded as "
                   "stopped")
    e.set_defaults(func=run)


def run(args) -> int:
    graph = graph_or_example(args.graph, 0)
    target = board(args, graph)
    result = explore(graph, target, args.out, foldings=args.foldings, clocks=args.clocks,
                     seeds=args.seeds, cluster=args.cluster, workers=args.workers,
                     timeout=None if args.timeout is None else 60 * args.timeout,
                     over=args.over,
                     progress=say)
    say("")
    say(result.table())
    say(f"\n{result.started} candidates placed and routed now, "
        f"{len(result.results) - result.started} recorded before; "
        f"{result.out / 'explore.md'}, {result.out / 'explore.html'}")
    if result.best is None:
        say("no candidate placed: fold smaller (--foldings more), or a larger board")
        return 1
    b = result.best
    say(f"best: {b.folding_text()} pipelined for {b.clock_mhz:g} MHz, seed {b.seed}: fmax "
        f"{b.fmax_mhz:g} MHz, {b.fps:,.0f} frames/s -> {result.out / 'best'}")
    return 0
