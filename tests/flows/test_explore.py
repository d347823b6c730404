"""The exploration's record (``explore.jsonl``): a line cut short by a crash loses only
itself, a candidate the timeout stopped is tried again; and the timeout really stops the
tools of a candidate on a local cluster."""

from __future__ import annotations

import dataclasses
import json

import pytest

from hwgen.boards import load_board
from hwgen.flows.explore import Result, Store, candidates, explore
from tests.flows.test_host_link import small_graph


def result(key: str, stopped: bool = False, timeout: float | None = None) -> Result:
    return Result(key, {"fc": [6, 4]}, 3, 12.0, 1, placed=False, fmax_mhz=None, resources={},
                  fps=None, tool_seconds=1.0, error="stopped" if stopped else "no fit",
                  stopped=stopped, timeout=timeout)


def test_a_cut_line_loses_only_itself(tmp_path):
    (tmp_path / "explore.jsonl").write_text(json.dumps(dataclasses.asdict(result("a")))
                                            + "\n{\"key\": \"b\", \"fold")
    store = Store(tmp_path)
    assert list(store.results) == ["a"]
    store.add(result("c"), {"board_top.tim": b"log"}, small_graph())
    again = Store(tmp_path)
    assert list(again.results) == ["a", "c"] and not again.cut
    assert (tmp_path / "runs" / "c" / "board_top.tim").read_bytes() == b"log"
    assert (tmp_path / "runs" / "c" / "graph.json").is_file()


def test_recorded_once_unless_stopped(tmp_path):
    store = Store(tmp_path)
    store.add(result("a"), {}, small_graph())
    store.add(result("a"), {}, small_graph())  # a second delivery of the same candidate
    store.add(result("s", stopped=True), {}, small_graph())
    assert store.done("a") and not store.done("s")
    store.add(result("s"), {}, small_graph())  # the rerun's
    lines = (tmp_path / "explore.jsonl").read_text().splitlines()
    assert [json.loads(line)["key"] for line in lines] == ["a", "s", "s"]
    assert Store(tmp_path).done("s")


@pytest.mark.parametrize("given, again", [(None, True), (59.9, False), (60.0, False),
                                          (60.1, True)])
def test_a_stopped_candidate_is_tried_again_only_with_more_time(tmp_path, given, again):
    store = Store(tmp_path)
    store.add(result("s", stopped=True, timeout=60.0), {}, small_graph())
    assert store.done("s", given) is not again
    store.add(result("n", stopped=True, timeout=None), {}, small_graph())  # an old record
    assert not store.done("n", 30.0)


@pytest.mark.synth
@pytest.mark.cluster
def test_timeout_stops_the_tools(tmp_path, monkeypatch):
    """The tools run in a temporary folder under TMPDIR (set here, so that no other
    process on the machine is looked at): none is left running after the timeout."""
    psutil = pytest.importorskip("psutil")
    import tempfile

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setenv("TMPDIR", str(scratch))  # the workers' too: they inherit it
    monkeypatch.setattr(tempfile, "tempdir", None)
    done = explore(small_graph(), load_board("icebreaker"), tmp_path / "x", foldings=1,
                   workers=1, timeout=0.5)
    (r,) = done.results
    assert r.stopped and not r.placed and "took longer than 0.5 s" in r.error
    assert done.best is None and not (tmp_path / "x" / "best").exists()
    assert (scratch / "dask-scratch-space").is_dir()  # the workers' temporary files are here
    left = []
    for proc in psutil.process_iter(["cwd", "cmdline"]):
        if (proc.info["cwd"] or "").startswith(str(scratch)):
            left.append(proc.info["cmdline"])
    assert not left


def test_as_folded_keeps_the_graphs_folding_across_clocks_and_seeds():
    """foldings=0 (``--as-folded``): no fold search, the graph's own PE/SIMD, pipelined for
    each clock target and placed with each seed; targets that pipeline alike are one."""
    graph = small_graph()
    got = candidates(graph, load_board("icebreaker"), 0, clocks=[12, 12.5, 200], seeds=2)
    assert {c.folding["fc"][0] for c in got} == {graph.layers[0].pe}
    assert {c.graph.layers[0].simd for c in got} == {graph.layers[0].simd}
    assert sorted({c.seed for c in got}) == [1, 2]
    assert {c.board.clock_mhz for c in got} == {12, 200}  # 12.5 MHz pipelines as 12 does
    assert len(got) == 4 and len({c.key for c in got}) == 4


def test_over_adds_foldings_the_estimate_says_do_not_fit():
    """--over PCT: the fold search fits the foldings to a board PCT % larger in logic only,
    so faster foldings past the estimate's margin are placed too; the memories and DSPs
    the board has stay as they are."""
    from hwgen.analysis.estimate import estimate
    from hwgen.examples import graph_or_example

    graph, board = graph_or_example("digits-cnn", 0), load_board("icebreaker")
    plain = candidates(graph, board, 2)
    wider = candidates(graph, board, 2, over=30)
    fastest = min(plan_cycles(c) for c in plain)
    assert all(estimate(c.graph, board).fits() for c in plain)
    assert min(plan_cycles(c) for c in wider) < fastest
    beyond = [c for c in wider if not estimate(c.graph, board).fits()]
    assert beyond and all(c.board == board for c in wider)


def plan_cycles(c) -> int:
    from hwgen.analysis.plan import plan
    return plan(c.graph, c.board.timing).cycles
