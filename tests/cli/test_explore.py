"""``hwgen explore``'s option errors: each one line, exit status 2, nothing started. The
exploration itself runs on a real cluster in ``tests/flows/test_cluster.py``."""

import pytest

from tests.cli.test_misuse import assert_one_line_error, run, small_graph


@pytest.mark.parametrize(("options", "fragments"), [
    (["--foldings", "0"], ["--foldings: must be 1 or more, got 0"]),
    (["--seeds", "two"], ["--seeds: expected a whole number, got 'two'"]),
    (["--clocks", "50", "0"], ["--clocks: must be a positive number of MHz, got '0'"]),
    (["--clocks", "nan"], ["--clocks: must be a positive number of MHz, got 'nan'"]),
    (["--timeout", "-1"], ["--timeout: must be a positive number of minutes, got '-1'"]),
    (["--workers", "0"], ["--workers: must be 1 or more, got 0"]),
    (["--over", "-1"], ["--over: must be a percentage from 0 to 1000, got '-1'"]),
    (["--over", "1000.5"], ["--over: must be a percentage from 0 to 1000, got '1000.5'"]),
    (["--as-folded", "--foldings", "2"], ["not allowed with"]),
    (["--cluster", "tcp://127.0.0.1:8786", "--workers", "2"], ["not allowed with"]),
    (["--board", "arty-a7-35"], ["board arty-a7-35: no open bitstream flow"]),
    (["--cluster", "nonsense"], ["cannot reach the Dask scheduler at nonsense"]),
])
def test_bad_option_is_one_line(tmp_path, capsys, options, fragments):
    graph = small_graph(tmp_path)
    code, err = run(["explore", graph, "--board", "icebreaker", "--out", tmp_path / "x",
                     *options], capsys)
    assert_one_line_error(code, err, *fragments)
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_out_is_a_file(tmp_path, capsys):
    graph = small_graph(tmp_path)
    (tmp_path / "x").write_text("mine")
    code, err = run(["explore", graph, "--board", "icebreaker", "--out", tmp_path / "x"],
                    capsys)
    assert_one_line_error(code, err, "x")
    assert (tmp_path / "x").read_text() == "mine"
