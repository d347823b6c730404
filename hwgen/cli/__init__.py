"""The ``hwgen`` command: one module per command (build, estimate, import, fold, explore,
sim, compress, run, dataset, flash, demo), each with its ``add_parser(sub)`` and ``run(args)``,
and :mod:`.common` for what they share. The commands only parse and print: the work is done
by the library functions they call (``hwgen.build``, ``hwgen.compress``, ...)."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import warnings
from pathlib import Path

from amaranth.hdl import UnusedElaboratable

from hwgen.cli import (
    build,
    compress,
    dataset,
    demo,
    estimate,
    explore,
    flash,
    fold,
    import_,
    run,
    sim,
)
from hwgen.cli.common import Parser
from hwgen.core.errors import HwgenError

__all__ = ["COMMANDS", "main", "parser"]

COMMANDS = (build, estimate, import_, fold, explore, sim, compress, run, dataset, flash, demo)


def parser() -> argparse.ArgumentParser:
    """The `hwgen` argument parser, one subcommand per command (the CLI reference reads it)."""
    p = Parser(prog="hwgen", description="Quantized neural networks to "
               "bit-exact streaming hardware.")
    sub = p.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(sub)
    return p


def _kill_children() -> None:
    """End this process's descendants (yosys, nextpnr, simulators, the shell of a bitstream
    build): a signal sent to hwgen alone must not leave them running (amaranth's yosys
    runner does not stop its child when interrupted)."""
    parents: dict[str, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        parents.setdefault(ppid, []).append(stat.parent.name)
    todo, tree = [str(os.getpid())], []
    while todo:
        children = parents.get(todo.pop(), [])
        tree += children
        todo += children
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(pid), signal.SIGKILL)


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that cleanup runs and child processes are
    killed (``subprocess.run`` kills its child when interrupted)."""


def _on_sigterm(signum, frame):
    raise Interrupted("terminated")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    previous_int = signal.getsignal(signal.SIGINT) if main_thread else None
    try:
        return args.func(args)
    except HwgenError as err:
        print(f"hwgen: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder the user named: unreadable, unwritable
        where = f"{err.filename}: " if err.filename else ""
        print(f"hwgen: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        # blocks half-built when the signal came would warn at exit that they went unused
        warnings.filterwarnings("ignore", category=UnusedElaboratable)
        if main_thread:  # a second interrupt at shutdown (torch's threads can deliver one
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # late) must not end us by SIGINT
        _kill_children()
        print(f"hwgen: error: {args.command} interrupted; nothing half-written was kept",
              file=sys.stderr)
        return 2
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)
            if argv is not None:  # called from Python: the caller keeps its SIGINT (an
                signal.signal(signal.SIGINT, previous_int)  # ignored one would pass to
                # every process it starts later); the command line exits ignoring it
