"""N:M structured sparsity on dense and conv layers (issue 25, the graph half): the rule,
its boundaries, the file format, and what the matrix units build today (the zeros stored;
binary weights refused until the sparse unit exists)."""

import json

import numpy as np
import pytest

import hwgen
from hwgen import ir, ops
from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.hw import silenced
from hwgen.hw.blocks.mvu import MVU
from hwgen.ops import Sparsity
from tests.helpers import SLOW

U2 = DType.parse("uint2")
# 2:4 in both rows: row 0 keeps inputs 0, 2 | 6, 7; row 1 keeps 1 | 4, 7
W24 = np.array([[1, 0, -1, 0, 0, 0, 1, 1],
                [0, -1, 0, 0, 1, 0, 0, -1]])
S24 = Sparsity(2, 4)


def dense(weights=W24, dtype="tern", sparsity=S24, simd=None, **kw):
    simd = simd or (sparsity.n if isinstance(sparsity, Sparsity) else 2)
    return ops.Dense("fc", weight_dtype=dtype, weights=weights, sparsity=sparsity, simd=simd,
                     **kw)


def graph(*layers, shape=(8,), dtype=U2):
    return ir.Graph("g", ir.Tensor(shape, dtype), list(layers))


def refusal(make) -> str:
    with pytest.raises(hwgen.GraphError) as err:
        make()
    return str(err.value)


def test_a_2_4_layer_keeps_its_zeros_in_the_reference_and_in_its_file(tmp_path):
    g = graph(dense())
    x = np.array([[1, 2, 3, 0, 1, 1, 2, 3]])
    # row 0: 1 - 3 + 2 + 3 = 3; row 1: -2 + 1 - 3 = -4
    assert hwgen.reference.run(g, x).tolist() == [[3, -4]]
    g.save(tmp_path / "g")
    assert json.loads((tmp_path / "g.json").read_text())["layers"][0]["sparsity"] == {
        "n": 2, "m": 4}
    back = hwgen.load_graph(tmp_path / "g.json")
    assert back.layers[0].sparsity == Sparsity(2, 4)
    assert np.array_equal(back.layers[0].weights, W24)
    assert back.digest() == g.digest()


def test_bin_weights_hold_a_pruned_zero_only_with_sparsity():
    w = np.array([[1, 0, 0, -1]])
    graph(dense(w, "bin", Sparsity(1, 2)), shape=(4,))
    said = refusal(lambda: graph(dense(w, "bin", None), shape=(4,)))
    assert said.startswith("layer 'fc' (dense): weights") and "bin" in said


@pytest.mark.parametrize("n, m, ok", [(1, 4, True), (3, 4, True), (0, 4, False),
                                      (4, 4, False), (5, 4, False), (1, 2, True),
                                      (1, 1, False)])
def test_n_must_be_at_least_1_and_below_m(n, m, ok):
    w = np.zeros((2, 8), int)
    w[:, 0] = 1  # one non-zero a group at most: every legal N holds
    if ok:
        graph(dense(w, sparsity=Sparsity(n, m)))
    else:
        assert refusal(lambda: graph(dense(w, sparsity=Sparsity(n, m)))) == (
            f"layer 'fc' (dense): sparsity {n}:{m} needs 1 <= N < M")


def test_m_must_divide_a_row():
    assert refusal(lambda: graph(dense(W24, sparsity=Sparsity(1, 3)))) == (
        "layer 'fc' (dense): sparsity 1:3: M=3 must divide the 8 weights of a row")


def test_a_group_with_one_non_zero_too_many_is_named():
    w = W24.copy()
    w[1, 5] = 1  # row 1, inputs 4..7: 1, 1, 0, -1: three non-zero
    assert refusal(lambda: graph(dense(w))) == (
        "layer 'fc' (dense): sparsity 2:4: row 1, inputs 4..7 hold 3 non-zero weights; "
        "at most 2")
    w[1, 7] = 0  # two again: taken
    graph(dense(w))


