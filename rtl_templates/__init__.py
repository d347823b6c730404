"""Hand-written Verilog/Tcl/constraint templates (board tops, vendor project scripts),
installed as ``hwgen.rtl_templates`` and read with :mod:`importlib.resources`."""
