"""MkDocs hook: the reference pages that are generated from the code, so they never drift.

A page asks for a generated block with a marker on a line of its own:

- ``<!-- generated:ops -->``: every op in :data:`hwgen.ops.REGISTRY` (name, class,
  docstring, fields) and the two activations;
- ``<!-- generated:cli -->``: every ``hwgen`` subcommand, read from
  :func:`hwgen.cli.parser` (usage, help, arguments);
- ``<!-- generated:layers -->``: the package layers, read from the import-linter
  contract in ``pyproject.toml``;
- ``<!-- generated:boards -->``: every board file in ``boards/``.

Everything here runs offline and only reads; ``mkdocs build --strict`` fails when a marker
names no generator. hwgen's docstrings use reST roles (``:class:`Graph```); the API pages
show them as plain code.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import tomllib
import typing
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKER = re.compile(r"^<!-- generated:([a-z-]+) -->$", re.MULTILINE)
ROLE = re.compile(r":(?:mod|class|func|meth|attr|data|exc|obj):<code>~?")


def _cell(text: str) -> str:
    """Text for one cell of a Markdown table."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _type_name(annotation) -> str:
    if isinstance(annotation, str):
        return annotation
    return getattr(annotation, "__name__", None) or str(annotation).replace("typing.", "")


def _fields_table(cls) -> list[str]:
    rows = ["| field | type | default |", "|---|---|---|"]
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f"`{f.default!r}`"
        elif f.default_factory is not dataclasses.MISSING:
            default = f"`{f.default_factory()!r}`"
        else:
            default = "required"
        rows.append(f"| `{f.name}` | `{_cell(_type_name(f.type))}` | {default} |")
    return rows


def _doc(obj) -> str:
    """A docstring as Markdown: reST's double backticks read the same in Markdown."""
    return inspect.getdoc(obj) or "(no docstring)"


def ops_reference() -> str:
    from hwgen.ir import activations
    from hwgen.ops import REGISTRY

    out = [f"hwgen knows {len(REGISTRY)} ops: "
           + ", ".join(f"[`{name}`](#{name})" for name in sorted(REGISTRY)) + ".", ""]
    for name in sorted(REGISTRY):
        cls = REGISTRY[name]
        out += [f"## `{name}` {{#{name}}}", "",
                f"Class `{cls.__module__}.{cls.__qualname__}`.", "", _doc(cls), "",
                "Fields of the record (the graph file's spelling of them is in "
                "[the graph format](graph-format.md)):", "", *_fields_table(cls), ""]
    out += ["## Activations", "",
            "A weighted layer, `add` and `global_sum_pool` may end with one of these "
            "(`\"activation\"` in the graph file).", ""]
    for cls in (activations.Threshold, activations.Requant):
        out += [f"### `{cls.op}`", "", f"Class `{cls.__module__}.{cls.__qualname__}`.", "",
                _doc(cls), "", *_fields_table(cls), ""]
    return "\n".join(out)


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, tuple[str, argparse.ArgumentParser]]:
    """The subcommands of ``parser`` and their one-line help, in the parser's order."""
    for action in parser._actions:  # argparse keeps them only here
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            return {name: (helps.get(name, ""), sub) for name, sub in action.choices.items()}
    return {}


def _argument_rows(parser: argparse.ArgumentParser) -> list[str]:
    rows = ["| argument | values | default | what it does |", "|---|---|---|---|"]
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        names = ", ".join(f"`{s}`" for s in action.option_strings) or f"`{action.dest}`"
        if action.choices is not None:
            values = " \\| ".join(f"`{c}`" for c in action.choices)
        elif action.nargs == 0:
            values = "flag"
        else:
            values = f"`{action.metavar or action.dest.upper()}`"
            if action.nargs in ("*", "+"):
                values += " ..."
        if action.required and action.option_strings:
            default = "required"
        elif (action.default is None or action.default is False
              or action.default == argparse.SUPPRESS or not action.option_strings):
            default = ""
        else:
            default = f"`{action.default}`"
        rows.append(f"| {names} | {values} | {default} | {_cell(action.help or '')} |")
    return rows


def cli_reference() -> str:
    from hwgen.cli import parser as make_parser

    parser = make_parser()
    commands = _subcommands(parser)
    out = [_cell(parser.description or ""), "",
           "| command | what it does |", "|---|---|"]
    out += [f"| [`hwgen {name}`](#{name}) | {_cell(help_)} |"
            for name, (help_, _) in commands.items()]
    out.append("")
    for name, (help_, sub) in commands.items():
        usage = " ".join(sub.format_usage().split())
        out += [f"## `hwgen {name}` {{#{name}}}", "", help_, "",
                "```text", usage.removeprefix("usage: "), "```", ""]
        if sub.description:
            out += [sub.description, ""]
        out += [*_argument_rows(sub), ""]
    return "\n".join(out)


def layers_diagram() -> str:
    """The import-linter layers contract as a diagram: top imports bottom, never back."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c["layers"] for c in config["contracts"] if c["type"] == "layers")
    width = max(len(layer) for layer in layers)
    lines = ["```text"]
    for i, layer in enumerate(layers):
        parts = [p.strip() for p in layer.split("|")]
        lines.append(("  " + "   |   ".join(parts).center(width + 8)).rstrip())
        if i < len(layers) - 1:
            lines.append(("  " + "v".center(width + 8)).rstrip())
    lines.append("```")
    return "\n".join(lines)


def boards_table() -> str:
    from hwgen.boards import BOARDS, load_board
    from hwgen.targets import FAMILIES

    rows = ["| board | device | family | clock | capacity | bitstream |",
            "|---|---|---|---|---|---|"]
    for name in BOARDS:
        b = load_board(name)
        capacity = ", ".join(f"{int(v) if float(v).is_integer() else v:,} {k}"
                             for k, v in b.capacity.items() if not k.endswith("_bits"))
        family = FAMILIES.get(b.family)
        bitstream = ("Vivado project" if b.vivado else
                     "yes" if b.platform and family and family.bitstream_suffix else "no")
        rows.append(f"| `{name}` | {_cell(b.title)}, {b.device} | {b.family} | "
                    f"{b.clock_mhz:g} MHz | {_cell(capacity) or 'no limit'} | {bitstream} |")
    return "\n".join(rows)


GENERATORS: dict[str, typing.Callable[[], str]] = {
    "ops": ops_reference, "cli": cli_reference, "layers": layers_diagram,
    "boards": boards_table}


def on_page_markdown(markdown: str, page, config, files) -> str:
    def generate(match: re.Match) -> str:
        name = match.group(1)
        if name not in GENERATORS:
            raise ValueError(f"{page.file.src_path}: no generator named {name!r} "
                             f"(known: {', '.join(GENERATORS)})")
        return GENERATORS[name]()

    return MARKER.sub(generate, markdown)


def on_page_content(html: str, page, config, files) -> str:
    """``:class:`~hwgen.Graph``` in a docstring, rendered by mkdocstrings as
    ``:class:<code>~hwgen.Graph</code>``, becomes ``<code>hwgen.Graph</code>``."""
    return ROLE.sub("<code>", html)
