"""The protocol every op implements (:class:`Layer`), the tensors between layers, and the
helpers that read and check an op's JSON fields. An op is a :class:`Layer` subclass in
:mod:`hwgen.ops`; this module knows only the protocol.

Every hook its callers use is declared here: the JSON fields (:meth:`Layer.from_spec`,
:meth:`Layer.spec`), validation and the output tensor (:meth:`Layer.infer`), legal foldings
(:meth:`Layer.fold_error`, :meth:`Layer.foldings`), the reference step, the stream plan,
the beat bookkeeping the FIFO sizing needs (:meth:`Layer.needs`, :meth:`Layer.consumed`),
the accumulator range a front end folds an activation into (:attr:`Layer.acc_range`),
the hardware blocks (:meth:`Layer.blocks`), whether the beat schedule times them exactly
(:attr:`Layer.exact_schedule`), and the small graphs the cocotb op matrix simulates
(:meth:`Layer.examples`).
"""

from __future__ import annotations

import math
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from hwgen.core.dtypes import DType
from hwgen.core.errors import GraphError
from hwgen.core.limits import MAX_ARRAY_ELEMENTS, MAX_TENSOR_ELEMENTS

if TYPE_CHECKING:
    from amaranth.lib import wiring

    from hwgen.ir.graph import Graph
    from hwgen.ir.plan import LayerPlan

__all__ = ["NPZ_ERRORS", "Arrays", "Layer", "Tensor", "check_in_dtype", "check_size",
           "int_array", "no_extra", "pair", "parse_dtype", "positive"]


@dataclass(frozen=True)
class Tensor:
    """Shape (without the batch axis, channels last) and dtype of a stream."""

    shape: tuple[int, ...]
    dtype: DType

    @property
    def size(self) -> int:
        return math.prod(self.shape)


def int_array(where: str, what: str, array: Any, shape: tuple[int, ...] | None) -> np.ndarray:
    """``array`` as int64, after checking that it holds integers that int64 holds (an
    unsigned 64-bit value above 2^63 - 1 would wrap to a negative one)."""
    array = np.asarray(array)
    if array.dtype.kind not in "iu":
        raise GraphError(f"{where}: {what} must be an integer array, got {array.dtype}")
    if array.size > MAX_ARRAY_ELEMENTS:
        raise GraphError(f"{where}: {what} has {array.size:,} elements, more than the limit "
                         f"of {MAX_ARRAY_ELEMENTS:,}")
    if array.dtype.kind == "u" and array.size and int(array.max()) > np.iinfo(np.int64).max:
        raise GraphError(f"{where}: {what} has values above 2^63 - 1 ({int(array.max())})")
    array = array.astype(np.int64)
    if shape is not None and array.shape != shape:
        raise GraphError(f"{where}: {what} must have shape {list(shape)}, got {list(array.shape)}")
    return array


def check_in_dtype(where: str, what: str, array: np.ndarray, dtype: DType) -> None:
    if not dtype.contains(array):
        allowed = "-1 or +1" if dtype.kind == "bin" else f"{dtype.min}..{dtype.max}"
        raise GraphError(f"{where}: {what} has values outside {dtype} (allowed {allowed}; "
                         f"found {int(array.min())}..{int(array.max())})")


def positive(where: str, what: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise GraphError(f"{where}: {what} must be a positive integer, got {value!r}")
    return int(value)


def pair(where: str, what: str, value: Any, *, minimum: int = 1) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair) != 2 or not all(isinstance(v, int | np.integer) and v >= minimum for v in pair):
        raise GraphError(f"{where}: {what} must be an integer >= {minimum} or a pair of them, "
                         f"got {value!r}")
    return int(pair[0]), int(pair[1])


NPZ_ERRORS = (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error)


