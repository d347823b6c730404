"""The hwgen command: build / sim / demo, errors and atomic output folders."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from hwgen import ir, ops, reference
from hwgen.cli import main
from hwgen.core.dtypes import DType


def small_graph(tmp_path, name="net"):
    rng = np.random.default_rng(0)
    g = ir.Graph(name, ir.Tensor((12,), DType.parse("int4")), [
        ops.Dense("fc1", weight_dtype="tern", weights=rng.integers(-1, 2, (8, 12)), pe=2, simd=4,
                 activation=ir.Threshold("bin", rng.integers(-6, 6, (8, 1)))),
        ops.Dense("fc2", weight_dtype="bin", weights=rng.choice([-1, 1], (4, 8)), pe=4, simd=8),
        ops.ArgMax("top")])
    return g.save(tmp_path / name)


def test_build_writes_verilog_graph_and_reports(tmp_path, capsys):
    graph = small_graph(tmp_path)
    assert main(["build", str(graph), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == [
        ".hwgen-build.json", "cycles.png", "cycles.svg", "estimate.html", "estimate.md",
        "graph.json", "graph.npz", "net.v", "report.json", "report.md"]
    assert "module net(" in (out / "net.v").read_text()
    report = json.loads((out / "report.json").read_text())
    # fc1: (8/2)*(12/4) = 12 cycles; fc2: (4/4)*(8/8) = 1; argmax over 4 elements, 4 per beat
    assert [r["cycles_per_frame"] for r in report["layers"]] == [12, 1, 1]
    assert report["cycles_per_frame"] == 12 and report["bottleneck"] == "fc1"
    est = report["estimate"]
    assert est["board"] == "icebreaker" and est["cycles_per_frame"] == 12
    assert est["frames_per_second"] == 12e6 / 12
    w = ir.load_graph(graph).layers[0].weights
    lo = min(sum(min(v * -8, v * 7) for v in row) for row in w)
    hi = max(sum(max(v * -8, v * 7) for v in row) for row in w)
    bits = next(b for b in range(2, 64) if -(2 ** (b - 1)) <= lo and hi < 2 ** (b - 1))
    assert report["layers"][0]["acc_bits"] == bits
    assert report["input"] == {"shape": [12], "dtype": "int4", "elements_per_beat": 4,
                               "bits_per_element": 4, "beats_per_frame": 3, "tdata_bits": 16}
    assert report["output"]["tdata_bits"] == 8
    assert "| fc1 | dense |" in (out / "report.md").read_text()
    assert "cycles per frame: 12 (bottleneck fc1)" in capsys.readouterr().out


def test_build_error_is_one_line_and_writes_nothing(tmp_path, capsys):
    graph = small_graph(tmp_path)
    doc = json.loads(graph.read_text())
    doc["layers"][0]["pe"] = 3
    graph.write_text(json.dumps(doc))
    assert main(["build", str(graph), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("hwgen: error: layer 'fc1' (dense): pe=3 must divide the 8 output channels")
    assert not (tmp_path / "out").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]


def test_build_replaces_a_build_but_not_a_foreign_folder(tmp_path, capsys):
    graph = small_graph(tmp_path)
    out = tmp_path / "out"
    assert main(["build", str(graph), "--out", str(out)]) == 0
    assert main(["sim", str(out), "--frames", "2"]) == 0  # sim.json, sim_icarus/ are hwgen's
    first = (out / "net.v").stat().st_ino
    assert main(["build", str(graph), "--out", str(out)]) == 0
    assert (out / "net.v").stat().st_ino != first and not (out / "sim.json").exists()
    # a user's file inside an earlier build: refused, and the file survives
    (out / "notes.txt").write_text("mine")
    assert main(["build", str(graph), "--out", str(out)]) == 2
    assert "holds 'notes.txt', which hwgen did not write" in capsys.readouterr().err
    assert (out / "notes.txt").read_text() == "mine"
    # a folder that merely contains a report.json is not a build
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("precious")
    (mine / "report.json").write_text("{}")
    assert main(["build", str(graph), "--out", str(mine)]) == 2
    assert "is not a hwgen build folder (no .hwgen-build.json)" in capsys.readouterr().err
    assert (mine / "thesis.tex").read_text() == "precious"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith((".out.", ".mine."))]


def test_unknown_source(tmp_path, capsys):
    assert main(["build", "no-such-model", "--out", str(tmp_path / "o")]) == 2
    assert "neither a graph file" in capsys.readouterr().err


def test_sim_passes_and_writes_sim_json(tmp_path, capsys):
    graph = small_graph(tmp_path)
    main(["build", str(graph), "--out", str(tmp_path / "out")])
    assert main(["sim", str(tmp_path / "out"), "--frames", "8", "--seed", "3"]) == 0
    sim = json.loads((tmp_path / "out" / "sim.json").read_text())
    assert sim["mismatches"] == 0 and sim["frames"] == 8
    assert sim["cycles_per_frame"] == 12 == sim["expected_cycles_per_frame"]
    out = capsys.readouterr().out
    assert "bit-exact" in out
    # not on a terminal: the compile step, then the frames the bench reported done
    assert "  compiling net.v with Icarus Verilog ...\n" in out
    assert "  simulating 8 frames x 2 phases: 16/16 frames in " in out


def test_sim_of_a_relative_folder(tmp_path, monkeypatch, capsys):
    graph = small_graph(tmp_path)
    main(["build", str(graph), "--out", str(tmp_path / "b_net")])
    monkeypatch.chdir(tmp_path)
    assert main(["sim", "b_net", "--frames", "3"]) == 0
    assert "bit-exact" in capsys.readouterr().out


def _build_then_flip_a_weight(tmp_path) -> ir.Graph:
    """Build the small graph into ``out``, then save it there with one weight negated."""
    main(["build", str(small_graph(tmp_path)), "--out", str(tmp_path / "out")])
    g = ir.load_graph(tmp_path / "out" / "graph.json")
    g.layers[1].weights[2] *= -1
    g.validate()
    g.save(tmp_path / "out" / "graph.json")
    return g


def test_sim_refuses_a_graph_edited_after_the_build(tmp_path, capsys):
    _build_then_flip_a_weight(tmp_path)
    assert main(["sim", str(tmp_path / "out"), "--frames", "3"]) == 2
    assert "changed since the Verilog was built" in capsys.readouterr().err


def test_sim_reports_the_first_mismatch(tmp_path, capsys):
    """The checker can fail: the RTL of one graph checked against a graph with one weight
    flipped (its hash written into the report, as if it had been built from it)."""
    g = _build_then_flip_a_weight(tmp_path)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    report["graph_sha256"] = g.digest()
    (tmp_path / "out" / "report.json").write_text(json.dumps(report))
    capsys.readouterr()
    assert main(["sim", str(tmp_path / "out"), "--frames", "30"]) == 1
    out = capsys.readouterr().out
    assert "MISMATCHES" in out and "first mismatch: phase stalls, frame" in out


def test_sim_inputs_npz_and_bad_folder(tmp_path, capsys):
    graph = small_graph(tmp_path)
    main(["build", str(graph), "--out", str(tmp_path / "out")])
    x = np.random.default_rng(1).integers(-8, 8, (5, 12))
    np.savez(tmp_path / "in.npz", x=x)
    assert main(["sim", str(tmp_path / "out"), "--inputs", str(tmp_path / "in.npz")]) == 0
    assert json.loads((tmp_path / "out" / "sim.json").read_text())["frames"] == 5
    np.savez(tmp_path / "bad.npz", x=x + 8)
    assert main(["sim", str(tmp_path / "out"), "--inputs", str(tmp_path / "bad.npz")]) == 2
    assert "input: values outside int4" in capsys.readouterr().err
    assert main(["sim", str(tmp_path)]) == 2
    assert "not a hwgen build folder" in capsys.readouterr().err
    assert main(["sim", str(tmp_path / "out"), "--inputs", str(tmp_path / "in.npz"),
                 "--frames", "3"]) == 2
    assert "--frames and --inputs exclude each other" in capsys.readouterr().err


_ACCURACY = re.compile(r"\d+\.\d\d %  \(\d+/449\)")


def _readme_demo() -> list[str]:
    """The demo's results as the README shows them (between its bench:demo markers)."""
    text = (Path(__file__).parents[2] / "README.md").read_text()
    region = text.split("<!-- bench:demo -->\n")[1].split("<!-- /bench:demo -->")[0]
    return region.split("```\n")[1].splitlines()


