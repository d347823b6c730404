"""Progress on long steps (tool runs, compiles, simulations), so no minute passes in
silence.

On a terminal a tqdm line shows the step and its elapsed time (or, for a count of items,
a bar with the rate) while it runs; elsewhere (a log, CI) plain lines say when it starts,
how far it got every few seconds, and how long it took.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["count", "step"]

Say = Callable[[str], None]


@contextmanager
def step(say: Say | None, what: str) -> Iterator[None]:
    """Say ``what`` (a step that may take minutes) and, when it ends, how long it took; on
    a terminal, tick its elapsed time meanwhile. ``say=None``: silent."""
    if say is None:
        yield
        return
    start = time.monotonic()
    if not sys.stdout.isatty():
        say(f"{what} ...")
        yield
        say(f"  {what}: done in {time.monotonic() - start:.1f} s")
        return
    from tqdm import tqdm

    bar = tqdm(total=None, desc=what, bar_format="{desc}: {elapsed}", leave=False,
               file=sys.stdout)
    done = threading.Event()

    def tick() -> None:
        while not done.wait(1.0):
            bar.refresh()
    ticker = threading.Thread(target=tick, daemon=True)
    ticker.start()
    try:
        yield
    finally:
        done.set()
        ticker.join()
        bar.close()
    say(f"{what}: done in {time.monotonic() - start:.1f} s")


@contextmanager
def count(say: Say | None, what: str, total: int, unit: str,
          every: float = 10.0) -> Iterator[Callable[[int], None]]:
    """A step that does ``total`` items (frames, ...): yields ``update(done)``, which may be
    called from any thread with the number done so far. On a terminal a tqdm bar shows
    them and their rate; elsewhere a plain line says them every ``every`` seconds, and one
    more, when the step ends, says how many were done, in what time, at what rate.
    ``say=None``: silent."""
    if say is None:
        yield lambda done: None
        return
    start = time.monotonic()
    state = {"done": 0, "said": start}
    lock = threading.Lock()

    def line(done: int) -> str:
        took = time.monotonic() - start
        rate = f"{done / took:,.1f} {unit}/s" if took > 0 else f"- {unit}/s"
        return f"{what}: {done:,}/{total:,} {unit} in {took:.1f} s ({rate})"

    if not sys.stdout.isatty():
        def update(done: int) -> None:
            with lock:
                state["done"] = done
                now = time.monotonic()
                if now - state["said"] >= every:
                    state["said"] = now
                    say(line(done))
        yield update
        say(line(state["done"]))
        return
    from tqdm import tqdm

    bar = tqdm(total=total, desc=what.strip(), unit=f" {unit}", leave=False, file=sys.stdout)

    def tick(done: int) -> None:
        with lock:
            state["done"] = done
            bar.n = done
            bar.refresh()
    try:
        yield tick
    finally:
        bar.close()
    say(line(state["done"]))
