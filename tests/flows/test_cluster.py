"""A real Dask cluster of separate processes on localhost (``dask scheduler`` and ``dask
worker``, started here): ``hwgen explore`` of a small graph on the iCEBreaker runs its 4
candidates through ``--cluster`` while one worker is killed (with the tools it runs, as when
its machine dies) and still records every candidate exactly once; a rerun starts nothing;
``hwgen sim --cluster`` over 3 workers gives the unsharded run's record."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hwgen.boards import load_board
from hwgen.flows.build import build
from tests.flows.test_host_link import small_graph

psutil = pytest.importorskip("psutil")  # comes with distributed
distributed = pytest.importorskip("distributed")

pytestmark = [pytest.mark.cluster, pytest.mark.synth, pytest.mark.verilator]

BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalDask:
    """A scheduler and workers, each its own process; stopped at the end, tools and all."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.procs: list[subprocess.Popen] = []
        self.scheduler = self._start(["scheduler", "--host", "127.0.0.1", "--port",
                                      self.address.rsplit(":", 1)[1], "--no-dashboard"],
                                     "scheduler")
        self.workers: list[subprocess.Popen] = []

    def _start(self, args: list[str], name: str) -> subprocess.Popen:
        with open(self.folder / f"{name}.log", "w") as log:  # the process has its own copy
            proc = subprocess.Popen([str(BIN / "dask"), *args], stdout=log, stderr=log,
                                    cwd=self.folder)
        self.procs.append(proc)
        return proc

    def add_workers(self, n: int) -> None:
        for _ in range(n):
            k = len(self.workers)
            self.workers.append(self._start(
                ["worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                 "--name", f"w{k}", "--local-directory", str(self.folder / f"w{k}")],
                f"worker{k}"))
        with distributed.Client(self.address, timeout=30) as client:
            client.wait_for_workers(self.alive(), timeout=60)

    def alive(self) -> int:
        return sum(w.poll() is None for w in self.workers)

    def kill(self, worker: subprocess.Popen) -> int:
        """SIGKILL the worker and every process under it; how many were under it."""
        tree = psutil.Process(worker.pid).children(recursive=True)
        os.kill(worker.pid, signal.SIGKILL)
        for child in tree:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass
        worker.wait()
        return len(tree)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    cluster = LocalDask(tmp_path_factory.mktemp("dask"))
    try:
        cluster.add_workers(2)
        yield cluster
    finally:
        cluster.stop()


def hwgen(*args, **kw) -> subprocess.Popen:
    return subprocess.Popen([str(BIN / "hwgen"), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, **kw)


def records(out: Path) -> list[dict]:
    path = out / "explore.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() \
        else []


def test_explore_survives_a_killed_worker_and_resumes_with_nothing(dask_cluster, tmp_path):
    graph = small_graph().save(tmp_path / "small")
    out = tmp_path / "explore"
    args = ["explore", graph, "--board", "icebreaker", "--out", out, "--foldings", "2",
            "--seeds", "2", "--cluster", dask_cluster.address]
    run = hwgen(*args)
    deadline = time.monotonic() + 150
    while not records(out):  # the first candidate is in: the others are running
        assert run.poll() is None and time.monotonic() < deadline, run.stdout.read()
        time.sleep(0.5)
    busy = [w for w in dask_cluster.workers
            if psutil.Process(w.pid).children(recursive=True)]
    assert busy, "no worker was running a candidate's tools"
    assert dask_cluster.kill(busy[0]) > 0
    output, _ = run.communicate(timeout=150)
    assert run.returncode == 0, output
    got = records(out)
    assert len(got) == 4 and len({r["key"] for r in got}) == 4, output
    assert sorted((r["folding"]["fc"][1], r["seed"]) for r in got) == \
        sorted({(r["folding"]["fc"][1], r["seed"]) for r in got})
    assert all(r["placed"] and r["fmax_mhz"] > 0 and r["resources"]["cells"] > 0 for r in got)
    best = max(got, key=lambda r: r["fps"])
    assert (out / "best" / "board_top.bin").is_file()
    assert json.loads((out / "best" / "result.json").read_text())["key"] == best["key"]
    assert json.loads((out / "best" / "bitstream.json").read_text())["seed"] == best["seed"]
    assert "4 candidates placed and routed now" in output
    assert {p.name for p in out.iterdir()} >= {"explore.md", "explore.html", "runs", "best"}

    again, _ = hwgen(*args).communicate(timeout=120)
    assert "0 to place and route" in again and "0 candidates placed and routed now" in again
    assert records(out) == got


def test_sharded_sim_matches_unsharded(dask_cluster, tmp_path):
    folder = tmp_path / "build"
    build(small_graph(), folder, load_board("icebreaker"))
    one, _ = hwgen("sim", folder, "--simulator", "compiled", "--frames", "48", "--seed", "5"
                   ).communicate(timeout=120)
    whole = json.loads((folder / "sim.json").read_text())
    dask_cluster.add_workers(3 - dask_cluster.alive())
    assert dask_cluster.alive() == 3
    sharded, _ = hwgen("sim", folder, "--simulator", "compiled", "--frames", "48", "--seed",
                       "5", "--cluster", dask_cluster.address).communicate(timeout=120)
    merged = json.loads((folder / "sim.json").read_text())
    assert "in 6 shards" in sharded and "shard 6/6 done" in sharded, sharded
    assert whole["frames"] == merged["frames"] == 48 and whole["mismatches"] == 0, one
    del whole["wall_seconds"], merged["wall_seconds"]
    assert merged == whole
