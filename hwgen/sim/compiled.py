"""The compiled bench: the generated Verilog and ``harness.cpp`` built into one Verilator
executable that streams every beat without Python in the loop.

It makes the same stall decisions as the cocotb bench (:mod:`hwgen.sim.stalls`)
and writes the same record (beats and handshake cycles per phase), which
:mod:`hwgen.sim.runner` checks against the reference. Executables are cached by
the hash of the Verilog, the harness and the Verilator version, under
``$HWGEN_CACHE`` (default ``~/.cache/hwgen``); a second run of the same design
starts at once.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

from hwgen.core.errors import SimError
from hwgen.core.files import cache_root
from hwgen.core.progress import step
from hwgen.sim.stalls import stream_seed

__all__ = ["cache_dir", "executable", "run_compiled"]

FLAGS = ["--cc", "--exe", "--build", "-O3", "--x-assign", "0", "--x-initial", "0",
         "-Wno-fatal", "-Wno-lint", "-Wno-style", "--prefix", "Vdut", "-o", "Vdut"]
# -O3 -march=native: 20 % faster than Verilator's default -Os on CNV-w1a1 (measured); the
# cache key holds the CPU so a shared cache never runs code built for another one.
MAKEFLAGS = "OPT_FAST=-O3"
CFLAGS = "-march=native"


def _cpu() -> bytes:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return b""
    return "\n".join(sorted({line for line in info.splitlines()
                              if line.startswith(("model name", "flags"))})).encode()


def cache_dir() -> Path:
    return cache_root() / "verilator"


def _verilator(env: dict[str, str]) -> str:
    return shutil.which("verilator", path=env.get("PATH", os.environ.get("PATH"))) or "verilator"


def executable(verilog: Path, top: str, env: dict[str, str], progress=None) -> Path:
    """The cached executable for ``verilog`` (built now if missing)."""
    harness = resources.files(__package__).joinpath("harness.cpp").read_bytes()
    exe = _verilator(env)
    full_env = {**os.environ, **env}
    version = subprocess.run([exe, "--version"], capture_output=True, text=True,
                             env=full_env).stdout.strip()
    key = hashlib.sha256(b"\0".join([verilog.read_bytes(), harness, version.encode(),
                                     top.encode(), " ".join(FLAGS).encode(), _cpu()])
                         ).hexdigest()[:24]
    final = cache_dir() / key
    if (final / "Vdut").is_file():
        return final / "Vdut"
    final.parent.mkdir(parents=True, exist_ok=True)
    with step(progress, f"  compiling {verilog.name} with Verilator (once per design, then "
              "cached; a large design takes minutes)"):
        return _compile(verilog, top, exe, full_env, harness, key, final)


def _compile(verilog: Path, top: str, exe: str, full_env: dict[str, str], harness: bytes,
             key: str, final: Path) -> Path:
    # built in the system temp folder (make fails on paths with spaces), then moved in
    work = Path(tempfile.mkdtemp(prefix="hwgen-verilator-"))
    staging = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
    try:
        shutil.copy(verilog, work / "top.v")
        (work / "harness.cpp").write_bytes(harness)
        run = subprocess.run([exe, *FLAGS, "--top-module", top, "-MAKEFLAGS", MAKEFLAGS,
                              "-CFLAGS", CFLAGS, "--Mdir", "obj",
                              "-j", str(os.cpu_count() or 1), "top.v", "harness.cpp"],
                             cwd=work, capture_output=True, text=True, env=full_env)
        if run.returncode != 0:
            tail = " | ".join((run.stderr or run.stdout).strip().splitlines()[-3:])
            raise SimError(f"Verilator build failed (exit {run.returncode}): {tail}")
        shutil.copy(work / "obj" / "Vdut", staging / "Vdut")
        try:
            staging.rename(final)  # atomic; a concurrent build of the same design may win
        except OSError:
            if not (final / "Vdut").is_file():
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)
    return final / "Vdut"


def _words(bits: int) -> int:
    return max(2, -(-bits // 32))


def run_compiled(exe: Path, in_beats: list[int], in_bits: int, out_bits: int, out_beats: int,
                 *, work_dir: Path, seed: int, phases: list[dict], max_cycles: int,
                 drain: int, progress: Path | None = None) -> dict:
    """Run the compiled bench; return its record in the cocotb bench's form. While it runs
    it writes ``PHASE BEATS`` (output beats so far) to ``progress``."""
    wi, wo = _words(in_bits), _words(out_bits)
    work_dir.mkdir(parents=True, exist_ok=True)
    config, result = work_dir / "compiled.cfg", work_dir / "compiled.out"
    result.unlink(missing_ok=True)
    mask = (1 << 32) - 1
    with open(config, "w") as fh:
        fh.write(f"{wi} {wo} {len(in_beats)} {out_beats} {max_cycles} {drain} {len(phases)}\n")
        for k, ph in enumerate(phases):
            fh.write(f"{ph['name']} {ph['p_in']!r} {ph['p_out']!r} "
                     f"{stream_seed(seed, k, 'source')} {stream_seed(seed, k, 'sink')}\n")
        for beat in in_beats:
            fh.write(" ".join(format((beat >> (32 * j)) & mask, "x") for j in range(wi)))
            fh.write("\n")
    run = subprocess.run([str(exe), str(config), str(result),
                          *([str(progress)] if progress else [])], capture_output=True, text=True)
    if run.returncode != 0 or not result.exists():
        raise SimError(f"compiled bench failed (exit {run.returncode}): "
                       f"{(run.stderr or run.stdout).strip()[-300:]}")
    return _parse(result.read_text().split("\n"))


def _parse(lines: list[str]) -> dict:
    record: dict = {}
    k = 0
    while k < len(lines) and lines[k]:
        head, _, rest = lines[k].partition(" ")
        if head == "error":
            record["error"] = rest
            break
        name = rest
        in_cycles = [int(c) for c in lines[k + 1].split()[1:]]
        n = int(lines[k + 2].split()[1])
        beats, cycles = [], []
        for line in lines[k + 3:k + 3 + n]:
            cycle, *words = line.split()
            cycles.append(int(cycle))
            beats.append(format(sum(int(w, 16) << (32 * j) for j, w in enumerate(words)), "x"))
        extra = int(lines[k + 3 + n].split()[1])
        record[name] = {"out_beats": beats, "in_cycles": in_cycles, "out_cycles": cycles,
                        "extra": extra}
        k += 4 + n
    return record
