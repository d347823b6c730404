"""Bad input, misuse, interruption and races through the command line: every case ends in
success or in one line on stderr with exit status 2, and nothing outside the output folder
is touched: tracebacks turned into one line, silently accepted input refused, killed and
concurrent builds, signals, size limits, a report that does not match its graph, random
mutations of a graph file. Overwriting a build and stale builds are in ``test_cli.py``."""

import json
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwgen import ir, ops, reference
from hwgen.cli import main
from hwgen.core.dtypes import DType
from hwgen.flows.build import build
from hwgen.flows.record import STAMP
from hwgen.ir import layer as ir_layer

ROOT = Path(__file__).resolve().parents[2]


def small_graph(folder: Path, name: str = "net") -> Path:
    rng = np.random.default_rng(0)
    g = ir.Graph(name, ir.Tensor((4, 4, 2), DType.parse("uint2")), [
        ops.Conv2d("c1", weight_dtype="bin", weights=rng.choice([-1, 1], (2, 3, 3, 2)),
                  padding=1, pe=2, simd=2,
                  activation=ir.Threshold("uint2", np.sort(rng.integers(-9, 9, (2, 3)), 1))),
        ops.Add("res", inputs=["c1", "input"], pe=2),
        ops.GlobalSumPool("gsp"),
        ops.Dense("fc", weight_dtype="int2", weights=rng.integers(-2, 2, (3, 2)), pe=3, simd=2),
        ops.ArgMax("top")])
    return g.save(folder / name)


