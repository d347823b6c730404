"""One executor for every batch of independent jobs (design candidates, simulation shards,
calibration graphs): Dask distributed, not a home-made scheduler.

A batch runs on a scheduler given by its address (``tcp://HOST:8786``, whose workers may
be on other machines) or on a ``LocalCluster`` of worker processes started for it, one
thread each, since every job is one tool run or simulation. Results come back as jobs
finish. A job whose worker dies (killed, out of memory, its machine gone) is run again
elsewhere by the scheduler; a job that raises is retried ``retries`` times and then raises
here. Dask is the ``cluster`` extra: it is imported only when a batch runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from hwgen.core.errors import ClusterError
from hwgen.core.progress import Say, step

__all__ = ["Tally", "run_jobs"]

T = TypeVar("T")
R = TypeVar("R")

CONNECT_SECONDS = 10  # how long to wait for a scheduler that was named


@dataclass(frozen=True)
class Tally:
    """Where a batch stands after a job has finished."""

    done: int
    running: int  # jobs started and not finished (at most one per worker thread)
    total: int
    workers: int  # worker processes the scheduler knows now


def _client(cluster: str | None, workers: int | None, say: Say | None):
    """A Dask client of the scheduler at ``cluster``, or of a new ``LocalCluster`` with
    ``workers`` processes (default: one per core); the caller closes it."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ClusterError("Dask is not installed: pip install 'hwgen[cluster]'") from None
    if cluster is not None:
        try:
            return Client(cluster, timeout=CONNECT_SECONDS)
        except (OSError, ValueError, TypeError) as err:
            raise ClusterError(f"cannot reach the Dask scheduler at {cluster}: "
                               f"{str(err).splitlines()[0] if str(err) else type(err).__name__}"
                               ) from None
    n = (os.cpu_count() or 1) if workers is None else workers
    if n < 1:
        raise ClusterError(f"workers must be 1 or more, got {n}")
    with step(say, f"starting a local Dask cluster of {n} worker processes"):
        local = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(local)
    return client


def run_jobs(fn: Callable[[T], R], items: Sequence[T], *, cluster: str | None = None,
             workers: int | None = None, retries: int = 1, say: Say | None = None,
             tally: Callable[[Tally], None] | None = None) -> Iterator[tuple[int, R]]:
    """Run ``fn(item)`` for every item as Dask tasks; yield ``(index, result)`` as each
    finishes, after calling ``tally`` with where the batch stands. ``fn`` and the items
    must pickle (a module-level function), and the workers must import what ``fn`` needs.
    No items: no cluster is started or reached. Leaving the loop early cancels the rest."""
    if not items:
        return
    client = _client(cluster, workers, say)
    try:
        from distributed import as_completed

        if say and cluster is not None:
            say(f"Dask scheduler {cluster}: {len(client.nthreads())} workers")
        futures = {client.submit(fn, item, retries=retries, pure=False): k
                   for k, item in enumerate(items)}
        for done, future in enumerate(as_completed(futures), 1):
            result = future.result()
            if tally is not None:
                threads = client.nthreads()
                tally(Tally(done, min(len(items) - done, sum(threads.values())), len(items),
                            len(threads)))
            yield futures[future], result
    finally:
        cluster_ = client.cluster
        client.close()
        if cluster_ is not None:
            cluster_.close()
