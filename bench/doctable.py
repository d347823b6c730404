"""The benchmarks page is written by the benchmarks: a script given ``--docs`` puts its
table between the markers ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` of
``docs/benchmarks.md``, stamped with the commit it ran at and the date, and leaves the rest
of the page alone. Nothing on that page between markers is written by hand.

    table = Table("sim-speed", ["bench", "wall s"])
    table.add("cocotb icarus", f"{wall:.2f}")
    table.write(note="one run, builds excluded")   # when the script was given --docs
"""

from __future__ import annotations

import datetime
import re
import subprocess
import sys
from pathlib import Path

from hwgen.core.files import write_atomic

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "benchmarks.md"


def stamp() -> str:
    """``commit abc1234 on 2025-01-31``; ``+ changes`` when the tree has uncommitted ones."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                                  check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""
    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = " + changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"commit {commit}{dirty} on {datetime.date.today().isoformat()}"


def _cell(value: object) -> str:
    return " ".join(str(value).split()).replace("|", "\\|")


class Table:
    """One benchmark table: a header, rows, and the marked region it replaces. ``when``
    (default: :func:`stamp` now) is for tables written from stored measurements, which
    carry the commit and date they were made at."""

    def __init__(self, name: str, header: list[str], when: str | None = None):
        self.name = name
        self.header = header
        self.when = when
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.header):
            raise ValueError(f"{self.name}: {len(cells)} cells for {len(self.header)} columns")
        self.rows.append([_cell(c) for c in cells])

    def markdown(self, command: str, note: str = "") -> str:
        written = f"*Written by `{command}` at {self.when or stamp()}.*"
        lines = [written + (f" {note}" if note else ""), "",
                 "| " + " | ".join(self.header) + " |",
                 "|" + "---|" * len(self.header)]
        lines += ["| " + " | ".join(row) + " |" for row in self.rows]
        return "\n".join(lines)

    def write(self, note: str = "", command: str | None = None, page: Path = PAGE) -> None:
        """Replace the table's marked region of ``page`` (the markers must be there);
        ``command`` (default: this script's command line) says what wrote it."""
        if command is None:
            command = command_line()
        write_region(page, self.name, self.markdown(command, note))
        print(f"wrote the {self.name} table into {page.relative_to(ROOT)}")


def command_line() -> str:
    """How this script was run (without ``--docs``), to say what wrote a region."""
    args = [a for a in sys.argv[1:] if a != "--docs"]
    return " ".join([f".venv/bin/python bench/{Path(sys.argv[0]).name}", *args])


def read_table(name: str, page: Path = PAGE) -> tuple[str, list[dict[str, str]]]:
    """The stamp line and the rows (column name to cell) of table ``name`` as written into
    ``page``: a script can build on another's committed measurements."""
    match = re.search(rf"<!-- bench:{re.escape(name)} -->\n(.*?)\n<!-- /bench:", page.read_text(),
                      re.DOTALL)
    if match is None:
        raise SystemExit(f"{page}: no <!-- bench:{name} --> region")
    lines = match.group(1).splitlines()
    rows = [[c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line)[1:-1]]
            for line in lines if line.startswith("|")]
    if len(rows) < 2:
        raise SystemExit(f"{page}: the {name} region holds no table")
    return lines[0], [dict(zip(rows[0], row, strict=True)) for row in rows[2:]]


def write_region(page: Path, name: str, body: str) -> None:
    """Replace what stands between ``<!-- bench:NAME -->`` and ``<!-- /bench:NAME -->`` of
    ``page`` (exactly one such region) with ``body``."""
    text = page.read_text()
    begin, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.DOTALL)
    if len(pattern.findall(text)) != 1:
        raise SystemExit(f"{page}: needs exactly one {begin} ... {end} region")
    text = pattern.sub(lambda _: f"{begin}\n{body}\n{end}", text)
    write_atomic(page, lambda f: f.write(text.encode()))
