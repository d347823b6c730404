"""The N:M sparse matrix unit (issue 25): per row group N weights and their positions, a
mux in front of each slot, bit-exact under stalls on both sides, and a frame in
(out/PE) x (in*N/M)/SIMD cycles, worked out here by hand. Simulations, so outside the
mutation selection (test_sparsity.py holds the graph rules)."""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.hw import silenced
from hwgen.hw.blocks.mvu import MVU, sparse_slots
from hwgen.ops import Sparsity
from tests.helpers import simulate_graph

U2, BIN = DType.parse("uint2"), DType.parse("bin")
# 2:4 in both rows: row 0 keeps inputs 0, 2 | 6, 7; row 1 keeps 1 | 4, 7
W24 = np.array([[1, 0, -1, 0, 0, 0, 1, 1],
                [0, -1, 0, 0, 1, 0, 0, -1]])


def graph(*layers, shape=(8,), dtype=U2):
    return ir.Graph("g", ir.Tensor(shape, dtype), list(layers))


def test_slots_hold_the_non_zeros_in_order_their_positions_and_the_empty_ones():
    values, positions, empty = sparse_slots(W24, 2, 4)
    assert values.tolist() == [[1, -1, 1, 1], [-1, 0, 1, -1]]
    assert positions.tolist() == [[0, 2, 2, 3], [1, 0, 0, 3]]
    assert empty.tolist() == [[False, False, False, False], [False, True, False, False]]


@pytest.mark.parametrize("w_dtype, short, bits", [("bin", False, 1 + 2),
                                                  ("bin", True, 1 + 2 + 1),
                                                  ("tern", True, 2 + 2), ("int4", True, 4 + 2)])
def test_a_slot_stores_the_weight_code_and_its_position_and_a_binary_row_a_skip_bit(
        w_dtype, short, bits):
    w = np.array([[1, 0, 0, -1, 0, 1, 1, 0]])  # 2:4, both groups full
    if short:
        w[0, 5] = 0
    mvu = silenced([MVU(w, U2, DType.parse(w_dtype), pe=1, simd=2, sparsity=(2, 4))])[0]
    assert mvu.slot_bits == bits
    assert (mvu.in_elems, mvu.sf) == (4, 2)


def test_a_sparse_tern_layer_is_bit_exact_under_stalls_in_the_n_m_cycles(tmp_path):
    """2 rows x 8 inputs at 2:4 are 4 slots a row; PE 1, SIMD 2: 2 x 4/2 = 4 cycles (the
    dense unit took 2 x 8/2 = 8)."""
    g = graph(ops.Dense("fc", weight_dtype="tern", weights=W24, sparsity=Sparsity(2, 4),
                        pe=1, simd=2, activation=ir.Threshold("uint2", [[-2, 0, 2]] * 2)))
    assert simulate_graph(g, tmp_path, frames=6).cycles_per_frame == 4


def test_a_binary_conv_with_empty_slots_is_bit_exact_in_the_n_m_cycles(tmp_path):
    """A 3x3 binary conv over a 4x4x4 binary image, 8 channels at 2:4, some groups with one
    weight or none (the skip bit). 2x2 pixels x 8/2 row groups x (36*2/4)/2 slot beats =
    144 cycles a frame."""
    rng = np.random.default_rng(7)
    w = rng.choice([-1, 1], (8, 3, 3, 4))
    w = np.where(Sparsity(2, 4).keep(rng.random(w.shape)), w, 0)
    w[3, 1, 1, :] = 0  # a group with no weight
    w[5, 0, 2, :] = [0, 0, 1, 0]  # and one with one
    conv = ops.Conv2d("conv", weight_dtype="bin", weights=w, sparsity=Sparsity(2, 4), pe=2,
                      simd=2, bias=rng.integers(-3, 4, 8))
    result = simulate_graph(graph(conv, shape=(4, 4, 4), dtype=BIN), tmp_path, frames=6)
    assert result.cycles_per_frame == 144
