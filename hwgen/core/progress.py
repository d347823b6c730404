"""Progress on long steps (tool runs, compiles), so no minute passes in silence.

On a terminal a tqdm line shows the step and its elapsed time while it runs; elsewhere (a
log, CI) plain lines say when it starts and how long it took.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["step"]

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
