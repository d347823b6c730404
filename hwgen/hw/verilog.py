"""Verilog emission for generated components.

Amaranth's ``verilog.convert`` keeps combinational logic as ``always @*``
processes (``proc -nomux``) and relies on a Yosys trick to run them at time 0.
Icarus Verilog 11 runs declaration initializers before processes wait, so a
process whose inputs never change after reset (say a per-channel table looked
up at index 0) stays X there. Lowering processes fully (``proc``) turns them
into continuous assignments, which every simulator evaluates at time 0, and
changes nothing for synthesis.
"""

from __future__ import annotations

from amaranth._toolchain.yosys import find_yosys
from amaranth.back import rtlil
from amaranth.lib import wiring

__all__ = ["convert"]


def convert(top: wiring.Component, name: str) -> str:
    """Verilog text of ``top`` as module ``name``, ports named after its signature."""
    text = rtlil.convert(top, name=name, emit_src=False)
    yosys = find_yosys(lambda ver: ver >= (0, 40))
    script = "\n".join([f"read_rtlil <<rtlil\n{text}\nrtlil", "proc", "opt_clean",
                        "write_verilog"])
    return yosys.run(["-q", "-"], script, ignore_warnings=True)