def test_kept_weights_must_be_values_of_the_dtype():
    w = W24.copy()
    w[0, 0] = 2  # tern is -1..1
    said = refusal(lambda: graph(dense(w)))
    assert said.startswith("layer 'fc' (dense): weights") and "tern" in said


def test_a_conv_groups_its_inputs_channels_last():
    """(out 1, kh 1, kw 2, in 2): in (kx, c) order the row is 1, 0, 1, 0 (1:2 holds); in
    (c, kx) order it would be 1, 1, 0, 0 (it would not)."""
    w = np.array([1, 0, 1, 0]).reshape(1, 1, 2, 2)
    conv = ops.Conv2d("c", weight_dtype="tern", weights=w, sparsity=Sparsity(1, 2))
    graph(conv, shape=(1, 2, 2))
    swapped = ops.Conv2d("c", weight_dtype="tern", weights=w.transpose(0, 1, 3, 2),
                         sparsity=Sparsity(1, 2))
    assert refusal(lambda: graph(swapped, shape=(1, 2, 2))) == (
        "layer 'c' (conv2d): sparsity 1:2: row 0, inputs 0..1 hold 2 non-zero weights; "
        "at most 1")


def test_depthwise_and_codebook_layers_take_no_sparsity():
    dw = ops.Conv2d("c", weight_dtype="tern", weights=np.zeros((2, 3, 3, 1), int), groups=2,
                    padding=1, sparsity=Sparsity(1, 3))
    assert refusal(lambda: graph(dw, shape=(3, 3, 2))) == (
        "layer 'c' (conv2d): a depthwise conv takes no sparsity (a row is one kernel); "
        "allowed on dense and groups=1 conv")
    booked = dense(W24, "int4", codebook=np.array([-1, 0, 1]))
    assert refusal(lambda: graph(booked)) == (
        "layer 'fc' (dense): sparsity with a codebook is not supported; allowed: one or the "
        "other")


@pytest.mark.parametrize("spec", [{"n": 2}, {"n": 2, "m": 4, "k": 1}, {"n": "2", "m": 4},
                                  {"n": True, "m": 4}, [2, 4], "2:4"])
def test_a_malformed_sparsity_in_a_file_is_one_line(tmp_path, spec):
    doc = {"format": "hwgen-graph/1", "name": "g", "input": {"shape": [8], "dtype": "uint2"},
           "layers": [{"name": "fc", "op": "dense", "weight_dtype": "tern", "weights": "w",
                       "sparsity": spec}]}
    (tmp_path / "g.json").write_text(json.dumps(doc))
    np.savez(tmp_path / "g.npz", w=W24)
    said = refusal(lambda: hwgen.load_graph(tmp_path / "g.json"))
    assert said == ("layer 'fc' (dense): sparsity must be {\"n\": N, \"m\": M} with "
                    f"integers 1 <= N < M, got {spec!r}")


@pytest.mark.parametrize("n, m, simd, said", [
    (2, 4, 3, "simd=3 must be a multiple of N=2 (sparsity 2:4: SIMD counts weight slots, N "
              "a group)"),
    (2, 4, 4, "simd=4 takes 8 inputs a beat (sparsity 2:4), which must divide the 12 input "
              "features"),
    (1, 4, 2, "simd=2 takes 8 inputs a beat (sparsity 1:4), which must divide the 12 input "
              "features")])
def test_a_sparse_simd_counts_weight_slots_and_its_beat_must_divide_the_inputs(n, m, simd,
                                                                              said):
    w = np.zeros((2, 12), int)
    w[:, ::m] = 1
    assert refusal(lambda: graph(dense(w, sparsity=Sparsity(n, m), simd=simd),
                                 shape=(12,))) == f"layer 'fc' (dense): {said}"


@pytest.mark.parametrize("n, m, size, simds", [(2, 4, 8, [2, 4]), (1, 4, 16, [1, 2, 4]),
                                               (1, 2, 6, [1, 3]), (2, 8, 8, [2])])
