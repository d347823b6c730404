"""Progress on long steps when the output is not a terminal (as under pytest): plain
lines, the count and its rate every few seconds and once at the end."""

import time

import pytest

from hwgen.core import progress
from hwgen.sim.runner import read_progress, watch_progress


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(progress.time, "monotonic", c)
    return c


def test_count_says_the_items_and_their_rate_every_few_seconds(clock):
    said = []
    with progress.count(said.append, "  simulating", 40, "frames", every=10) as update:
        clock.now += 4
        update(8)  # 4 s after the start: too soon for a line
        clock.now += 6
        update(20)
        clock.now += 5
        update(30)  # 5 s after the last line
        clock.now += 5
        update(40)
    assert said == ["  simulating: 20/40 frames in 10.0 s (2.0 frames/s)",
                    "  simulating: 40/40 frames in 20.0 s (2.0 frames/s)",
                    "  simulating: 40/40 frames in 20.0 s (2.0 frames/s)"]


def test_count_ends_with_what_was_done_when_the_step_fails(clock):
    said = []
    with pytest.raises(RuntimeError), progress.count(said.append, "run", 10, "frames") as update:
        clock.now += 2
        update(3)
        raise RuntimeError
    assert said == []  # a failed step says its error, not a count
    with progress.count(None, "run", 10, "frames") as update:
        update(3)


def test_step_says_what_and_how_long(clock):
    said = []
    with progress.step(said.append, "  compiling x.v"):
        clock.now += 3.5
    assert said == ["  compiling x.v ...", "    compiling x.v: done in 3.5 s"]


def test_frames_from_a_bench_progress_file(tmp_path):
    path = tmp_path / "progress"
    assert read_progress(path, 10, 3) == 0  # not written yet
    path.write_text("0 7\n")
    assert read_progress(path, 10, 3) == 2  # 7 beats of 3 per frame: 2 whole frames
    path.write_text("1 30\n")
    assert read_progress(path, 10, 3) == 20  # the second phase, all 10 frames
    path.write_text("")
    assert read_progress(path, 10, 3) == 0  # being replaced


def test_the_progress_file_is_read_while_the_bench_runs(tmp_path):
    path = tmp_path / "progress"
    path.write_text("1 99\n")  # a previous run's
    seen = []
    with watch_progress(path, seen.append, frames=5, beats_per_frame=2, every=0.01):
        assert not path.exists()
        path.write_text("0 4\n")
        deadline = time.monotonic() + 5
        while 2 not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert 2 in seen  # read while the body ran
        path.write_text("1 6\n")
    assert seen[-1] == 8  # and once more at the end