class Arrays:
    """The npz beside a graph file: arrays looked up by the keys the JSON names. Only those
    are read, each after its size is checked; unused members are never loaded."""

    def __init__(self, data: Mapping[str, Any], source: str):
        self.data = data
        self.source = source

    def _load(self, where: str, key: str) -> Any:
        npz = self.data
        if isinstance(npz, np.lib.npyio.NpzFile):
            info = npz.zip.getinfo(f"{key}.npy")
            if info.file_size > 8 * MAX_ARRAY_ELEMENTS + 4096:
                raise GraphError(f"{where}: array {key!r} in {self.source} holds "
                                 f"{info.file_size:,} bytes, more than the limit of "
                                 f"{MAX_ARRAY_ELEMENTS:,} elements")
        try:
            return npz[key]
        except NPZ_ERRORS as err:
            raise GraphError(f"{where}: array {key!r} in {self.source} is unreadable "
                             f"({err})") from None

    def get(self, where: str, spec: dict, field_name: str, *, optional: bool = False):
        key = spec.pop(field_name, None)
        if key is None:
            if optional:
                return None
            raise GraphError(f"{where}: missing field {field_name!r}")
        if not isinstance(key, str) or key not in self.data:
            raise GraphError(f"{where}: {field_name} refers to array {key!r}, which "
                             f"{self.source} does not hold")
        return self._load(where, key)


def no_extra(where: str, spec: dict) -> None:
    if spec:
        raise GraphError(f"{where}: unknown field(s) {', '.join(sorted(spec))}")


def parse_dtype(where: str, name: Any, what: str = "dtype") -> DType:
    """``name`` as a DType; ``what`` names the field in the error ("weight_dtype"...)."""
    if name is None:
        raise GraphError(f"{where}: missing {what}")
    try:
        return DType.parse(name)
    except ValueError as err:  # "unknown dtype 'int33'; ...": say which field
        raise GraphError(f"{where}: {str(err).replace('dtype', what, 1)}") from None




