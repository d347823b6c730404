"""``hwgen fold``: PE and SIMD per layer, for a frame rate or the highest that fits a board."""

from __future__ import annotations

from pathlib import Path

from hwgen.analysis.fold import fold
from hwgen.analysis.report import estimate_table, write_report
from hwgen.cli.common import (
    board,
    board_args,
    graph_or_example,
    positive_fps,
    remember_board,
    say,
    seed,
)


def add_parser(sub) -> None:
    f = sub.add_parser(
        "fold", help="choose PE/SIMD per layer for a frame rate or a board",
        description="Choose PE/SIMD per layer. With --target-fps: for the cycle budget the "
        "target allows at the board clock, each layer takes the folding with the fewest "
        "estimated LUTs on the board (logic cells on iCE40: LUTs plus the flip-flops that "
        "take a cell of their own; not the fewest lanes) that meets the budget; without "
        "it: the highest frame rate whose folding fits the board.")
    f.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    board_args(f)
    f.add_argument("--target-fps", type=float, help="frames per second to reach with the "
                   "fewest estimated LUTs (default: the highest frame rate that fits the "
                   "board)")
    f.add_argument("--out", required=True, help="where to write the folded graph (NAME.json)")
    f.add_argument("--report", metavar="DIR", help="write estimate.md/.html and plots there")
    f.add_argument("--seed", type=seed, default=0, help="seed for training an example")
    f.set_defaults(func=run)


def run(args) -> int:
    positive_fps(args.target_fps)
    graph = graph_or_example(args.graph, args.seed)
    target = board(args, graph)
    goal = (f"{args.target_fps:,.0f} frames/s" if args.target_fps
            else "the highest frame rate that fits")
    say(f"folding {graph.name} for {target.name} at {target.clock_mhz:g} MHz: {goal}")
    result = fold(graph, target, args.target_fps, progress=say)
    path = remember_board(result.graph, target, args).save(args.out)
    say("")
    say(estimate_table(result.estimate))
    say(f"folded: {result.estimate.cycles:,} cycles/frame, {result.estimate.fps:,.0f} "
        f"frames/s at {target.clock_mhz:g} MHz; {result.estimate.fit_summary()}")
    say(f"wrote {path} (and .npz); hwgen build takes {target.name} from it")
    if args.report:
        out = Path(args.report)
        write_report(out, result.estimate, explored=result.explored,
                     target_fps=args.target_fps)
        say(f"report: {out / 'estimate.md'}, {out / 'estimate.html'}")
    return 0
