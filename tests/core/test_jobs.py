"""The executor on a real LocalCluster of worker processes: every result once, by index,
tallied; a job that fails is retried, then raises; a bad scheduler address is one error."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hwgen.core.errors import ClusterError
from hwgen.core.jobs import Tally, run_jobs

pytest.importorskip("distributed")


def fail_once(marker: Path) -> str:
    """Raises the first time it runs for ``marker`` (in whichever worker), then succeeds."""
    if not marker.exists():
        marker.touch()
        raise RuntimeError(f"first try of {marker.name}")
    return marker.name


def test_results_by_index_and_tally():
    items = [3, 5, 7, 9, 11]
    tallies: list[Tally] = []
    got = list(run_jobs(math.factorial, items, workers=2, tally=tallies.append))
    assert sorted(got) == [(k, math.factorial(n)) for k, n in enumerate(items)]
    assert [t.done for t in tallies] == [1, 2, 3, 4, 5]
    assert all(t.total == 5 and t.workers == 2 and t.running <= 2 for t in tallies)
    assert tallies[-1].running == 0


def test_retried_then_raises(tmp_path):
    assert list(run_jobs(fail_once, [tmp_path / "a"], workers=1, retries=1)) == [(0, "a")]
    with pytest.raises(RuntimeError, match="first try of b"):
        list(run_jobs(fail_once, [tmp_path / "b"], workers=1, retries=0))


def test_no_items_starts_nothing():
    assert list(run_jobs(math.factorial, [], cluster="tcp://127.0.0.1:1")) == []


def test_bad_address_is_one_error():
    with pytest.raises(ClusterError, match="scheduler at nonsense: missing port"):
        list(run_jobs(math.factorial, [1], cluster="nonsense"))
