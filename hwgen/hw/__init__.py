"""Generated hardware: one Amaranth ``wiring.Component`` per block, one file per block."""

from amaranth.lib import wiring

__all__ = ["silenced"]


def silenced(blocks: list[wiring.Component]) -> list[wiring.Component]:
    """Blocks built only to be described (latency, cost), never elaborated: Amaranth would
    warn that they are unused."""
    for block in blocks:
        block._MustUse__silence = True
    return blocks
