"""How hwgen's dtypes and tensors map onto Amaranth shapes and stream signatures."""

from __future__ import annotations

from amaranth import Shape, signed, unsigned
from amaranth.lib import data, stream

from hwgen.core.dtypes import DType

__all__ = ["element_shape", "vector_stream"]


def element_shape(dtype: DType) -> Shape:
    """Shape of one element's code: signed for two's complement formats, else unsigned."""
    return signed(dtype.bits) if dtype.signed else unsigned(dtype.bits)


def vector_stream(elem: Shape, count: int) -> stream.Signature:
    """A stream of ``count`` packed elements per beat, element 0 in the lowest bits."""
    return stream.Signature(data.ArrayLayout(elem, count))
