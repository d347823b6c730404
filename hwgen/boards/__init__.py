"""Target boards: device, family, capacities and clock, one TOML file per board."""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from hwgen.core.errors import BoardError
from hwgen.targets import FAMILIES, Timing

__all__ = ["BOARDS", "DEFAULT_BAUD", "Board", "BoardError", "as_board", "load_board"]

DEFAULT_BAUD = 115_200  # the host link's, where a board file names none

_DIR = resources.files(__name__)
BOARDS = tuple(sorted(p.name.removesuffix(".toml") for p in _DIR.iterdir()
                      if p.name.endswith(".toml")))


@dataclass(frozen=True)
class Board:
    name: str
    title: str
    device: str
    family: str  # ice40, ecp5, xilinx, generic
    clock_mhz: float
    toolchain: str
    nextpnr: tuple[str, ...]  # device arguments of yowasp-nextpnr-<family>
    capacity: dict[str, float]  # lut, ff, bram, dsp (bram_bits: bits per block); empty: ASIC
    platform: str | None = None  # "module:Class" of its amaranth-boards platform
    baud: int = DEFAULT_BAUD  # the host link's
    vivado: str | None = None  # the Vivado project flow of a Xilinx board (hwgen.flows.vivado)
    openfpgaloader: str | None = None  # the board's name for openFPGALoader (-b), to flash
    # package pins for the two-pin place-and-route wrapper (clk, rst, sin, sout), where
    # nextpnr refuses unconstrained IO (Gowin)
    pnr_pins: dict[str, str] = field(default_factory=dict)

    @property
    def bram_unit(self) -> str:
        return FAMILIES[self.family].bram_unit

    @property
    def timing(self) -> Timing:
        """The clock designs for this board are pipelined for."""
        return Timing(self.family, self.clock_mhz)

    @property
    def lut_unit(self) -> str:
        return FAMILIES[self.family].lut_unit


def as_board(board: Board | str | Path) -> Board:
    """A board as given, or loaded by name or file (:func:`load_board`)."""
    return board if isinstance(board, Board) else load_board(board)


def load_board(name: str | Path) -> Board:
    """A board by name (see ``BOARDS``) or from a TOML file of the same form."""
    path = Path(name) if str(name).endswith(".toml") else None
    if path is None:
        if name not in BOARDS:
            raise BoardError(f"unknown board {name!r}; known: {', '.join(BOARDS)} "
                             "(or a path to a .toml board file)")
        text, label = (_DIR / f"{name}.toml").read_text(), str(name)
    else:
        try:
            text, label = path.read_text(), path.stem
        except OSError as e:
            raise BoardError(f"cannot read board file {path}: {e.strerror}") from None
    try:
        doc = tomllib.loads(text)
        board = Board(name=label, title=doc["title"], device=doc["device"],
                      family=doc["family"], clock_mhz=float(doc["clock_mhz"]),
                      toolchain=doc["toolchain"], nextpnr=tuple(doc.get("nextpnr", ())),
                      capacity={k: float(v) for k, v in doc.get("capacity", {}).items()},
                      platform=doc.get("platform"), baud=int(doc.get("baud", DEFAULT_BAUD)),
                      vivado=doc.get("vivado"), openfpgaloader=doc.get("openfpgaloader"),
                      pnr_pins={k: str(v) for k, v in doc.get("pnr_pins", {}).items()})
    except (tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise BoardError(f"board {label}: malformed board file ({e})") from None
    if board.family not in FAMILIES:
        raise BoardError(f"board {label}: family {board.family!r}; allowed: "
                         f"{', '.join(FAMILIES)}")
    if not (math.isfinite(board.clock_mhz) and board.clock_mhz > 0):
        raise BoardError(f"board {label}: clock_mhz must be a positive number of MHz, got "
                         f"{board.clock_mhz:g}")
    for kind, cap in board.capacity.items():
        if not (math.isfinite(cap) and cap >= (1 if kind in ("lut", "ff") else 0)):
            raise BoardError(f"board {label}: capacity {kind} = {cap:g} is not a count a "
                             "device has")
    return board
