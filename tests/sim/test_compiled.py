"""The compiled bench (Verilator + harness.cpp) against the cocotb bench: the same seeded
stalls give the same beats at the same cycles, on both simulators, from a folder whose
name has a space (make splits paths at spaces)."""

import os

import numpy as np
import pytest

from hwgen import ir, ops
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.sim import compiled, runner
from hwgen.sim.runner import simulate
from hwgen.sim.stalls import Stalls


def _graph() -> ir.Graph:
    rng = np.random.default_rng(4)
    dense = ops.Dense("fc", weight_dtype="int4", weights=rng.integers(-8, 8, (6, 12)), pe=2,
                     simd=3, activation=ir.Threshold(
                         "uint8", np.sort(rng.integers(-200, 200, (6, 255)), axis=1)))
    return ir.Graph("wide", ir.Tensor((12,), DType.parse("int4")), [dense])


def _normalized(record: dict) -> dict:
    """Handshake cycles counted from each phase's first input beat."""
    out = {}
    for phase, r in record.items():
        c0 = r["in_cycles"][0]
        out[phase] = ([c - c0 for c in r["in_cycles"]], [c - c0 for c in r["out_cycles"]],
                      r["out_beats"], r["extra"])
    return out


@pytest.mark.verilator
def test_compiled_bench_replays_the_cocotb_bench(tmp_path, monkeypatch):
    out = tmp_path / "with space" / "wide"
    build(_graph(), out)
    records = {}
    for name in ("run_bench", "run_compiled"):
        real = getattr(runner, name)

        def keep(*args, _real=real, **kwargs):
            records[kwargs["work_dir"].name] = _real(*args, **kwargs)
            return records[kwargs["work_dir"].name]
        monkeypatch.setattr(runner, name, keep)
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache dir"))
    results = {sim: simulate(out, frames=12, simulator=sim, seed=5, stall=0.4)
               for sim in ("compiled", "icarus", "verilator")}
    for sim, r in results.items():
        assert r.mismatches == 0, (sim, r.first_mismatch)
        assert r.cycles_per_frame == r.expected_cycles_per_frame
    want = _normalized(records["sim_compiled"])
    assert want["stalls"][1] != want["free"][1]  # the stalls changed the timing
    assert _normalized(records["sim_icarus"]) == want
    assert _normalized(records["sim_verilator"]) == want


@pytest.mark.verilator
def test_compiled_executable_is_cached_by_the_verilog(tmp_path, monkeypatch):
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    build(_graph(), tmp_path / "a")
    verilog = next((tmp_path / "a").glob("*.v"))
    env = runner.simulator_env("compiled")
    exe = compiled.executable(verilog, "wide", env)
    stamp = os.stat(exe).st_mtime_ns
    assert compiled.executable(verilog, "wide", env) == exe
    assert os.stat(exe).st_mtime_ns == stamp  # not rebuilt
    verilog.write_text(verilog.read_text() + "\n// changed\n")
    assert compiled.executable(verilog, "wide", env) != exe


def test_stall_generator_is_the_documented_splitmix64():
    """The first outputs of SplitMix64 from seed 0 (its reference values), so the Python
    and C++ benches, written separately, draw the same stream."""
    s = Stalls(0, 0.5)
    firsts = []
    for _ in range(3):
        s.draw()
        z = s.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & (2**64 - 1)
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & (2**64 - 1)
        firsts.append(z ^ (z >> 31))
    assert firsts == [0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4, 0x06C45D188009454F]
