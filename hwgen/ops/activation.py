"""The activation a layer may end with (threshold or requant): validation and hardware,
shared by every op that produces an accumulator (dense, conv2d, add)."""

from __future__ import annotations

from amaranth.lib import wiring

from ..formulas import requant_bounds, signed_bits
from ..hw.requant import Requantizer
from ..hw.threshold import ThresholdUnit
from ..ir import MAX_ACC_BITS, GraphError, Requant, Threshold

__all__ = ["activation_blocks", "check_activation"]


def check_activation(where: str, act: Threshold | Requant | None, channels: int,
                     acc: tuple[int, int]) -> None:
    """Validate ``act`` for ``channels`` accumulators in the range ``acc``."""
    if act is None:
        return
    act.check(where, channels)
    if isinstance(act, Requant):
        plo, phi = requant_bounds(acc, act.m, act.s)
        if signed_bits(plo, phi) > MAX_ACC_BITS:
            raise GraphError(f"{where}: requant product acc*m needs more than "
                             f"{MAX_ACC_BITS} bits")


def activation_blocks(act: Threshold | Requant | None, pe: int, acc: tuple[int, int],
                      storage: str = "logic") -> list[wiring.Component]:
    """The stream stage that applies ``act`` to ``pe`` accumulators per beat."""
    if isinstance(act, Threshold):
        return [ThresholdUnit(act.thresholds, act.dtype, pe=pe, acc_range=acc, storage=storage)]
    if isinstance(act, Requant):
        return [Requantizer(act.m, act.s, act.dtype, pe=pe, acc_range=acc)]
    return []
