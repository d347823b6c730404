"""``hwgen import``: a QONNX / Brevitas ONNX model to a hwgen graph, folded for a board if
one is named (the module is ``import_``: ``import`` is a Python keyword)."""

from __future__ import annotations

import time

from hwgen.analysis.fold import fold
from hwgen.cli.common import board, positive_fps, remember_board, say
from hwgen.frontends import qonnx


def add_parser(sub) -> None:
    i = sub.add_parser("import", help="a QONNX / Brevitas ONNX model to a hwgen graph")
    i.add_argument("model", help="MODEL.onnx (QONNX, as brevitas.export.export_qonnx writes)")
    i.add_argument("--out", required=True, help="the graph to write (NAME.json and NAME.npz)")
    i.add_argument("--board", help="fold for this board: the fastest folding that fits, or "
                   "with --target-fps the cheapest that reaches it")
    i.add_argument("--clock", type=float, metavar="MHZ", help="clock instead of the board's")
    i.add_argument("--target-fps", type=float, help="frames per second to reach")
    i.add_argument("--input-dtype", help="integer format of an input that has no quantizer "
                   "in the model (e.g. uint8 for 8-bit RGB, as BNN-PYNQ's ResNet18 assumes)")
    i.set_defaults(func=run)


def run(args) -> int:
    positive_fps(args.target_fps)
    start = time.monotonic()
    graph, report = qonnx.load(args.model, input_dtype=args.input_dtype)
    say(report.table())
    say(f"imported {graph.name}: {len(graph.layers)} layers in "
        f"{time.monotonic() - start:.1f} s")
    if args.board or args.target_fps:
        target = board(args)
        result = fold(graph, target, args.target_fps)
        graph = remember_board(result.graph, target, args)
        say(f"folded for {target.name}: {result.estimate.cycles:,} cycles/frame, "
            f"{result.estimate.fps:,.0f} frames/s at {target.clock_mhz:g} MHz; "
            f"{result.estimate.fit_summary()}")
    else:
        say("folding: one multiply per cycle in every layer (PE = SIMD = 1); pass --board or "
            "--target-fps, or run hwgen fold")
    path = graph.save(args.out)
    say(f"wrote {path} (and .npz)")
    return 0