@pytest.mark.torch
def test_demo_end_to_end_prints_what_the_readme_shows(tmp_path, capsys, monkeypatch):
    """make demo from a fresh folder: three equal accuracies, image by image, and the very
    lines the README shows (bench/readme_demo.py writes them from such a run)."""
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.strip().startswith("accuracy")]
    assert len(lines) == 3
    assert len({line.split()[-3] for line in lines}) == 1  # three equal accuracies (the %)
    assert "torch == reference == RTL: 449/449" in out
    assert "cycles per frame (simulated): 32.0 (formula 32)" in out
    # the accuracy itself moves from machine to machine (95.32 % on that of 2026-12-05,
    # 95.10 % on that of 2026-12-06, same command, seed and torch; likely training's float
    # sums); the rest of each line must be the README's
    printed = [_ACCURACY.sub("<accuracy>", line)
               for line in out.replace(f"{tmp_path}/", "").splitlines()]
    readme = [_ACCURACY.sub("<accuracy>", line) for line in _readme_demo()]
    first = printed.index(readme[0])
    assert printed[first:first + len(readme)] == readme
    assert sum("<accuracy>" in line for line in readme) == 3


@pytest.mark.torch
@pytest.mark.slow
@pytest.mark.parametrize("example", ["digits-cnn", "digits-resnet"])
def test_convolutional_demos_end_to_end(tmp_path, capsys, example):
    assert main(["demo", "--example", example, "--out", str(tmp_path / "demo"),
                 "--frames", "40"]) == 0
    out = capsys.readouterr().out
    assert "torch == reference == RTL: 40/40" in out
    assert "cycles per frame (simulated): 576.0 (formula 576)" in out
    assert "on compiled" in out


