"""``hwgen flash``: load a build's bitstream onto its board."""

from __future__ import annotations

from pathlib import Path

from hwgen.cli.common import say
from hwgen.flows.bitstream import flash


def add_parser(sub) -> None:
    fl = sub.add_parser("flash", help="load a build's bitstream onto its board")
    fl.add_argument("dir", help="a folder written by 'hwgen build --bitstream'")
    fl.set_defaults(func=run)


def run(args) -> int:
    say(flash(Path(args.dir)))
    return 0
