"""Generated hardware: one Amaranth ``wiring.Component`` per block, one file per block."""
