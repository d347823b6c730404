"""``hwgen run``: classify frames on a board over its UART (:class:`hwgen.flows.link.
Accelerator` talks to it; this prints what came back)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hwgen.cli.common import CliError, load_frames, say
from hwgen.flows import link


def add_parser(sub) -> None:
    r = sub.add_parser("run", help="classify frames on a board over its UART")
    r.add_argument("dir", help="a folder written by 'hwgen build --bitstream'")
    r.add_argument("inputs", help="npz with an array 'x' of input values (frames, ...) and "
                   "optionally 'y', labels to score against")
    r.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB1")
    r.add_argument("--baud", type=int, help="default: the rate the bitstream was built for")
    r.add_argument("--show", type=int, default=10, help="results to print (default 10)")
    r.add_argument("--save", help="write the results to this npz (array 'y')")
    r.set_defaults(func=run)


def run(args) -> int:
    accelerator = link.Accelerator.load(Path(args.dir))
    x, y = load_frames(args.inputs)
    x = accelerator.frames(x)
    if y is not None and len(y) != len(x):
        raise CliError(f"{args.inputs}: {len(y)} labels 'y' for {len(x)} frames 'x'")
    baud = args.baud or accelerator.baud
    port = link.open_port(args.port, baud)
    say(f"sending {len(x)} frames to {args.port} at {baud:,} baud")
    try:
        done = accelerator.run(port, x, progress=_every_hundred)
    finally:
        port.close()
    for k, got in enumerate(done.outputs[:args.show]):
        say(f"  frame {k}: {got.ravel().tolist()}"
            + (f" (label {int(y[k])})" if y is not None else ""))
    say(f"{len(x)} frames in {done.seconds:.2f} s: {done.fps:,.1f} frames/s measured; the "
        f"UART allows {accelerator.line_fps(baud):,.1f} frames/s at {baud:,} baud, the "
        f"accelerator {accelerator.fps:,.0f} at {accelerator.clock_mhz:g} MHz")
    if y is not None and accelerator.graph.output.size == 1:
        right = int((done.outputs.reshape(-1) == y.reshape(-1)).sum())
        say(f"accuracy against the labels: {right}/{len(y)} = {right / len(y):.2%}")
    if args.save:
        np.savez(args.save, y=done.outputs)
        say(f"wrote {args.save}")
    return 0


def _every_hundred(frames: int) -> None:
    if frames % 100 == 0:
        say(f"  {frames} frames")
