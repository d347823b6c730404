import numpy as np
import pytest

from hwgen.core.dtypes import DType


@pytest.mark.parametrize("name,lo,hi,bits", [
    ("bin", -1, 1, 1), ("tern", -1, 1, 2), ("int2", -2, 1, 2), ("int8", -128, 127, 8),
    ("uint1", 0, 1, 1), ("uint4", 0, 15, 4), ("int32", -(2**31), 2**31 - 1, 32),
])
def test_ranges(name, lo, hi, bits):
    dt = DType.parse(name)
    assert (dt.min, dt.max, dt.bits, dt.name) == (lo, hi, bits, name)


@pytest.mark.parametrize("name", ["bin", "tern", "int3", "int8", "uint1", "uint5"])
def test_encode_decode_roundtrip(name):
    dt = DType.parse(name)
    values = np.array([-1, 1]) if dt.kind == "bin" else np.arange(dt.min, dt.max + 1)
    codes = dt.encode(values)
    assert codes.max() < 2**dt.bits
    assert np.array_equal(dt.decode(codes), values)


def test_values_in_a_narrow_integer_array_encode_as_any_other():
    """An int8 array (a user's npz) whose mask does not fit int8: encoded in int64."""
    assert DType.parse("int8").encode(np.array([-128, -1, 127], np.int8)).tolist() == [
        128, 255, 127]
    assert DType.parse("uint8").encode(np.array([0, 255], np.uint8)).tolist() == [0, 255]


def test_codes_are_the_contract():
    assert list(DType.parse("bin").encode([-1, 1])) == [0, 1]
    assert list(DType.parse("tern").encode([-1, 0, 1])) == [3, 0, 1]
    assert list(DType.parse("int4").encode([-8, -1, 7])) == [8, 15, 7]
    # codes are uint64: packing shifts them, which a float refuses (and a float loses the
    # low bits of a wide code)
    for name, values in (("bin", [-1, 1]), ("int4", [-8, 7]), ("uint8", [255])):
        assert DType.parse(name).encode(np.array(values)).dtype == np.uint64


@pytest.mark.parametrize("name", ["int1", "int33", "uint0", "uint33", "float", "bin2", ""])
def test_unknown_dtypes(name):
    with pytest.raises(ValueError, match="unknown dtype"):
        DType.parse(name)


def test_decode_ignores_bits_above_the_code():
    """A beat's word holds other elements above an element's code: decode masks them off."""
    assert DType.parse("int4").decode(np.array([0x1F, 0x27, 0xF8])).tolist() == [-1, 7, -8]
    assert DType.parse("uint2").decode(np.array([0b1110, 0b101])).tolist() == [2, 1]
    assert DType.parse("bin").decode(np.array([0b10, 0b11])).tolist() == [-1, 1]
    assert DType.parse("tern").decode(np.array([0b111, 0b101])).tolist() == [-1, 1]


def test_an_empty_array_is_in_every_dtype():
    for name in ("bin", "tern", "int4", "uint1"):
        assert DType.parse(name).contains(np.zeros((0, 3), int))