@dataclass
class Layer:
    """Base of all ops: a name, the tensors it reads, and everything the op knows of itself.

    Subclasses (one module each in :mod:`hwgen.ops`) own their JSON fields
    (:meth:`from_spec`, :meth:`spec`), their validation and output tensor
    (:meth:`infer`), their legal foldings (:meth:`fold_error`, the one rule that
    validation, the plan and the fold search use), their reference step, their
    stream plan, the hardware blocks they instantiate, and the example graphs that test
    them in simulation (:meth:`examples`).
    """

    name: str
    inputs: list[str] | None = field(default=None, kw_only=True)
    op: ClassVar[str] = ""
    arity: ClassVar[int] = 1  # number of input tensors
    folds: ClassVar[tuple[str, ...]] = ()  # folding knobs this op has: "pe", "simd"

    @property
    def where(self) -> str:
        return f"layer {self.name!r} ({self.op})"

    # -- JSON ---------------------------------------------------------------------------------

    @classmethod
    def from_spec(cls, name: str, spec: dict, arrays: Arrays) -> Layer:
        """The layer from its JSON fields (``spec`` holds the op's own fields; each one
        read is popped, leftovers are reported as unknown)."""
        return cls(name)

    def spec(self, arrays: dict[str, np.ndarray]) -> dict:
        """The op's own JSON fields; arrays go into ``arrays`` under the keys named."""
        return {}

    # -- shape, validation, folding -----------------------------------------------------------

    def infer(self, xs: list[Tensor]) -> Tensor:  # pragma: no cover - abstract
        """Validate against the input tensors and return the output tensor."""
        raise NotImplementedError

    def fold_candidates(self, xs: list[Tensor]) -> tuple[list[int], list[int]]:
        """PE and SIMD values worth trying (filtered by :meth:`fold_error`)."""
        return [1], [1]

    def fold_error(self, xs: list[Tensor], pe: int, simd: int) -> str | None:
        """Why the hardware cannot take folding (pe, simd), or None when it can."""
        return None

    def cycles_at(self, xs: list[Tensor], y: Tensor, pe: int, simd: int) -> int:
        """Cycles per frame at a legal folding (ops with folding knobs)."""
        raise NotImplementedError  # pragma: no cover - only ops with folds

    def foldings(self, xs: list[Tensor], y: Tensor) -> list[tuple[int, int, int]]:
        """(cycles, pe, simd) of every legal folding, fewest lanes first."""
        pes, simds = self.fold_candidates(xs)
        options = [(self.cycles_at(xs, y, pe, simd), pe, simd) for pe in pes for simd in simds
                   if self.fold_error(xs, pe, simd) is None]
        return sorted(options, key=lambda o: (o[1] * o[2], o[0]))

    def _check_folding(self, xs: list[Tensor]) -> None:
        for knob in self.folds:
            setattr(self, knob, positive(self.where, knob, getattr(self, knob)))
        err = self.fold_error(xs, getattr(self, "pe", 1), getattr(self, "simd", 1))
        if err:
            raise GraphError(f"{self.where}: {err}")

    # -- semantics ----------------------------------------------------------------------------

    def reference(self, xs: list[np.ndarray]) -> np.ndarray:  # pragma: no cover - abstract
        """Output values (int64) for input values, each (N, *shape)."""
        raise NotImplementedError

    # -- hardware -----------------------------------------------------------------------------

    def stream_plan(self, xs: list[Tensor], y: Tensor, upstream: list[int | None]
                    ) -> tuple[list[int], int, int]:
        """(elements per beat of each input, elements per output beat, cycles per frame);
        ``upstream``: elements per beat of each input's producer (None: the graph input)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def fifo_depths(self, xs: list[Tensor], elems: list[int]) -> list[int]:
        """Beats of the FIFO in front of each input: one frame (a layer that buffers rows
        itself needs only one row)."""
        return [max(2, x.size // e) for x, e in zip(xs, elems, strict=True)]

    @property
    def acc_bits(self) -> int | None:
        return None

    @property
    def acc_range(self) -> tuple[int, int] | None:
        """The range of the integer sum an activation of this layer acts on (dense, conv2d:
        the accumulator with its bias; add, global_sum_pool: the sum), or None for ops
        without one. Front ends fold a float tail into thresholds over it."""
        return None

    @property
    def storage(self) -> str | None:
        """Where constant tables live ("logic" or "bram"), for ops that have them."""
        return None

    def needs(self, lp: LayerPlan) -> tuple[list[np.ndarray], int]:
        """For each output beat, the last beat of each input it needs (-1: none), and the
        cycles of work between that beat and the output. Default: the whole input frame."""
        n_out = lp.out_packing.beats
        return [np.full(n_out, p.beats - 1) for p in lp.in_packings], 0

    def consumed(self, lp: LayerPlan) -> list[np.ndarray]:
        """For each input, the output beat at which each of its beats is taken: what the
        FIFO sizing of a join (an op with several inputs) needs. Single-input ops are never
        asked."""
        raise NotImplementedError(f"{self.op} has one input")  # pragma: no cover

    def blocks(self, lp: LayerPlan) -> list[wiring.Component]:  # pragma: no cover - abstract
        """The stream blocks that compute this layer; the first takes the inputs (``i``, or
        ``i0``, ``i1``... for several), the last has ``o``."""
        raise NotImplementedError

    @property
    def exact_schedule(self) -> bool:
        """Whether :meth:`needs` times this layer's output beats exactly, so the estimated
        latency of a graph of such layers equals the simulated one. A sliding-window
        generator's are approximated (within a few percent): layers that build one say
        False."""
        return True

    # -- testing ------------------------------------------------------------------------------

    @classmethod
    def examples(cls, dtype: DType, rng: np.random.Generator) -> dict[str, Graph]:
        """Small graphs, by name, that exercise this op on an input of ``dtype``: every
        weight dtype, activation, folding and geometry variant it has (branches joined by
        ``concat`` make one graph of many cases; :mod:`hwgen.ops.samples` has the helpers).
        The cocotb op matrix simulates each one for every input dtype, bit-exact against the
        reference, with stalls, flat and pipelined; draw every random value from ``rng``.
        An op that returns none fails the matrix."""
        return {}


def check_size(where: str, tensor: Tensor) -> None:
    if tensor.size > MAX_TENSOR_ELEMENTS:
        raise GraphError(f"{where}: a frame of {list(tensor.shape)} has {tensor.size:,} "
                         f"elements, more than the limit of {MAX_TENSOR_ELEMENTS:,}")