def test_fold_offers_the_slot_counts_whose_beats_divide_the_inputs(n, m, size, simds):
    w = np.zeros((2, size), int)
    w[:, ::m] = 1
    fc = dense(w, sparsity=Sparsity(n, m))
    graph(fc, shape=(size,))
    assert fc.fold_candidates([ir.Tensor((size,), U2)])[1] == simds


def test_bin_weights_with_sparsity_build_estimate_and_fold_in_the_n_m_cycles(tmp_path):
    # 4 rows of 16 binary weights at 1:4: 4 slots a row; at PE 2, SIMD 1 the frame takes
    # 4/2 row groups x 4/1 slots = 8 cycles (16 dense, where a slot is an input)
    w = np.zeros((4, 16), int)
    w[:, 1::4] = 1
    w[1, 5] = -1
    w[2, 9] = 0  # a group with no weight: the skip bit
    g = graph(dense(w, "bin", Sparsity(1, 4), pe=2, simd=1), shape=(16,),
              dtype=DType.parse("bin"))
    assert estimate(g, SLOW).cycles == 8
    build(g, tmp_path / "out", SLOW)
    assert (tmp_path / "out" / "report.md").exists()
    folded = fold(g, SLOW)
    fc = folded.graph.layers[0]
    assert fc.simd in (1, 2, 4) and folded.estimate.cycles == (4 // fc.pe) * (4 // fc.simd)


def test_a_file_without_simd_takes_one_group_s_n_weights_a_cycle(tmp_path):
    g = graph(dense())
    g.save(tmp_path / "g")
    doc = json.loads((tmp_path / "g.json").read_text())
    del doc["layers"][0]["simd"]
    (tmp_path / "g.json").write_text(json.dumps(doc))
    assert hwgen.load_graph(tmp_path / "g.json").layers[0].simd == 2


def test_the_python_api_takes_a_dict_and_refuses_a_non_integer_pattern():
    fc = dense(sparsity={"n": 2, "m": 4})
    graph(fc)
    assert fc.sparsity == S24
    assert refusal(lambda: graph(dense(sparsity=Sparsity(2.0, 4)))) == (
        "layer 'fc' (dense): sparsity must be Sparsity(n, m) with integers, got "
        "Sparsity(n=2.0, m=4)")
    assert refusal(lambda: graph(dense(sparsity={"n": 2, "m": "4"}))) == (
        "layer 'fc' (dense): sparsity must be {\"n\": N, \"m\": M} with integers 1 <= N < M, "
        "got {'n': 2, 'm': '4'}")


@pytest.mark.parametrize("n, m, kept", [(2, 4, 8), (2, 8, 4), (1, 2, 8), (3, 4, 12)])
def test_kept_counts_a_row_s_weight_slots_as_an_integer(n, m, kept):
    layer = dense(weights=np.zeros((2, 16), int), sparsity=Sparsity(n, m), simd=n)
    graph(layer, shape=(16,))
    assert layer.kept(16) == kept and type(layer.kept(16)) is int


def test_dense_and_conv_hand_the_matrix_unit_their_pattern_and_zero_skip():
    """The unit is built from what the layer holds (the op matrix would see a pattern
    dropped only as wrong cycles, in a simulation mutation testing does not run)."""
    fc = dense(pe=1, zero_skip=True)  # 2 rows at PE 1, 2 slices: replays to skip
    conv = ops.Conv2d("c", weight_dtype="tern", weights=W24.reshape(2, 1, 2, 4), pe=1, simd=2,
                      sparsity=S24, zero_skip=True)
    for g in (graph(fc), graph(conv, shape=(2, 2, 4))):
        lp = plan(g).layers[0]
        mvu = next(b for b in silenced(lp.layer.blocks(lp)) if isinstance(b, MVU))
        assert mvu.sparsity == (2, 4)
        assert mvu.zero_skip is True
