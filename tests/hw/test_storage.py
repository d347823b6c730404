"""Weight storage: logic or block RAM, chosen per layer; same results and cycles in both."""

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.analysis.plan import plan
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.flows.synth import synth_cells
from hwgen.hw.blocks.mvu import MVU
from hwgen.hw.blocks.threshold import ThresholdUnit
from hwgen.sim.runner import simulate

rng = np.random.default_rng(0)


def dense_graph(storage: str, units: int = 6, features: int = 12) -> ir.Graph:
    t = np.sort(rng.integers(-30, 30, (units, 3)), axis=1)
    return ir.Graph("g", ir.Tensor((features,), DType.parse("int4")), [
        ops.Dense("fc", weight_dtype="tern", weights=rng.integers(-1, 2, (units, features)),
                 pe=2, simd=3, weight_storage=storage, activation=ir.Threshold("uint2", t))])


def test_storage_is_validated_and_resolved():
    with pytest.raises(ir.GraphError, match="weight_storage 'flash' unknown; allowed: auto"):
        dense_graph("flash")
    assert plan(dense_graph("auto")).layers[0].weight_storage == "logic"  # 144 bits
    assert plan(dense_graph("bram")).layers[0].weight_storage == "bram"
    # 128 x 96 ternary weights = 24,576 bits, over the 16,384-bit auto threshold
    assert plan(dense_graph("auto", 128, 96)).layers[0].weight_storage == "bram"
    with pytest.raises(ir.GraphError, match="depthwise weights live in logic"):
        ir.Graph("dw", ir.Tensor((4, 4, 2), DType.parse("bin")), [
            ops.Conv2d("dw", weight_dtype="bin", weights=np.ones((2, 3, 3, 1), int), groups=2,
                      weight_storage="bram")])


def test_storage_roundtrips_through_files(tmp_path):
    g = dense_graph("bram")
    g.save(tmp_path / "g")
    assert ir.load_graph(tmp_path / "g.json").layers[0].weight_storage == "bram"


def test_same_results_and_cycles_in_both_modes(tmp_path):
    results = {}
    for storage in ("logic", "bram"):
        out = tmp_path / storage
        built = build(dense_graph(storage), out)
        assert ('rom_style = "block"' in built.verilog.read_text()) == (storage == "bram")
        results[storage] = simulate(out, frames=10, seed=4)
        assert results[storage].mismatches == 0, results[storage].first_mismatch
    assert results["logic"].cycles_per_frame == results["bram"].cycles_per_frame == 12


def test_bram_mode_maps_weights_to_block_ram():
    """iCE40: 64 x 256 binary weights = 16,384 bits = four 4-kbit SB_RAM40_4K blocks."""
    w = rng.choice([-1, 1], (64, 256))
    bin_ = DType.parse("bin")
    counts = {storage: synth_cells(MVU(w, bin_, bin_, pe=4, simd=8, storage=storage), "ice40",
                                   "mvu")
              for storage in ("logic", "bram")}
    rams = {s: c.get("SB_RAM40_4K", 0) for s, c in counts.items()}
    assert rams["bram"] - rams["logic"] == 4
    assert counts["logic"]["SB_LUT4"] > 4 * counts["bram"]["SB_LUT4"]


def test_bram_mode_maps_thresholds_to_block_ram():
    """512 channels x one 12-bit threshold, one channel a cycle: a 6-kbit table."""
    t = np.sort(rng.integers(-1500, 1500, (512, 1)), axis=1)
    counts = {storage: synth_cells(ThresholdUnit(t, DType.parse("bin"), pe=1,
                                                 acc_range=(-2000, 2000), storage=storage),
                                   "ice40", "thresholds")
              for storage in ("logic", "bram")}
    assert counts["bram"].get("SB_RAM40_4K", 0) >= 2
    assert counts["logic"].get("SB_RAM40_4K", 0) == 0
