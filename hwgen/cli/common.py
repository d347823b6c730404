"""What the commands share: the error and printing of the command line, the options of a
board, the reading of a graph-or-example argument and of a frames file, and the printing of
a build and of a simulation."""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import zipfile
import zlib
from pathlib import Path

import numpy as np

from hwgen.boards import BOARDS, Board, load_board
from hwgen.core.errors import HwgenError
from hwgen.examples import graph_or_example as load_graph_or_example
from hwgen.flows.build import BuildResult
from hwgen.ir.graph import Graph
from hwgen.sim.runner import SimResult

__all__ = ["DEFAULT_BOARD", "CliError", "Parser", "board", "board_args", "cluster_args",
           "count", "graph_or_example", "load_frames", "positive_fps", "print_build",
           "print_sim", "remember_board", "say", "seed"]

DEFAULT_BOARD = "icebreaker"


class CliError(HwgenError):
    """A user-facing error: printed as one line, exit status 2."""


def say(msg: str) -> None:
    print(msg, flush=True)


class Parser(argparse.ArgumentParser):
    """argparse with hwgen's error format: one line, exit status 2."""

    def error(self, message: str):
        print(f"hwgen: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed must be 0..{2**32 - 1}, got {value}")
    return value


def count(text: str) -> int:
    """An argument that counts something: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {value}")
    return value


def cluster_args(p: argparse.ArgumentParser, without: str) -> None:
    """Where a batch of jobs runs (:mod:`hwgen.core.jobs`): a Dask scheduler, or local
    worker processes; ``without`` says what happens with neither option."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--cluster", metavar="ADDRESS", help="a running Dask scheduler "
                       "(tcp://HOST:8786) whose workers run the jobs, on any machine "
                       "(pip install 'hwgen[cluster]' on each)")
    where.add_argument("--workers", type=count, metavar="N", help="worker processes of a "
                       f"local Dask cluster (without either option: {without})")


def board_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", help=f"{', '.join(BOARDS)}, or a board .toml file (default: the "
                   "board the graph was folded for, else icebreaker)")
    p.add_argument("--clock", type=float, metavar="MHZ", help="clock instead of the board's")


def board(args, graph: Graph | None = None) -> Board:
    """The board asked for with --board; else the one the graph was folded for (``meta``),
    said so; else the default, said so (not into ``--json`` output, which names it)."""
    tell = (lambda msg: None) if getattr(args, "json", False) else say
    if args.board:
        found = load_board(args.board)
    elif graph is not None and isinstance(graph.meta.get("board"), str):
        found = load_board(graph.meta["board"])
        tell(f"board: {found.name}, which {graph.name} was folded for (--board overrides)")
    else:
        found = load_board(DEFAULT_BOARD)
        tell(f"board: {DEFAULT_BOARD}, the default (--board names another)")
    if getattr(args, "clock", None) is not None:
        if not (math.isfinite(args.clock) and args.clock > 0):
            raise CliError(f"--clock must be a positive number of MHz, got {args.clock:g}")
        found = dataclasses.replace(found, clock_mhz=args.clock)
    return found


def remember_board(graph: Graph, folded_for: Board, args) -> Graph:
    """``graph`` with the board it was folded for in its metadata (a board file by its
    path), which ``build``, ``estimate`` and ``fold`` use when no --board is given."""
    name = args.board or graph.meta.get("board") or folded_for.name
    if name not in BOARDS:
        name = str(Path(name).resolve())
    return Graph(graph.name, graph.input, graph.layers, {**graph.meta, "board": name})


def graph_or_example(source: str, seed: int) -> Graph:
    """The graph file or the example (trained, its steps said) that an argument names."""
    return load_graph_or_example(source, seed, progress=say)


def positive_fps(fps: float | None) -> None:
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise CliError(f"--target-fps must be a positive number, got {fps:g} "
                       "(leave it out for the fastest folding that fits)")


def load_frames(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays ``x`` (or the only array) and ``y`` (labels, if there) of an npz file;
    nothing pickled is loaded."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise CliError(f"{path}: an .npy array, not an npz archive; save it with "
                           "numpy.savez(path, x=array)")
        with data:
            keys = data.files
            if "x" not in keys and len(keys) != 1:
                raise CliError(f"{path}: expected an array named 'x' (found "
                               f"{', '.join(keys) or 'none'})")
            return data["x" if "x" in keys else keys[0]], data["y"] if "y" in keys else None
    except CliError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise CliError(f"{path}: not a readable npz file ({err})") from None


def print_build(result: BuildResult) -> None:
    r = result.report
    say(f"built {r.graph} in {r.generation_seconds} s -> {result.out_dir}")
    for row in r.layers:
        fold = " ".join(f"{k}={v}" for k, v in (("PE", row.pe), ("SIMD", row.simd)) if v)
        acc = f"acc {row.acc_bits} bits" if row.acc_bits else ""
        joins = f" <- {' + '.join(row.inputs)}" if len(row.inputs) > 1 else ""
        say(f"  {row.name:<10} {row.op:<9} {row.in_shape!s:>10} {row.in_dtype:<6}"
            f" -> {row.out_shape!s:<10} {row.out_dtype:<6} {fold:<14} {acc:<13} "
            f"{row.cycles_per_frame} cycles/frame"
            f"{' at most (zero skip)' if row.zero_skip else ''}{joins}")
    for port, io in (("s_axis", r.input), ("m_axis", r.output)):
        say(f"  {port}: {io.elements_per_beat} x {io.bits_per_element}-bit elements per "
            f"beat, {io.beats_per_frame} beats/frame, tdata {io.tdata_bits} bits")
    say(f"  cycles per frame: {r.cycles_per_frame} (bottleneck {r.bottleneck})")
    written = sorted(p.name for p in result.out_dir.iterdir() if not p.name.startswith("."))
    say(f"  files: {', '.join(written)}")


def print_sim(result: SimResult) -> None:
    status = "bit-exact" if result.mismatches == 0 else f"{result.mismatches} MISMATCHES"
    say(f"  {result.frames} frames x 2 phases: {status} against hwgen.reference")
    say(f"  cycles per frame: {result.cycles_per_frame} measured, "
        f"{result.expected_cycles_per_frame} by formula; latency {result.latency_cycles} "
        f"cycles; {result.wall_seconds} s wall")
    for error in result.beat_errors:
        say(f"  {error}")
    if result.first_mismatch:
        fm = result.first_mismatch
        got = "nothing" if fm["got"] is None else fm["got"]
        say(f"  first mismatch: phase {fm['phase']}, frame {fm['frame']}, element "
            f"{fm['index']}: expected {fm['expected']}, got {got}")
