"""The activation a layer may end with (threshold or requant): validation and hardware,
shared by every op that produces an accumulator (dense, conv2d, add)."""

from __future__ import annotations

from amaranth.lib import wiring

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.formulas import requant_bounds, signed_bits
from hwgen.core.limits import MAX_ACC_BITS
from hwgen.hw.blocks.requant import Requantizer
from hwgen.hw.blocks.threshold import ThresholdUnit
from hwgen.ir.activations import Requant, Threshold, activation_from_json, activation_to_json
from hwgen.ir.layer import Arrays
from hwgen.targets import Timing

__all__ = ["SumActivated", "activation_blocks", "activation_from_spec", "activation_spec", "apply",
           "check_activation", "output_dtype"]


def check_activation(where: str, act: Threshold | Requant | None, channels: int,
                     acc: tuple[int, int]) -> None:
    """Validate ``act`` for ``channels`` accumulators in the range ``acc``."""
    if act is None:
        return
    act.check(where, channels)
    if isinstance(act, Requant):
        # requant_bounds works in int64: refuse first what would wrap there. |acc * m| past
        # 2^62 stays past 62 bits whatever rounding (at most 2^61) is added.
        acc_mag = max(-acc[0], acc[1])
        m_mag = max(-int(act.m.min()), int(act.m.max()))
        if acc_mag * m_mag > 1 << MAX_ACC_BITS:
            raise GraphError(f"{where}: requant product acc*m needs more than "
                             f"{MAX_ACC_BITS} bits (accumulator up to {acc_mag:,}, m up to "
                             f"{m_mag:,} in magnitude)")
        plo, phi = requant_bounds(acc, act.m, act.s)
        if signed_bits(plo, phi) > MAX_ACC_BITS:
            raise GraphError(f"{where}: requant product acc*m needs more than "
                             f"{MAX_ACC_BITS} bits")


def activation_blocks(act: Threshold | Requant | None, pe: int, acc: tuple[int, int],
                      timing: Timing, storage: str = "logic") -> list[wiring.Component]:
    """The stream stage that applies ``act`` to ``pe`` accumulators per beat."""
    if isinstance(act, Threshold):
        return [ThresholdUnit(act.thresholds, act.dtype, pe=pe, acc_range=acc, storage=storage,
                              timing=timing)]
    if isinstance(act, Requant):
        return [Requantizer(act.m, act.s, act.dtype, pe=pe, acc_range=acc)]
    return []


def activation_from_spec(name: str, op: str, spec: dict, arrays: Arrays):
    """The optional ``activation`` field of a layer's JSON."""
    act = spec.pop("activation", None)
    return None if act is None else activation_from_json(f"layer {name!r} ({op})", act, arrays)


def activation_spec(act, name: str, arrays: dict) -> dict:
    """The ``activation`` field for a layer's JSON (nothing without one)."""
    return {} if act is None else {"activation": activation_to_json(act, name, arrays)}


def apply(act, acc):
    """The activation's output for accumulators ``acc`` (the raw sum without one)."""
    return acc if act is None else act.apply(acc)


def output_dtype(act, acc: tuple[int, int]) -> DType:
    """The activation's dtype, or the raw sum's ``intN``."""
    return act.dtype if act is not None else DType("int", signed_bits(*acc))


class SumActivated:
    """What the ops whose output is an integer sum with an optional activation on it (add,
    the sum pools) share: the sum's range ``acc``, which :meth:`activated` sets when the
    op infers its output, and the accumulator hooks of :class:`~hwgen.ir.layer.Layer`."""

    acc: tuple[int, int]
    activation: Threshold | Requant | None
    where: str

    def activated(self, channels: int, lo: int, hi: int) -> DType:
        """Set the sum's range to ``lo..hi``, check the activation against it, and return
        the output dtype."""
        self.acc = (lo, hi)
        check_activation(self.where, self.activation, channels, self.acc)
        return output_dtype(self.activation, self.acc)

    @property
    def acc_bits(self) -> int:
        return signed_bits(*self.acc)

    @property
    def acc_range(self) -> tuple[int, int]:
        return self.acc