def run(args, capsys) -> tuple[int, str]:
    """``hwgen ARGS`` in-process: (exit status, stderr)."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as err:  # argparse
        code = err.code
    return code, capsys.readouterr().err


def assert_one_line_error(code, err, *fragments):
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("hwgen: error: "), err
    for f in fragments:
        assert f in err, err


def snapshot(folder: Path) -> dict[str, float]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*")}


# -- group 2: tracebacks -> one line ----------------------------------------------------------


def _edit_json(path: Path, edit) -> Path:
    doc = json.loads(path.read_text())
    edit(doc)
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize("case", [
    "out under a file", "out name too long", "report is a file", "fold out under a file",
    "npz truncated", "npz corrupt deflate", "npz is npy", "json nested deep", "pad_value abc",
    "pad_value nan", "board clock 0", "sim corrupt report", "sim deleted verilog",
    "frames 0", "frames -1", "seed -1", "empty inputs", "inputs npy"])
def test_bad_input_is_one_line(tmp_path, capsys, case):
    g = small_graph(tmp_path)
    npz = g.with_suffix(".npz")
    (tmp_path / "file").write_text("x")
    built = tmp_path / "built"
    if case.startswith(("sim", "frames", "seed", "empty", "inputs")):
        assert main(["build", str(g), "--out", str(built)]) == 0
    before = snapshot(tmp_path)
    args, expect = {
        "out under a file": (["build", g, "--out", tmp_path / "file" / "o"], "file"),
        "out name too long": (["build", g, "--out", tmp_path / ("o" * 300)], "name too long"),
        "report is a file": (["estimate", g, "--report", tmp_path / "file"], "file"),
        "fold out under a file": (["fold", g, "--out", tmp_path / "file" / "f.json"], "file"),
        "npz truncated": (["build", g, "--out", tmp_path / "o"], "npz"),
        "npz corrupt deflate": (["build", g, "--out", tmp_path / "o"], "net.npz"),
        "npz is npy": (["build", g, "--out", tmp_path / "o"], "not an npz archive"),
        "json nested deep": (["build", g, "--out", tmp_path / "o"], "nested too deeply"),
        "pad_value abc": (["build", g, "--out", tmp_path / "o"], "pad_value must be an integer"),
        "pad_value nan": (["build", g, "--out", tmp_path / "o"], "pad_value must be an integer"),
        "board clock 0": (["estimate", g, "--board", tmp_path / "b.toml"], "clock_mhz"),
        "sim corrupt report": (["sim", built], "report.json"),
        "sim deleted verilog": (["sim", built], "net.v: missing"),
        "frames 0": (["sim", built, "--frames", "0"], "frames must be 1 or more"),
        "frames -1": (["sim", built, "--frames", "-1"], "frames must be 1 or more"),
        "seed -1": (["sim", built, "--seed", "-1"], "seed must be"),
        "empty inputs": (["sim", built, "--inputs", tmp_path / "x.npz"], "no frames"),
        "inputs npy": (["sim", built, "--inputs", tmp_path / "x.npy"], "not an npz"),
    }[case]
    if case == "npz truncated":
        npz.write_bytes(npz.read_bytes()[:60])
    elif case == "npz corrupt deflate":
        data = bytearray(npz.read_bytes())
        with zipfile.ZipFile(npz) as z:
            info = z.infolist()[0]
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        data[start + 5:start + 25] = b"\xff" * 20
        npz.write_bytes(bytes(data))
    elif case == "npz is npy":
        np.save(npz.with_suffix(".npy"), np.zeros(3))
        npz.write_bytes(npz.with_suffix(".npy").read_bytes())
    elif case == "json nested deep":
        g.write_text("[" * 100_000 + "]" * 100_000)
    elif case.startswith("pad_value"):
        value = "abc" if case.endswith("abc") else float("nan")
        _edit_json(g, lambda d: d["layers"][0].update(pad_value=value))
    elif case == "board clock 0":
        (tmp_path / "b.toml").write_text(
            'title = "t"\ndevice = "d"\nfamily = "ice40"\nclock_mhz = 0\ntoolchain = "x"\n')
    elif case == "sim corrupt report":
        (built / "report.json").write_text("{nope")
    elif case == "sim deleted verilog":
        (built / "net.v").unlink()
    elif case == "empty inputs":
        np.savez(tmp_path / "x.npz", x=np.zeros((0, 4, 4, 2), int))
    elif case == "inputs npy":
        np.save(tmp_path / "x.npy", np.zeros((1, 4, 4, 2), int))
        args[-1] = tmp_path / "x.npy"
    before = snapshot(tmp_path)
    code, err = run(args, capsys)
    assert_one_line_error(code, err, expect)
    written = set(snapshot(tmp_path)) - set(before)
    assert not written or all(w.startswith("built/sim_") for w in written), written


# -- group 3: silently accepted -> refused ----------------------------------------------------


def test_uint64_arrays_are_range_checked_before_any_cast():
    x = ir.Tensor((3,), DType.parse("int4"))
    with pytest.raises(ir.GraphError, match="weights has values above 2"):
        ir.Graph("g", x, [ops.Dense("d", weight_dtype="bin",
                                   weights=np.array([[1, 1, 2**64 - 1]], np.uint64))])
    with pytest.raises(ir.GraphError, match="thresholds has values above 2"):
        ir.Graph("g", x, [ops.Dense("d", weight_dtype="bin", weights=np.ones((1, 3), int),
                                   activation=ir.Threshold("bin", np.array(
                                       [[2**63 + 5]], np.uint64)))])
    g = ir.Graph("g", x, [ops.ArgMax("top")])
    with pytest.raises(ir.GraphError, match="values outside int4"):
        reference.run(g, np.array([[1, 2, 2**64 - 3]], np.uint64))


def test_pad_value_outside_the_dtype_is_refused_without_padding_too():
    x = ir.Tensor((4, 4, 2), DType.parse("uint2"))
    with pytest.raises(ir.GraphError, match="pad_value 7 is not a value of the input dtype"):
        ir.Graph("g", x, [ops.Conv2d("c", weight_dtype="bin", weights=np.ones((2, 3, 3, 2), int),
                                    pad_value=7)])
    # 0 with no padding means "none", so binary inputs need no pad value
    b = ir.Tensor((4, 4, 2), DType.parse("bin"))
    ir.Graph("g", b, [ops.Conv2d("c", weight_dtype="bin", weights=np.ones((2, 3, 3, 2), int))])


@pytest.mark.parametrize("args,expect", [
    (["sim", "{built}", "--stall", "1.0"], "stall must be in [0, 1)"),
    (["sim", "{built}", "--stall", "nan"], "stall must be in [0, 1)"),
    (["estimate", "{graph}", "--clock", "-5"], "--clock must be a positive number"),
    (["estimate", "{graph}", "--clock", "nan"], "--clock must be a positive number"),
    (["estimate", "{graph}", "--board", "{zero_luts}"], "capacity lut = 0"),
    (["fold", "{graph}", "--target-fps", "0", "--out", "{tmp}/f.json"], "--target-fps must"),
    (["fold", "{graph}", "--target-fps", "-3", "--out", "{tmp}/f.json"], "--target-fps must"),
])
def test_out_of_range_options_are_refused(tmp_path, capsys, args, expect):
    g = small_graph(tmp_path)
    board = (tmp_path / "zero.toml")
    board.write_text('title = "t"\ndevice = "d"\nfamily = "ice40"\nclock_mhz = 12\n'
                     'toolchain = "x"\n[capacity]\nlut = 0\nff = 10\n')
    if "{built}" in args:
        assert main(["build", str(g), "--out", str(tmp_path / "built")]) == 0
        capsys.readouterr()
    fill = {"built": tmp_path / "built", "graph": g, "zero_luts": board, "tmp": tmp_path}
    code, err = run([a.format(**fill) for a in args], capsys)
    assert_one_line_error(code, err, expect)
    assert not (tmp_path / "f.json").exists()


def test_one_frame_without_the_batch_axis_is_one_frame(tmp_path, capsys):
    g = small_graph(tmp_path)
    main(["build", str(g), "--out", str(tmp_path / "built")])
    np.savez(tmp_path / "one.npz", x=np.ones((4, 4, 2), int))
    assert main(["sim", str(tmp_path / "built"), "--inputs", str(tmp_path / "one.npz")]) == 0
    assert json.loads((tmp_path / "built" / "sim.json").read_text())["frames"] == 1


# -- group 6: size limits ---------------------------------------------------------------------


def test_size_limits(tmp_path, monkeypatch):
    x = ir.Tensor((8,), DType.parse("int4"))
    with pytest.raises(ir.GraphError, match="name must be a non-empty string of at most 128"):
        ir.Graph("g", x, [ops.ArgMax("n" * 10_000_000)])
    with pytest.raises(ir.GraphError, match="more than the limit of 4,194,304"):
        ir.Graph("g", ir.Tensor((10**9,), DType.parse("int4")), [ops.ArgMax("top")])
    # only the arrays the graph names are read: a broken unused member does not matter
    g = small_graph(tmp_path)
    with zipfile.ZipFile(g.with_suffix(".npz"), "a") as z:
        z.writestr("unused.npy", b"\x93NUMPY garbage")
    ir.load_graph(g)
    # a named member over the limit is refused from its size in the archive, before loading
    with np.load(g.with_suffix(".npz")) as data:
        arrays = {k: data[k] for k in data.files if k != "unused"}
    arrays["c1.w"] = np.zeros(1 << 21, np.int64)  # 16 MB, compresses to little
    np.savez_compressed(g.with_suffix(".npz"), **arrays)
    monkeypatch.setattr(ir_layer, "MAX_ARRAY_ELEMENTS", 1 << 20)  # where it is read
    with pytest.raises(ir.GraphError, match=r"array 'c1\.w' in net\.npz holds 16,777,344 bytes"):
        ir.load_graph(g)


def _wide(pe: int, simd: int, units: int = 24, fan_in: int = 30) -> ir.Graph:
    r = np.random.default_rng(1)
    t = np.sort(r.integers(-40000, 40000, (units, 255)), axis=1)
    return ir.Graph("wide", ir.Tensor((fan_in,), DType.parse("uint8")), [ops.Dense(
        "fc", weight_dtype="int8", weights=r.integers(-128, 128, (units, fan_in)), pe=pe,
        simd=simd, activation=ir.Threshold("uint8", t))])


def test_wide_words_are_a_folding_error_and_wide_thresholds_build(tmp_path):
    """A ROM word or beat past Amaranth's 2^16-bit limit is a one-line error naming the
    layer; 8-bit thresholds at PE=24 (255 per channel) build."""
    with pytest.raises(ir.GraphError, match=r"layer 'fc' \(dense\): pe=64, simd=256 make a "
                                            r"weight word of 131,072 bits; at most 65,535"):
        _wide(64, 256, units=64, fan_in=256)
    assert (build(_wide(24, 1), tmp_path / "out").out_dir / "wide.v").is_file()


# -- group 5: interruption and races ----------------------------------------------------------


def _hwgen(*args, cwd):
    return subprocess.Popen([sys.executable, "-m", "hwgen.cli", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _whole_build(out: Path) -> bool:
    stamp = json.loads((out / STAMP).read_text())
    return all((out / f).is_file() for f in stamp["files"]) and json.loads(
        (out / "report.json").read_text())["graph"] == "net"


def test_killed_builds_leave_the_old_build_or_the_new_one(tmp_path):
    g = small_graph(tmp_path)
    out = tmp_path / "out"
    assert _hwgen("build", g, "--out", out, cwd=tmp_path).wait() == 0
    rng = random.Random(5)
    for k in range(8):
        proc = _hwgen("build", g, "--out", out, cwd=tmp_path)
        time.sleep(rng.uniform(0.2, 3.0))
        proc.send_signal(signal.SIGKILL if k % 2 else signal.SIGTERM)
        code = proc.wait()
        assert out.is_dir() and _whole_build(out), f"kill {k} after exit {code}"
        if code == 2:  # SIGTERM: one line, no traceback
            assert proc.stderr.read().count("\n") == 1
    assert _hwgen("build", g, "--out", out, cwd=tmp_path).wait() == 0
    assert _whole_build(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz", "out"]


def test_concurrent_builds_into_one_folder_are_serialized(tmp_path):
    g = small_graph(tmp_path)
    out = tmp_path / "out"
    procs = [_hwgen("build", g, "--out", out, cwd=tmp_path) for _ in range(4)]
    assert [p.wait() for p in procs] == [0, 0, 0, 0], [p.stderr.read() for p in procs]
    assert _whole_build(out)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz", "out"]


def _children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if stat.read_text().rsplit(")", 1)[1].split()[1] == str(pid):
                kids.append(int(stat.parent.name))
        except (OSError, IndexError):
            continue
    return kids


def test_sigterm_during_verilog_generation_leaves_no_yosys(tmp_path):
    rng = np.random.default_rng(1)
    g = ir.Graph("big", ir.Tensor((784,), DType.parse("bin")), [
        ops.Dense("fc", weight_dtype="bin", weights=rng.choice([-1, 1], (128, 784)), pe=128,
                 simd=49)])
    g.save(tmp_path / "big")
    proc = _hwgen("build", tmp_path / "big.json", "--out", tmp_path / "o", cwd=tmp_path)
    deadline = time.monotonic() + 60
    kids = []
    while not kids and time.monotonic() < deadline and proc.poll() is None:
        kids = _children(proc.pid)  # amaranth's yosys, converting
        time.sleep(0.05)
    assert kids, "no yosys child seen"
    time.sleep(0.5)  # yosys is converting
    proc.send_signal(signal.SIGTERM)
    assert proc.wait() == 2
    # the moment hwgen has exited, its yosys is gone too (at most a zombie)
    assert not [k for k in kids if Path(f"/proc/{k}").exists()
                and "Z" not in Path(f"/proc/{k}/stat").read_text().split()[2]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.json", "big.npz"]


@pytest.mark.torch
def test_sigint_is_one_line_and_leaves_nothing(tmp_path):
    proc = _hwgen("build", "digits-mlp", "--out", tmp_path / "o", cwd=tmp_path)
    assert "training" in proc.stdout.readline()  # the command runs (torch imported)
    proc.send_signal(signal.SIGINT)
    assert proc.wait() == 2
    err = proc.stderr.read()
    assert err.count("\n") == 1 and "interrupted" in err, err
    assert list(tmp_path.iterdir()) == []


# -- group 8: a report that does not match its graph ---------------------------------------------
# (extra, missing and repeated output beats: tests/sim/test_checker.py)


def test_a_report_whose_streams_do_not_match_the_graph_is_refused(tmp_path, capsys):
    g = ir.Graph("net", ir.Tensor((4,), DType.parse("int4")), [
        ops.Dense("fc", weight_dtype="int2", weights=np.ones((3, 4), int), pe=1, simd=4)])
    g.save(tmp_path / "net")
    built = tmp_path / "built"
    main(["build", str(tmp_path / "net.json"), "--out", str(built)])
    # a frame of one beat, where the graph's output needs three
    report = json.loads((built / "report.json").read_text())
    report["output"]["beats_per_frame"] = 1
    (built / "report.json").write_text(json.dumps(report))
    np.savez(tmp_path / "x.npz", x=np.zeros((2, 4), int))
    code, err = run(["sim", built, "--inputs", tmp_path / "x.npz"], capsys)
    assert_one_line_error(code, err, "its output stream does not carry the graph's output")


# -- the property: any mutation ends in success or one line -----------------------------------


def _mutate(doc, rng: random.Random, value):
    """Replace one randomly chosen field, at any depth of ``doc``, by ``value``."""
    target = doc
    while True:
        key = (rng.choice(sorted(target)) if isinstance(target, dict)
               else rng.randrange(len(target)))
        child = target[key]
        if isinstance(child, dict | list) and child and rng.random() < 0.6:
            target = child
            continue
        target[key] = value
        return doc


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                       children, max_size=3),
    max_leaves=6)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), value=JSON_VALUES,
       cut=st.integers(0, 4000), extra=st.lists(st.sampled_from(
           ["--board", "asic", "--clock", "-1", "--seed", "x", "--frames", "0", "--stall",
            "2", "--report", "file", "--target-fps", "nan", "--json"]), max_size=3),
       command=st.sampled_from(["build", "estimate", "fold", "mutate-npz"]))
def test_any_mutation_ends_in_success_or_one_line(tmp_path_factory, capsys, seed, value, cut,
                                                   extra, command):
    tmp = tmp_path_factory.mktemp("m")
    g = small_graph(tmp)
    (tmp / "file").write_text("x")
    rng = random.Random(seed)
    if command == "mutate-npz":
        npz = g.with_suffix(".npz")
        data = bytearray(npz.read_bytes())
        data = data[:cut] if rng.random() < 0.5 else data
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        npz.write_bytes(bytes(data))
        command = "build"
    else:
        doc = _mutate(json.loads(g.read_text()), rng, value)
        g.write_text(json.dumps(doc))
    args = [command, g, *[tmp / e if e == "file" else e for e in extra]]
    if command in ("build", "fold"):
        args += ["--out", tmp / ("o.json" if command == "fold" else "o")]
    before = {p for p in snapshot(tmp) if not p.startswith("o")}
    code, err = run(args, capsys)
    assert code == 0 or (code == 2 and err.count("\n") == 1 and
                         err.startswith("hwgen: error: ")), (code, err)
    after = {p for p in snapshot(tmp) if not p.startswith("o")}
    assert after == before  # nothing outside the output touched


def test_fallback_replace_and_a_death_between_its_renames(tmp_path, monkeypatch):
    """Where one exchange rename is not available, the replace takes two renames and still
    leaves a whole build; after a build that died between them (the old build stranded in
    .out.old-*/previous, no out) the next build leaves a whole build and nothing else."""
    from hwgen.flows import build as build_module

    g = small_graph(tmp_path)
    out = tmp_path / "out"
    monkeypatch.setattr(build_module, "_exchange", lambda a, b: False)
    assert main(["build", str(g), "--out", str(out)]) == 0
    assert main(["build", str(g), "--out", str(out)]) == 0  # the two-rename path
    assert _whole_build(out)
    stranded = tmp_path / ".out.old-dead"
    stranded.mkdir()
    out.rename(stranded / "previous")  # as if killed between the renames
    assert main(["build", str(g), "--out", str(out)]) == 0
    assert _whole_build(out) and not stranded.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.json", "net.npz", "out"]


def test_an_interrupted_main_called_from_python_leaves_sigint_as_it_was(monkeypatch, capsys,
                                                                       tmp_path):
    """main() ignores SIGINT while it cleans up after an interrupt; called from Python it
    must hand the caller its own handler back, or every process the caller starts later
    (a pytest worker's next test) inherits SIGINT ignored and cannot be interrupted."""
    from hwgen.cli import build as build_cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(build_cli, "run", interrupted)
    before = signal.getsignal(signal.SIGINT)
    assert main(["build", "digits-mlp", "--out", str(tmp_path / "o")]) == 2
    assert "interrupted" in capsys.readouterr().err
    assert signal.getsignal(signal.SIGINT) is before
