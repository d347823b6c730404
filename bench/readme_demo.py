"""The README's demo figures, written by the demo itself: runs ``hwgen demo`` (the digits
MLP, seed 0, every held-out image) from the repository's root, as ``make demo`` does, and
puts the results it printed, from ``results on`` to the ``files:`` line, between the
README's ``<!-- bench:demo -->`` markers, stamped with the commit and the date.
tests/cli/test_cli.py runs the demo again and holds the README to what it prints.

    .venv/bin/python bench/readme_demo.py
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from doctable import ROOT, command_line, stamp, write_region

from hwgen.cli import main


class Tee(io.TextIOBase):
    """What the demo prints, kept, and shown as it comes (as plain lines: not a terminal)."""

    def __init__(self, shown):
        self.shown, self.kept = shown, io.StringIO()

    def write(self, text: str) -> int:
        self.shown.write(text)
        self.shown.flush()
        return self.kept.write(text)

    def isatty(self) -> bool:
        return False


def results(printed: str, root: Path) -> list[str]:
    """The demo's results: the lines from ``results on`` to ``files:``, the folder it ran
    in (``root``) left out of the paths."""
    lines = printed.replace(f"{root}{os.sep}", "").splitlines()
    first = next(k for k, line in enumerate(lines) if line.startswith("results on "))
    last = next(k for k in range(first, len(lines)) if lines[k].startswith("  files: "))
    return lines[first:last + 1]


def run() -> None:
    os.chdir(ROOT)
    tee = Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        status = main(["demo"])
    if status != 0:
        raise SystemExit(f"hwgen demo failed (exit {status}): the README is left alone")
    body = "\n".join([f"*Written by `{command_line()}` at {stamp()}.*", "", "```",
                      *results(tee.kept.getvalue(), ROOT), "```"])
    write_region(ROOT / "README.md", "demo", body)
    print("wrote the demo's results into README.md")


if __name__ == "__main__":
    run()