def _wide(tmp_path):
    """A fully parallel int8 layer: far more than an iCE40UP5K holds."""
    rng = np.random.default_rng(2)
    g = ir.Graph("wide", ir.Tensor((16,), DType.parse("int8")), [
        ops.Dense("fc", weight_dtype="int8", weights=rng.integers(-128, 128, (16, 16)), pe=16,
                  simd=16)])
    return g.save(tmp_path / "wide")


def test_build_says_whether_it_fits_and_which_board_it_took(tmp_path, capsys):
    assert main(["build", str(small_graph(tmp_path)), "--out", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "board: icebreaker, the default (--board names another)" in out
    assert "; fits icebreaker (binding: " in out
    assert ("  files: cycles.png, cycles.svg, estimate.html, estimate.md, graph.json, "
            "graph.npz, net.v, report.json, report.md\n") in out
    assert main(["build", str(_wide(tmp_path)), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "; DOES NOT FIT icebreaker: " in out
    # the reports a colleague reads say it too, with the resource that decides it
    for folder, verdict in (("a", "- fits icebreaker (binding: "),
                            ("b", "- DOES NOT FIT icebreaker: ")):
        for name in ("estimate.md", "report.md"):
            assert verdict in (tmp_path / folder / name).read_text(), (folder, name)


def test_compress_says_whether_the_result_fits(tmp_path, capsys):
    """A graph alone, pruned: the summary line says whether it fits, on the default board,
    the one the graph remembers, or --board's."""
    from hwgen.analysis.estimate import estimate

    assert main(["compress", str(small_graph(tmp_path)), "--method", "prune", "--sparsity",
                 "0.5", "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    assert "board: icebreaker, the default (--board names another)" in out
    fit = estimate(ir.load_graph(tmp_path / "p.json"), "icebreaker").fit_summary()
    assert fit.startswith("fits icebreaker (binding: ")
    assert f"(and .npz); at its folding: {fit}; hwgen build" in out.splitlines()[-1]
    wide = _wide(tmp_path)
    assert main(["compress", str(wide), "--method", "prune", "--sparsity", "0.5",
                 "--out", str(tmp_path / "w")]) == 0
    assert "at its folding: DOES NOT FIT icebreaker: " in capsys.readouterr().out
    assert main(["compress", str(tmp_path / "p.json"), "--method", "prune", "--sparsity",
                 "0.5", "--board", "ulx3s-85f", "--out", str(tmp_path / "q")]) == 0
    assert "at its folding: fits ulx3s-85f (binding: " in capsys.readouterr().out
    doc = json.loads((tmp_path / "p.json").read_text())
    doc["meta"] = {"board": "pynq-z2"}
    (tmp_path / "p.json").write_text(json.dumps(doc))
    assert main(["compress", str(tmp_path / "p.json"), "--method", "prune", "--sparsity",
                 "0.5", "--out", str(tmp_path / "q")]) == 0
    out = capsys.readouterr().out
    assert "board: pynq-z2, which net was folded for (--board overrides)" in out
    assert "at its folding: fits pynq-z2 (binding: " in out


def test_fold_and_import_remember_the_board(tmp_path, capsys):
    graph = small_graph(tmp_path)
    assert main(["fold", str(graph), "--board", "ulx3s-85f", "--out",
                 str(tmp_path / "folded")]) == 0
    out = capsys.readouterr().out
    assert "; fits ulx3s-85f (binding: " in out
    assert ir.load_graph(tmp_path / "folded.json").meta["board"] == "ulx3s-85f"
    assert main(["build", str(tmp_path / "folded.json"), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "board: ulx3s-85f, which net was folded for (--board overrides)" in out
    assert "estimate for ulx3s-85f" in out
    assert main(["estimate", str(tmp_path / "folded.json"), "--board", "icebreaker"]) == 0
    out = capsys.readouterr().out
    assert "board:" not in out and "on 1BitSquared iCEBreaker" in out
    assert main(["estimate", str(tmp_path / "folded.json"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["board"] == "ulx3s-85f"


@pytest.mark.torch
def test_dataset_split_scores_a_simulation(tmp_path, capsys):
    assert main(["dataset", "digits", "--out", str(tmp_path / "d.npz")]) == 0
    assert "449 test images of digits" in capsys.readouterr().out
    data = np.load(tmp_path / "d.npz")
    assert data["x"].shape == (449, 64) and data["x"].max() <= 15 and set(data["y"]) == set(
        range(10))
    rng = np.random.default_rng(5)
    g = ir.Graph("guess", ir.Tensor((8, 8, 1), DType.parse("uint4")), [
        ops.Dense("fc", weight_dtype="int2", weights=rng.integers(-2, 2, (10, 64)), pe=10,
                  simd=64),
        ops.ArgMax("top")])
    g.save(tmp_path / "guess")
    assert main(["build", str(tmp_path / "guess.json"), "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    assert main(["sim", str(tmp_path / "b"), "--inputs", str(tmp_path / "d.npz")]) == 0
    out = capsys.readouterr().out
    pred = reference.run(g, data["x"].reshape(-1, 8, 8, 1)).reshape(-1)
    right = int((pred == data["y"]).sum())
    assert (f"accuracy against the labels 'y': RTL {right}/449 = {right / 449:.2%}, "
            f"reference {right}/449") in out


@pytest.mark.verilator
def test_long_steps_say_what_they_do_and_how_long_they_took(tmp_path, capsys, monkeypatch):
    """Not on a terminal (as here), plain lines: the step, then its time."""
    monkeypatch.setenv("HWGEN_CACHE", str(tmp_path / "cache"))
    graph = small_graph(tmp_path)
    assert main(["build", str(graph), "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "generating Verilog for net (3 layers) ...\n" in out
    assert "  generating Verilog for net (3 layers): done in " in out
    assert main(["sim", str(tmp_path / "b"), "--frames", "2", "--simulator", "compiled"]) == 0
    out = capsys.readouterr().out
    assert "  compiling net.v with Verilator (once per design, then cached" in out
    assert "): done in " in out
    assert "  simulating 2 frames x 2 phases: 4/4 frames in " in out
    assert main(["sim", str(tmp_path / "b"), "--frames", "2", "--simulator", "compiled"]) == 0
    out = capsys.readouterr().out
    assert "compiling" not in out  # cached
    assert "  simulating 2 frames x 2 phases: 4/4 frames in " in out
    assert main(["sim", str(tmp_path / "b"), "--frames", "2", "--simulator", "verilator"]) == 0
    out = capsys.readouterr().out
    assert "  compiling net.v with Verilator (a large design takes minutes) ...\n" in out
    assert "  simulating 2 frames x 2 phases: 4/4 frames in " in out


@pytest.mark.synth
def test_measure_without_place_and_route(tmp_path, capsys):
    graph = small_graph(tmp_path)
    assert main(["estimate", str(graph), "--board", "ulx3s-85f", "--measure", "--no-pnr"]) == 0
    out = capsys.readouterr().out
    assert "  synthesizing layer 1/3 fc1 (ecp5) ...\n" in out
    assert "  synthesizing the top (ecp5): done in " in out
    assert "placing and routing" not in out and "place-and-route skipped (--no-pnr)" in out


def test_measure_bounds_need_measure(tmp_path, capsys):
    graph = small_graph(tmp_path)
    assert main(["estimate", str(graph), "--timeout", "5"]) == 2
    assert "--no-pnr and --timeout bound --measure" in capsys.readouterr().err
    assert main(["estimate", str(graph), "--measure", "--timeout", "0"]) == 2
    assert "--timeout must be a positive number of minutes" in capsys.readouterr().err
